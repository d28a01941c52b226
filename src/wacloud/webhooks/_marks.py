"""The receiver's bookkeeping of updates: who claims an update, and the "done" marks of handled ones.

A mixin of :class:`~wacloud.webhooks.receiver.WebhookReceiver` (kept apart to keep each module small):
claims and marks go through the receiver's dedup store, keyed by the update's dedup key or, for an
update without one, by its place in a stored payload.
"""

from __future__ import annotations

import logging

from wacloud.webhooks.received import ReceivedPayload
from wacloud.webhooks.store import DedupLookup, DedupStore, InboxStore, first_seen_all
from wacloud.webhooks.updates import Update

logger = logging.getLogger("wacloud.webhooks")


class Marks:
    """Claims and completion marks over ``dedup`` (and ``inbox``, whose payloads need marks)."""

    dedup: DedupStore | None
    inbox: InboxStore | None

    def _mark(self, delivery: ReceivedPayload, index: int, update: Update) -> str | None:
        """The completion mark of an update: by its key, or by its place in a stored payload."""
        if update.dedup_key is not None:
            return "done:" + update.dedup_key
        if delivery.inbox_id is not None:
            return slot_mark(delivery.inbox_id, index)
        return None

    def _claim(self, delivery: ReceivedPayload, index: int, update: Update) -> bool:
        """True if this update is ours to dispatch now. Raises when the dedup store fails."""
        if index in delivery.completed:
            return False
        dedup = self.dedup
        if dedup is None:
            return True
        key = update.dedup_key
        lookup = None
        if delivery.resumed:
            lookup = dedup if isinstance(dedup, DedupLookup) else None
            if lookup is not None and delivery.inbox_id is not None:
                marks = [slot_mark(delivery.inbox_id, index)] + (["done:" + key] if key else [])
                if any(lookup.seen(m) for m in marks):
                    return False  # completed (or skipped as a duplicate) by an earlier attempt
        if key is None:
            return True
        if dedup.first_seen(key):
            return True
        if not delivery.resumed:
            # A duplicate (Meta's redelivery of an update another payload claimed): the owner handles
            # it. Remember the skip, so a later retry of *this* payload does not take it for its own.
            self._skipped(delivery, index)
            return False
        if lookup is not None:
            return True  # claimed by an earlier attempt of this payload and never completed
        # A store without lookups: claim the completion mark itself (at most once, not exactly once).
        return dedup.first_seen("done:" + key)

    def _claim_batch(self, items: list[tuple[ReceivedPayload, int, Update]]) -> list[bool]:
        """:meth:`_claim` for the claims waiting together in the lane: the plain ones (a fresh payload's
        update with a key) record their keys in one transaction instead of one each."""
        results: list[bool | None] = [None] * len(items)
        plain = [n for n, (delivery, index, update) in enumerate(items)
                 if self.dedup is not None and not delivery.resumed and index not in delivery.completed
                 and update.dedup_key is not None]
        if len(plain) > 1 and self.dedup is not None:
            keys = [str(items[n][2].dedup_key) for n in plain]
            new = dict(zip(unique := list(dict.fromkeys(keys)), first_seen_all(self.dedup, unique), strict=True))
            for n, key in zip(plain, keys, strict=True):
                results[n] = new[key]
                new[key] = False  # a second copy in the same batch is a duplicate of the first
                if not results[n]:
                    self._skipped(items[n][0], items[n][1])
        return [self._claim(*item) if r is None else r for item, r in zip(items, results, strict=True)]

    def _skipped(self, delivery: ReceivedPayload, index: int) -> None:
        delivery.completed.add(index)
        if self.inbox is None or delivery.inbox_id is None or self.dedup is None:
            return
        try:
            self.dedup.first_seen(slot_mark(delivery.inbox_id, index))
        except Exception:
            logger.exception("dedup store failed to record a skipped duplicate of payload %s", delivery.inbox_id)

    def _completed(self, done: list[tuple[ReceivedPayload, int, Update]]) -> list[None]:
        """Record updates as completed (a batched step: the marks waiting together are written at once)."""
        marks: list[tuple[str, Update]] = []
        for delivery, index, update in done:
            delivery.completed.add(index)
            # Completion marks only matter when another process (or a restart) may retry the payload.
            if self.inbox is not None and (mark := self._mark(delivery, index, update)) is not None:
                marks.append((mark, update))
        if marks and self.dedup is not None:
            try:
                first_seen_all(self.dedup, [mark for mark, _ in marks])
            except Exception:
                logger.exception("dedup store failed to mark update(s) %s done",
                                 ", ".join(str(update.update_id) for _, update in marks))
        return [None] * len(done)

    def _completed_lists(self, lists: list[tuple[tuple[ReceivedPayload, int, Update], ...]]) -> list[None]:
        """:meth:`_completed` for several calls' lists of updates at once (a batched lane step)."""
        self._completed([item for items in lists for item in items])
        return [None] * len(lists)



def slot_mark(inbox_id: int, index: int) -> str:
    """The mark of the ``index``-th update of stored payload ``inbox_id`` (done, or skipped)."""
    return f"done:inbox:{inbox_id}:{index}"


