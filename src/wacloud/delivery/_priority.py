"""Which threads write first: the delivery worker's store calls go before bookkeeping.

A process has one writer at a time per SQLite file (:func:`wacloud.delivery.sqlite.writer_lock`). Under a
campaign, status webhooks and the receiver's records queue for it beside the worker's claims and settles;
served in arrival order, each send waited behind milliseconds of status writes and the sending rate
fell with the webhook load. A thread marked here is served first; the others wait their turn (statuses
can be recorded a moment later, a send cannot be sent later without missing its rate).
"""

from __future__ import annotations

import threading

_local = threading.local()


def mark_urgent() -> None:
    """Mark the calling thread's writes as urgent (a worker's store thread calls it once, at its start)."""
    _local.urgent = True


def is_urgent() -> bool:
    """True when the calling thread was marked with :func:`mark_urgent`."""
    return bool(getattr(_local, "urgent", False))
