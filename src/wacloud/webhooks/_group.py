"""Group commit of the receiver's durable writes, when its inbox is a :class:`~wacloud.webhooks.store.GroupInbox`.

A mixin of :class:`~wacloud.webhooks.receiver.WebhookReceiver` (kept apart to keep each module small).
Two kinds of write go through the receiver's lane as one batched call, :meth:`GroupCommit._write_group`:

* a :class:`Put`: an accepted POST, stored (leased to us) together with the claims of its updates' keys,
  before its 200 is answered;
* a :class:`Settle`: a payload whose updates are all handled: its last "done" marks are recorded and its
  row removed.

Whatever is queued in the lane while a transaction runs goes into the next one, so under load many
requests share one commit; each request still waits for the commit of its own write (a 200 is only
answered once its payload is durable; a payload is only removed with its marks).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from wacloud.webhooks._marks import Marks, slot_mark
from wacloud.webhooks.parsing import parse
from wacloud.webhooks.received import ReceivedPayload, ReceiverStats
from wacloud.webhooks.store import Arrival, GroupInbox, InboxGroup
from wacloud.webhooks.updates import Update

logger = logging.getLogger("wacloud.webhooks")

#: One result per queued write: a put's (inbox id, claims) or the exception that failed it; None for a settle.
Result = tuple[int, list[bool]] | Exception | None


@dataclass(frozen=True, slots=True)
class Put:
    """An accepted POST to store with the claims of its updates."""

    arrival: Arrival


@dataclass(frozen=True, slots=True)
class Settle:
    """A processed payload to remove, with the handled updates whose marks are not written yet."""

    delivery: ReceivedPayload
    done: tuple[tuple[ReceivedPayload, int, Update], ...] = ()


class GroupCommit(Marks):
    """Writes puts and settles queued together in one transaction of the :class:`GroupInbox`."""

    _group: GroupInbox | None
    lease_s: float
    stats: ReceiverStats

    def _arrival(self, delivery: ReceivedPayload, raw: bytes, headers_json: str) -> Put:
        """The put of an accepted payload: parsed now, so its updates' keys are claimed with its row."""
        updates = delivery.updates = parse(delivery.payload)
        return Put(Arrival(bytes(raw), headers_json, tuple(u.dedup_key for u in updates)))

    def _write_group(self, items: list[tuple[Put | Settle]]) -> list[Result]:
        """A batched lane step: every put and settle queued together, in one transaction."""
        group = self._group
        if group is None:
            raise RuntimeError("the inbox cannot write groups")
        puts = [item[0].arrival for item in items if isinstance(item[0], Put)]
        settles = [item[0] for item in items if isinstance(item[0], Settle)]
        marks: list[str] = []
        done: list[int] = []
        for settle in settles:
            for delivery, index, update in settle.done:
                delivery.completed.add(index)
                mark = self._mark(delivery, index, update)
                if mark is not None:
                    marks.append(mark)
            if settle.delivery.inbox_id is not None:
                done.append(settle.delivery.inbox_id)
        self.stats.processed += len(settles)
        try:
            stored = iter(group.write_group(InboxGroup(arrivals=puts, lease_s=self.lease_s, marks=marks,
                                                       done=done, skip_mark=slot_mark)))
        except Exception as exc:
            if settles:
                # As when a mark or a removal fails alone: the lease lapses, the payload is taken again.
                logger.exception("could not mark stored webhook payload(s) %s done", ", ".join(map(str, done)))
            return [exc if isinstance(item[0], Put) else None for item in items]
        return [next(stored) if isinstance(item[0], Put) else None for item in items]
