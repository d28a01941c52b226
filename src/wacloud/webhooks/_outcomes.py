"""The receiver's bookkeeping of outcomes: leases held while a payload is processed, and what becomes of it.

A mixin of :class:`~wacloud.webhooks.receiver.WebhookReceiver` (kept apart to keep each module small): a
payload whose updates were all handled is done (removed from the inbox); one that failed is retried
later with exponential backoff (in the leased inbox, else in memory) or, after ``max_attempts``, set
aside (dead-lettered) with the reason.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from typing import Any

from wacloud.webhooks._group import GroupCommit
from wacloud.webhooks.leases import LeaseKeeper
from wacloud.webhooks.received import ReceivedPayload
from wacloud.webhooks.store import LeasedInboxStore
from wacloud.webhooks.updates import Update

logger = logging.getLogger("wacloud.webhooks")


class Outcomes(GroupCommit):
    """Leases, retries, dead letters and done payloads over the receiver's stores."""

    max_attempts: int
    retry_first_s: float
    retry_max_s: float
    dead_letters: deque[tuple[Any, str]]
    _leased: LeasedInboxStore | None
    _keeper: LeaseKeeper | None
    _retries: list[tuple[float, int, ReceivedPayload]]
    _retry_ids: set[int]
    _seq: itertools.count[int]
    _lock: threading.Lock

    def _hold(self, delivery: ReceivedPayload) -> None:
        if self._keeper is not None and delivery.inbox_id is not None:
            self._keeper.hold(delivery.inbox_id)

    def _release(self, delivery: ReceivedPayload) -> None:
        if self._keeper is not None and delivery.inbox_id is not None:
            self._keeper.release(delivery.inbox_id)

    def _finish(self, delivery: ReceivedPayload, failure: tuple[Update, Exception] | None) -> None:
        if failure is None:
            self._done(delivery)
        else:
            self._failed(delivery, *failure)

    def _failed(self, delivery: ReceivedPayload, update: Update, exc: Exception) -> None:
        """A system failure: keep the payload pending for a retry, or set it aside after the last try."""
        delivery.failures += 1
        delivery.resumed = True
        reason = f"update {update.update_id}: {type(exc).__name__}: {exc}"[:500]
        where = f"stored payload {delivery.inbox_id}" if delivery.inbox_id is not None else "payload"
        if delivery.failures >= self.max_attempts:
            logger.error("webhook dispatch failed for update %s (attempt %d of %d); %s is dead-lettered",
                         update.update_id, delivery.failures, self.max_attempts, where, exc_info=exc)
            self._dead_letter(delivery, reason)
            return
        delay = min(self.retry_max_s, self.retry_first_s * 2 ** (delivery.failures - 1))
        logger.warning("webhook dispatch failed for update %s (attempt %d of %d); %s is retried in %.1f s: %s",
                       update.update_id, delivery.failures, self.max_attempts, where, delay, reason, exc_info=exc)
        self.stats.retried += 1
        if self._leased is not None and delivery.inbox_id is not None:
            try:
                self._leased.inbox_retry_later(delivery.inbox_id, delay, reason)
                return
            except Exception:
                # The store is down too: keep the payload leased to us (renewals resume with the store)
                # and retry it from memory; if we die meanwhile, the lease lapses and another takes it.
                logger.warning("could not schedule the retry of %s in the store: kept in memory", where, exc_info=True)
                self._hold(delivery)  # released by run_due once the retry has run
        with self._lock:
            heapq.heappush(self._retries, (time.monotonic() + delay, next(self._seq), delivery))
            if delivery.inbox_id is not None:
                self._retry_ids.add(delivery.inbox_id)

    def _dead_letter(self, delivery: ReceivedPayload, reason: str) -> None:
        self.stats.dead_lettered += 1
        logger.error("webhook payload %s set aside: %s",
                     delivery.inbox_id if delivery.inbox_id is not None else "(not stored)", reason)
        try:
            if self._leased is not None and delivery.inbox_id is not None:
                self._leased.inbox_dead_letter(delivery.inbox_id, reason)
                return
            self.dead_letters.append((delivery.payload, reason))
            if self.inbox is not None and delivery.inbox_id is not None:
                self.inbox.done(delivery.inbox_id)
        except Exception:
            logger.exception("could not set webhook payload %s aside", delivery.inbox_id)

    def _done(self, delivery: ReceivedPayload) -> None:
        self.stats.processed += 1
        if self.inbox is not None and delivery.inbox_id is not None:
            try:
                self.inbox.done(delivery.inbox_id)
            except Exception:
                logger.exception("could not mark stored webhook payload %s done", delivery.inbox_id)
