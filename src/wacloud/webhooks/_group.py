"""Group commit of the receiver's durable writes, when its inbox is a :class:`~wacloud.webhooks.store.GroupInbox`.

A mixin of :class:`~wacloud.webhooks.receiver.WebhookReceiver` (kept apart to keep each module small).
Two kinds of write are made together, in one transaction of the store (:meth:`GroupCommit._commit`):

* a :class:`Put`: an accepted POST, stored (leased to us) together with the claims of its updates' keys,
  before its 200 is answered;
* a :class:`Settle`: a payload whose updates are all handled: its last "done" marks are recorded and its
  row removed.

Whatever is queued while a transaction runs goes into the next one (in the receiver's lane: one batched
call, :meth:`GroupCommit._write_group`), so under load many requests share one commit; each request
still waits for the commit of its own write (a 200 is only answered once its payload is durable; a
payload is only removed with its marks).

From the event loop (the ASGI app) the writes are made by the loop's own thread, a settle waiting at most
``INLINE_WAIT_S`` for a busy database (puts alone not at all: the lane takes them): the puts of the requests
read in one loop iteration are written together at its end, and a settle writes the puts waiting with it. A
settle has to hold the loop until its marks are written anyway (no other handler may finish meanwhile: the
crash window), so writing them in this thread costs the loop nothing more, and it saves two thread hand-
overs per request and the GIL contention of a second thread running SQLite (measured: a third of the durable
path's CPU). When the database is busy (another process writes it) the writes go to the receiver's lane for
``INLINE_PAUSE_S``, with the store's usual waits, as without this path.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from wacloud.webhooks._marks import Marks, slot_mark
from wacloud.webhooks.offload import NORMAL, URGENT, Lane
from wacloud.webhooks.parsing import parse
from wacloud.webhooks.received import ReceivedPayload, ReceiverStats
from wacloud.webhooks.store import Arrival, GroupInbox, InboxGroup
from wacloud.webhooks.updates import Update

logger = logging.getLogger("wacloud.webhooks")

#: One result per queued write: a put's (inbox id, claims) or the exception that failed it; None for a settle.
Result = tuple[int, list[bool]] | Exception | None
#: How long a write from the event loop's thread waits for a busy database before the lane takes it.
INLINE_WAIT_S = 0.05
#: After a busy database, how long every write goes through the lane before the loop tries again.
INLINE_PAUSE_S = 1.0


# Not frozen: a frozen dataclass sets each field through object.__setattr__ (three times the cost), and
# these are made for every request.
@dataclass(slots=True)
class Put:
    """An accepted POST to store with the claims of its updates."""

    arrival: Arrival


@dataclass(slots=True)
class Settle:
    """A processed payload to remove, with the handled updates whose marks are not written yet."""

    delivery: ReceivedPayload
    done: tuple[tuple[ReceivedPayload, int, Update], ...] = ()
    #: Its updates were handled by a :class:`~wacloud.webhooks.received.BatchDispatcher`, whose work is
    #: safe to repeat: a crash before the marks are written re-runs them harmlessly, so the event loop
    #: does not hold for this write (it did, for milliseconds behind the file's other writers).
    repeatable: bool = False


class GroupCommit(Marks):
    """Writes puts and settles queued together in one transaction of the :class:`GroupInbox`."""

    _group: GroupInbox | None
    lease_s: float
    stats: ReceiverStats

    def _arrival(self, delivery: ReceivedPayload, raw: bytes, headers_json: str) -> Put:
        """The put of an accepted payload: parsed now, so its updates' keys are claimed with its row."""
        updates = delivery.updates = parse(delivery.payload)
        return Put(Arrival(bytes(raw), headers_json, tuple([u.dedup_key for u in updates])))

    def _write_group(self, items: list[tuple[Put | Settle]]) -> list[Result]:
        """A batched lane step: every put and settle queued together, in one transaction."""
        settles = [item[0] for item in items if isinstance(item[0], Settle)]
        self.stats.processed += len(settles)
        try:
            return self._commit(items, None)
        except Exception as exc:
            if settles:
                # As when a mark or a removal fails alone: the lease lapses, the payload is taken again.
                logger.exception("could not mark stored webhook payload(s) %s done",
                                 ", ".join(str(s.delivery.inbox_id) for s in settles))
            return [exc if isinstance(item[0], Put) else None for item in items]

    def _commit(self, items: list[tuple[Put | Settle]], wait_s: float | None) -> list[Result]:
        """Write ``items`` in one transaction of the group inbox; raises what the store raises."""
        group = self._group
        if group is None:
            raise RuntimeError("the inbox cannot write groups")
        puts: list[Arrival] = []
        marks: list[str] = []
        done: list[int] = []
        for (item,) in items:  # one pass: this runs once per request
            if isinstance(item, Put):
                puts.append(item.arrival)
                continue
            for delivery, index, update in item.done:
                delivery.completed.add(index)
                if (mark := self._mark(delivery, index, update)) is not None:
                    marks.append(mark)
            if item.delivery.inbox_id is not None:
                done.append(item.delivery.inbox_id)
        stored = group.write_group(InboxGroup(arrivals=puts, lease_s=self.lease_s, marks=marks, done=done,
                                              skip_mark=slot_mark, wait_s=wait_s))
        if len(puts) == len(items):
            return list(stored)
        results = iter(stored)
        return [next(results) if type(item) is Put else None for (item,) in items]

    # --- from the event loop ------------------------------------------------------------------------

    _lane: Lane
    #: Per event loop, the puts (and repeatable settles) waiting for its next group write (a receiver may
    #: serve several loops).
    _waiting: dict[asyncio.AbstractEventLoop, list[tuple[Put | Settle, asyncio.Future[Result]]]]
    _inline_after: float

    async def _put_async(self, put: Put) -> Result:
        """Store an accepted payload from the event loop: with the iteration's others, or in the lane."""
        return await self._unheld(put, NORMAL)

    async def _unheld(self, item: Put | Settle, priority: int) -> Result:
        """Write ``item`` without holding the loop: by this loop's thread at the end of the iteration, with
        the others queued meanwhile (on its own connection, never waiting for another writer: the lane takes
        them then), or by the lane while the file is busy for the loop."""
        if time.monotonic() < self._inline_after:
            result: Result = await self._lane.run_batched(self._write_group, (item,), priority=priority)
            return result
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Result] = loop.create_future()
        waiting = self._waiting.get(loop)
        if waiting is None:
            waiting = self._waiting[loop] = []
        waiting.append((item, waiter))
        if len(waiting) == 1:
            loop.call_soon(self._write_here, loop, None)  # at the end of this iteration, with the others
        return await waiter

    async def _settle_async(self, settle: Settle) -> None:
        """Settle a payload from the event loop, holding it until the marks are written (see the module);
        a repeatable one is written as the puts are, and the loop does not wait for it."""
        if settle.repeatable:
            await self._unheld(settle, URGENT)
            return
        if time.monotonic() >= self._inline_after and self._write_here(asyncio.get_running_loop(), settle):
            return
        await self._lane.run_batched(self._write_group, (settle,), priority=URGENT, hold_s=INLINE_WAIT_S)

    def _settle_sync(self, settle: Settle) -> None:
        self._write_group([(settle,)])

    def _write_here(self, loop: asyncio.AbstractEventLoop, settle: Settle | None) -> bool:
        """Write ``loop``'s waiting puts (and ``settle``) in this thread; False if the lane must take ``settle``."""
        waiting = self._waiting.pop(loop, [])
        items: list[tuple[Put | Settle]] = [(item,) for item, _ in waiting]
        if settle is not None:
            items.append((settle,))
        if not items:
            return True
        try:
            # Puts (and repeatable settles) never wait here: while another writer has the file (in a gateway,
            # a status batch or the delivery worker) the lane takes them and the loop runs on; only a settle,
            # which holds the loop anyway (the crash window), waits for it. Measured in `wacloud serve` under
            # a campaign: the loop spent a fifth of its time waiting here for puts.
            results = self._commit(items, INLINE_WAIT_S if settle is not None else 0.0)
        except Exception as exc:
            # Busy (another process writes the file) or failing: the lane retries with the store's waits.
            logger.debug("webhook store busy from the event loop; using its thread: %s", exc)
            if settle is not None:  # busy for INLINE_WAIT_S: the lane takes every write for a while
                self._inline_after = time.monotonic() + INLINE_PAUSE_S
            for item, waiter in waiting:
                self._lane.submit_waiter(self._write_group, (item,), waiter, priority=NORMAL)
            return False
        for (item, waiter), result in zip(waiting, results, strict=False):
            if type(item) is Settle:
                self.stats.processed += 1
            if not waiter.done():  # a caller that went away: its payload is stored all the same
                waiter.set_result(result)
        if settle is not None:
            self.stats.processed += 1
        return True
