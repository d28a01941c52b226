"""A dispatcher that handles a payload's updates together (the gateway's statuses in one transaction).

Through a real SQLite inbox/dedup store, in the event loop (the lane path) and in the calling thread:
the updates it handles are marked done together, the ones it leaves go one at a time, one that failed
makes the payload retried for that update only, and Meta's redelivery of a handled payload runs nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wacloud.delivery.sqlite import SqliteStore
from wacloud.webhooks import StatusUpdate, Update, WebhookReceiver
from wacloud.webhooks.received import BatchDispatcher

from . import payloads as p


class Batcher:
    """Takes statuses in batches (failing the one with wamid ``bad`` once); everything else one by one."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.single: list[str] = []
        self.fail_once = True

    def _batch(self, updates: Sequence[Update]) -> list[bool | Exception | None]:
        out: list[bool | Exception | None] = []
        for u in updates:
            if not isinstance(u, StatusUpdate):
                out.append(None)
            elif u.status.id == "bad" and self.fail_once:
                self.fail_once = False
                out.append(RuntimeError("the database is down"))
            else:
                out.append(True)
        self.batches.append([str(u.dedup_key) for u, r in zip(updates, out, strict=True) if r is True])
        return out

    async def dispatch_batch(self, updates: Sequence[Update]) -> list[bool | Exception | None]:
        return self._batch(updates)

    def dispatch_batch_sync(self, updates: Sequence[Update]) -> list[bool | Exception | None]:
        return self._batch(updates)

    async def dispatch(self, update: Update) -> None:
        self.dispatch_sync(update)

    def dispatch_sync(self, update: Update) -> None:
        self.single.append(str(update.dedup_key or update.update_id))


def _payload() -> bytes:
    mixed = p.envelope(p.change("messages", {
        "messaging_product": "whatsapp", "metadata": p.METADATA,
        "statuses": [p.status("delivered", id="w1"), p.status("read", id="w1"), p.status("sent", id="bad")],
        "contacts": [{"profile": {"name": "A"}, "wa_id": p.USER}],
        "messages": [p.msg("text", {"body": "hi"}, id="wamid.in1")]}))
    return p.body(mixed)


def _receiver(tmp_path: Path) -> tuple[WebhookReceiver, Batcher, SqliteStore]:
    store = SqliteStore(tmp_path / "inbox.db")
    batcher = Batcher()
    assert isinstance(batcher, BatchDispatcher)
    rec = WebhookReceiver(app_secret=p.SECRET, dedup=store, inbox=store, on_update=batcher,
                          retry_first_s=0.0, retry_poll_s=0.01)
    return rec, batcher, store


def test_in_the_event_loop(tmp_path: Path) -> None:
    rec, batcher, store = _receiver(tmp_path)
    raw = _payload()

    async def main() -> None:
        status, _, delivery = rec.accept(raw, p.signed_headers(raw))
        assert status == 200 and delivery is not None
        assert await rec.process(delivery) == 3  # two statuses in the batch, the message alone
        # The failed status is retried (only it): its payload is due again at once.
        for _ in range(200):
            await rec.run_due()
            if rec.stats.processed:
                break
            await asyncio.sleep(0.01)
        # Meta redelivers the whole payload: nothing runs again.
        status, _, again = rec.accept(raw, p.signed_headers(raw))
        assert again is not None and await rec.process(again) == 0

    asyncio.run(main())
    # The retry claims only the failed status again (the others are marked done) and batches it.
    assert batcher.batches == [["w1:delivered", "w1:read"], ["bad:sent"]]
    assert batcher.single == ["wamid.in1"]
    # Processed: the payload (after its retry) and its redelivery (nothing new in it).
    assert rec.stats.retried == 1 and rec.stats.processed == 2 and rec.stats.dead_lettered == 0
    for key in ("w1:delivered", "w1:read", "bad:sent", "wamid.in1"):
        assert store.seen("done:" + key), key
    rec.close()
    store.close()


def test_in_the_calling_thread(tmp_path: Path) -> None:
    rec, batcher, store = _receiver(tmp_path)
    raw = _payload()
    assert rec.handle_post(raw, p.signed_headers(raw))[0] == 200
    assert batcher.batches[0] == ["w1:delivered", "w1:read"]
    assert batcher.single == ["wamid.in1"]
    while not rec.stats.processed:  # the failed one is due again at once (handle_post may run it already)
        rec.run_due_sync()
    assert batcher.batches == [["w1:delivered", "w1:read"], ["bad:sent"]]
    assert batcher.single == ["wamid.in1"]
    rec.close()
    store.close()


def test_a_batch_call_that_raises_leaves_every_update_to_the_one_by_one_path(tmp_path: Path) -> None:
    rec, batcher, store = _receiver(tmp_path)

    def broken(updates: Sequence[Update]) -> list[bool | Exception | None]:
        raise RuntimeError("nothing of the batch was handled")

    batcher.dispatch_batch_sync = broken  # type: ignore[method-assign]
    raw = p.body(p.statuses(p.status("delivered", id="x1"), p.status("read", id="x1")))
    assert rec.handle_post(raw, p.signed_headers(raw))[0] == 200
    assert batcher.single == ["x1:delivered", "x1:read"]
    assert rec.stats.processed == 1
    rec.close()
    store.close()


def _statuses_only() -> bytes:
    return p.body(p.envelope(p.change("messages", {
        "messaging_product": "whatsapp", "metadata": p.METADATA,
        "statuses": [p.status("delivered", id="w7"), p.status("read", id="w7")]})))


def test_a_payload_the_batch_handled_is_settled_without_holding_the_loop(tmp_path: Path) -> None:
    """A group inbox settles a payload in one write, and the event loop waits for that write when another
    writer has the file (the crash window of a plain handler), except when the batch dispatcher handled all of
    it: its work is safe to repeat, so the write goes with the iteration's puts, which never wait (the
    receiver's thread takes them when the file is busy)."""
    from wacloud.gateway._webhook_store import WebhookSqliteStore
    from wacloud.webhooks._group import INLINE_WAIT_S

    store = WebhookSqliteStore(str(tmp_path / "inbox.db"))
    batcher = Batcher()
    rec = WebhookReceiver(app_secret=p.SECRET, dedup=store, inbox=store, on_update=batcher,
                          retry_first_s=0.0, retry_poll_s=0.01)
    settles: list[float | None] = []  # how long each write removing a payload may wait for the file
    real = store.write_group

    def spy(group: Any) -> Any:
        if group.done:
            settles.append(group.wait_s)
        return real(group)

    store.write_group = spy  # type: ignore[method-assign]

    async def main() -> None:
        for raw, handled in ((_statuses_only(), 2), (p.body(p.envelope(p.change("messages", {
                "messaging_product": "whatsapp", "metadata": p.METADATA,
                "contacts": [{"profile": {"name": "A"}, "wa_id": p.USER}],
                "messages": [p.msg("text", {"body": "hi"}, id="wamid.in7")]}))), 1)):
            status, _, delivery = await rec.accept_async(raw, p.signed_headers(raw))
            assert status == 200 and delivery is not None
            assert await rec.process(delivery) == handled

    asyncio.run(main())
    assert batcher.batches == [["w7:delivered", "w7:read"]] and batcher.single == ["wamid.in7"]
    assert settles == [0.0, INLINE_WAIT_S], settles  # the statuses' settle never waits; the message's may
    for key in ("w7:delivered", "w7:read", "wamid.in7"):
        assert store.seen("done:" + key), key
    assert store.pending() == []  # both payloads removed
    assert rec.stats.processed == 2
    rec.close()
    store.close()
