"""Which threads write first: the delivery worker's store calls go before bookkeeping.

A process has one writer at a time per SQLite file (:func:`wacloud.delivery.sqlite.writer_lock`). Under a
campaign, status webhooks and the receiver's records queue for it beside the worker's claims and settles;
served in arrival order, each send waited behind milliseconds of status writes and the sending rate
fell with the webhook load. A thread marked here is served first, by the file's writer lock and by a store's
connection lock (:class:`PriorityLock`); the others wait their turn (statuses can be recorded a moment
later, a send cannot be sent later without missing its rate).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_local = threading.local()


def mark_urgent() -> None:
    """Mark the calling thread's writes as urgent (a worker's store thread calls it once, at its start)."""
    _local.urgent = True


@contextmanager
def urgent() -> Iterator[None]:
    """The calling thread's writes inside the block are urgent (a write made from an event loop's thread,
    which serves nothing else while it waits)."""
    before = is_urgent()
    _local.urgent = True
    try:
        yield
    finally:
        _local.urgent = before


def is_urgent() -> bool:
    """True when the calling thread was marked with :func:`mark_urgent`."""
    return bool(getattr(_local, "urgent", False))


class PriorityLock:
    """A re-entrant lock that serves threads marked urgent first, then the others in turn (the writers of
    one SQLite file, a store's connection). One condition per class of waiter, so a release wakes one
    thread, not all of them."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._urgent = threading.Condition(self._mutex)
        self._normal = threading.Condition(self._mutex)
        self._owner: int | None = None
        self._depth = 0
        self._waiting = {True: 0, False: 0}

    def acquire(self, timeout: float = -1, *, urgent: bool | None = None) -> bool:
        """Take the lock within ``timeout`` seconds (negative: no limit; False when the time ran out);
        ``urgent`` (default: whether the calling thread is marked) goes before the others waiting."""
        me = threading.get_ident()
        if urgent is None:
            urgent = is_urgent()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and (urgent or not self._waiting[True]):
                # Free, and nobody this caller must let go first: taken at once, as the loop below would
                # (its bookkeeping and clock reads cost more than the rest of an uncontended acquire).
                self._owner, self._depth = me, 1
                return True
            cond = self._urgent if urgent else self._normal
            self._waiting[urgent] += 1
            try:
                end = time.monotonic() + timeout if timeout >= 0 else None
                while self._owner is not None or (not urgent and self._waiting[True]):
                    left = None if end is None else end - time.monotonic()
                    if left is not None and left <= 0:
                        return False
                    cond.wait(left)
                self._owner, self._depth = me, 1
                return True
            finally:
                self._waiting[urgent] -= 1
                self._wake()  # timed out: a wake-up meant for this thread (or held for it) goes to the next

    def release(self) -> None:
        """Release one level; the last one lets the next writer in."""
        with self._mutex:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._wake()

    def _wake(self) -> None:
        if self._owner is None:
            if self._waiting[True]:
                self._urgent.notify()
            elif self._waiting[False]:
                self._normal.notify()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
