"""Lease renewal for the payloads a receiver is processing (see :class:`~wacloud.webhooks.store.LeasedInboxStore`)."""

from __future__ import annotations

import logging
import threading

from wacloud.webhooks.store import LeasedInboxStore

logger = logging.getLogger("wacloud.webhooks")


class LeaseKeeper:
    """A daemon thread renewing the leases of the payloads this process is processing.

    A thread, not a task: a handler blocking the event loop must not let a lease lapse (another
    process would then take the payload and handle it a second time).
    """

    def __init__(self, inbox: LeasedInboxStore, lease_s: float) -> None:
        self.inbox = inbox
        self.lease_s = lease_s
        self.ids: dict[int, int] = {}  # inbox id → how many holders (claim, processing)
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, id: int) -> None:
        """Renew ``id``'s lease until every holder released it (starts the thread)."""
        with self.lock:
            self.ids[id] = self.ids.get(id, 0) + 1
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="wacloud-webhook-leases", daemon=True)
                self._thread.start()

    def release(self, id: int) -> None:
        """Drop one holder of ``id``."""
        with self.lock:
            n = self.ids.get(id, 0) - 1
            if n > 0:
                self.ids[id] = n
            else:
                self.ids.pop(id, None)

    def holds(self, id: int) -> bool:
        """True while ``id`` has a holder in this process."""
        with self.lock:
            return id in self.ids

    def stop(self) -> None:
        """Stop renewing (the thread exits at its next wake-up)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_s / 3):
            with self.lock:
                ids = sorted(self.ids)
            if not ids:
                continue
            try:
                self.inbox.inbox_extend(ids, self.lease_s)
            except Exception:
                logger.warning("could not renew the leases of %d webhook payload(s)", len(ids), exc_info=True)
