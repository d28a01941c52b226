"""Group commit of the durable receiver (a ``GroupInbox``: the gateway's SQLite webhook store).

A payload is stored together with the claims of its updates' keys in one transaction, shared by the
POSTs that arrive meanwhile, and a processed payload is settled (its last "done" marks and its removal)
in one. These tests run on real SQLite files, over real HTTP where the concurrency matters.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from wacloud.gateway import WebhookSqliteStore
from wacloud.webhooks import Update, WebhookApp, WebhookReceiver
from wacloud.webhooks.offload import Lane
from wacloud.webhooks.store import Arrival, GroupInbox, InboxGroup

from . import payloads as p
from .servers import serve_asgi, wait_for


def _skip(inbox_id: int, index: int) -> str:
    return f"skip:{inbox_id}:{index}"


class _Counting(WebhookSqliteStore):
    """The store, counting its group transactions and the arrivals and removals they carried."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.groups = self.arrivals = self.settled = 0

    def write_group(self, group: InboxGroup) -> list[tuple[int, list[bool]]]:
        out = super().write_group(group)
        self.groups += 1
        self.arrivals += len(group.arrivals)
        self.settled += len(group.done)
        return out


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_one_transaction_stores_the_arrivals_claims_their_keys_and_settles(tmp_path: Path) -> None:
    db = tmp_path / "hooks.db"
    store = WebhookSqliteStore(str(db))
    assert isinstance(store, GroupInbox)
    assert store.first_seen("old")  # recorded by an earlier payload
    first = store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, arrivals=[
        Arrival(b'{"a":1}', "{}", ("k1", None, "old")),
        Arrival(b'{"a":2}', "{}", ("k1", "k2")),  # k1 again: the first arrival owns it
    ]))
    (id1, claims1), (id2, claims2) = first
    assert id2 > id1
    assert claims1 == [True, True, False] and claims2 == [False, True]
    assert store.seen("k1") and store.seen("k2")
    # The updates skipped as duplicates are remembered per payload, so their retries skip them too.
    assert store.seen(_skip(id1, 2)) and store.seen(_skip(id2, 0)) and not store.seen(_skip(id1, 0))
    # Leased to the caller: nobody else claims them meanwhile.
    assert store.inbox_claim(10, 5.0) == []
    assert [i for i, _ in store.pending(10)] == [id1, id2]

    (id3, claims3), = store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, marks=["done:k1", "done:k2"],
                                                   done=[id1, id2], arrivals=[Arrival(b"{}", "{}", ("k2",))]))
    assert claims3 == [False] and store.seen(_skip(id3, 0))
    assert store.seen("done:k1") and store.seen("done:k2")
    assert [i for i, _ in store.pending(10)] == [id3]
    assert _rows(db, "SELECT raw FROM webhook_inbox") == [(b"{}",)]
    store.close()


def test_claims_go_before_marks_even_when_a_mark_is_also_a_key_of_the_group(tmp_path: Path) -> None:
    # Claims and marks share one INSERT unless a mark is one of the group's own keys: the claim then
    # goes first (a key recorded by a mark of the same group would read as a duplicate).
    store = WebhookSqliteStore(str(tmp_path / "hooks.db"))
    (id1, claims1), = store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, marks=["done:x"],
                                                   arrivals=[Arrival(b"{}", "{}", ("done:x", "y"))]))
    assert claims1 == [True, True] and not store.seen(_skip(id1, 0))
    # Both ways once more, on the event loop's connection (``wait_s``): a mark of another key, then a
    # group of two marks and two removals.
    (id2, claims2), = store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, wait_s=0.05, marks=["done:y"],
                                                   arrivals=[Arrival(b"{}", "{}", ("y", "z"))]))
    assert claims2 == [False, True] and store.seen(_skip(id2, 0)) and store.seen("done:y")
    assert store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, wait_s=0.05, marks=["done:z", "done:z"],
                                        done=[id1, id2])) == []
    assert store.pending(10) == [] and store.seen("done:z")
    store.close()


def test_the_event_loops_writes_wait_for_another_process_only_as_long_as_asked(tmp_path: Path) -> None:
    from wacloud.delivery import StoreError

    db = tmp_path / "hooks.db"
    store = WebhookSqliteStore(str(db))
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)  # as another process would
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreError, match="locked"):  # a put alone does not wait at all
        store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, wait_s=0.0, arrivals=[Arrival(b"{}", "{}", ("a",))]))
    released = threading.Timer(0.05, lambda: other.execute("COMMIT"))
    released.start()
    # A write that may wait gets the file once the other writer is done (it waits up to 30 s here).
    (stored, claims), = store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, wait_s=30.0,
                                                     arrivals=[Arrival(b"{}", "{}", ("a",))]))
    released.join()
    assert claims == [True] and [i for i, _ in store.pending(10)] == [stored]
    other.close()
    store.close()


def test_a_failed_group_writes_nothing(tmp_path: Path) -> None:
    store = WebhookSqliteStore(str(tmp_path / "hooks.db"))
    (kept, _), = store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, arrivals=[Arrival(b"{}", "{}", ())]))

    def broken(inbox_id: int, index: int) -> str:
        raise RuntimeError("boom")  # fails inside the transaction, after the rows were inserted

    with pytest.raises(RuntimeError):
        store.write_group(InboxGroup(skip_mark=broken, lease_s=30, done=[kept],
                                     arrivals=[Arrival(b"{}", "{}", ("k",)), Arrival(b"{}", "{}", ("k",))]))
    assert [i for i, _ in store.pending(10)] == [kept] and not store.seen("k")
    store.close()


def test_concurrent_posts_share_transactions_and_each_update_is_handled_once(tmp_path: Path) -> None:
    store = _Counting(str(tmp_path / "hooks.db"))
    seen: list[str] = []
    lock = threading.Lock()

    def record(update: Update) -> None:
        with lock:
            seen.append(update.update_id)

    receiver = WebhookReceiver(app_secret=p.SECRET, dedup=store, inbox=store, on_update=record)
    messages = [p.msg("text", {"body": str(i)}) for i in range(60)]
    bodies = [p.body(p.inbound(m)) for m in messages]
    with serve_asgi(WebhookApp(receiver)) as url, httpx.Client(base_url=url, timeout=20) as client:
        def post_all(offset: int) -> None:
            for raw in bodies[offset:] + bodies[:offset]:  # every thread sends every payload: duplicates
                assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200

        threads = [threading.Thread(target=post_all, args=(k * 15,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert wait_for(lambda: store.settled >= 4 * len(bodies) and not store.pending(10))
    assert sorted(seen) == sorted(m["id"] for m in messages)
    # Every POST was stored, each in some group; a group carries arrivals and settles together.
    assert store.arrivals == 4 * len(bodies)
    assert store.groups < store.arrivals + store.settled
    store.close()


def test_a_crash_before_processing_resumes_each_update_once_even_its_duplicates(tmp_path: Path) -> None:
    path = str(tmp_path / "hooks.db")
    message, other = p.msg("text", {"body": "once"}), p.msg("text", {"body": "other"})
    original = p.body(p.inbound(message, other))
    duplicate = p.body(p.inbound(message))  # Meta's redelivery of the first update, in its own payload
    first = WebhookReceiver(app_secret=p.SECRET, dedup=(s := WebhookSqliteStore(path)), inbox=s, lease_s=0.2)
    for raw in (original, duplicate):
        status, _, delivery = first.accept(raw, p.signed_headers(raw))
        assert status == 200 and delivery is not None and delivery.claims is not None
    first.close()  # "crashed": answered 200, processed nothing

    got: list[str] = []

    def handle(update: Update) -> None:
        if update.update_id == message["id"] and not got:
            got.append("failed once")
            raise RuntimeError("the database is down")  # its owner keeps it, for a retry
        got.append(update.update_id)

    store = WebhookSqliteStore(path)
    again = WebhookReceiver(app_secret=p.SECRET, dedup=store, inbox=store, on_update=handle, retry_first_s=0.05)
    time.sleep(0.3)  # the first process's leases lapse
    assert again.resume_sync() == 2
    # The duplicate payload, resumed while the owner waits for its retry, skips the update it does not own.
    assert got == ["failed once", other["id"]]
    assert wait_for(lambda: again.run_due_sync() >= 0 and message["id"] in got)
    assert got == ["failed once", other["id"], message["id"]]
    assert wait_for(lambda: store.pending(10) == [])
    store.close()


def test_the_sync_path_stores_and_settles_through_groups_too(tmp_path: Path) -> None:
    store = _Counting(str(tmp_path / "hooks.db"))
    got: list[str] = []
    receiver = WebhookReceiver(app_secret=p.SECRET, dedup=store, inbox=store,
                               on_update=lambda u: got.append(u.update_id))
    raw = p.body(p.inbound(p.msg("text", {"body": "a"})))
    assert receiver.handle_post(raw, p.signed_headers(raw))[0] == 200
    assert receiver.handle_post(raw, p.signed_headers(raw))[0] == 200  # a redelivery: stored, skipped
    assert len(got) == 1 and store.pending(10) == []
    assert (store.groups, store.arrivals, store.settled) == (4, 2, 2)  # one to store, one to settle, each
    store.close()


def test_a_store_that_cannot_write_the_group_answers_503(tmp_path: Path) -> None:
    class Down(WebhookSqliteStore):
        def write_group(self, group: InboxGroup) -> list[tuple[int, list[bool]]]:
            raise sqlite3.OperationalError("disk I/O error")

    store = Down(str(tmp_path / "hooks.db"))
    receiver = WebhookReceiver(app_secret=p.SECRET, dedup=store, inbox=store, on_update=lambda u: None)
    raw = p.body(p.inbound(p.msg("text", {"body": "a"})))
    assert receiver.accept(raw, p.signed_headers(raw))[0] == 503

    async def main() -> int:
        return (await receiver.accept_async(raw, p.signed_headers(raw)))[0]

    assert asyncio.run(main()) == 503
    store.close()


def test_a_lane_hands_batched_results_and_errors_to_async_callers() -> None:
    lane = Lane("test-lane")
    calls: list[int] = []

    def double(items: list[tuple[int]]) -> list[int]:
        calls.append(len(items))
        if any(x < 0 for (x,) in items):
            raise ValueError("negative")
        return [2 * x for (x,) in items]

    async def main() -> None:
        assert await asyncio.gather(*(lane.run_batched(double, (i,)) for i in range(20))) == [2 * i for i in range(20)]
        assert sum(calls) == 20
        with pytest.raises(ValueError):
            await lane.run_batched(double, (-1,))
        cancelled = asyncio.ensure_future(lane.run_batched(double, (5,)))
        cancelled.cancel()
        assert await lane.run_batched(double, (7,)) == 14  # a cancelled caller's result is dropped quietly
        assert await lane.run(sum, [1, 2, 3]) == 6

    asyncio.run(main())


def test_a_held_call_returns_its_result_or_error_and_one_that_outlasts_the_hold_is_awaited() -> None:
    lane = Lane("test-lane")
    gate = threading.Event()

    def echo(items: list[tuple[int]]) -> list[int]:
        if any(x < 0 for (x,) in items):
            raise ValueError("negative")
        if any(x == 99 for (x,) in items):
            gate.wait(5)  # longer than the hold: the caller gives up holding and awaits
        return [x for (x,) in items]

    async def main() -> None:
        assert await lane.run_batched(echo, (1,), hold_s=1.0) == 1
        with pytest.raises(ValueError, match="negative"):
            await lane.run_batched(echo, (-1,), hold_s=1.0)
        slow = asyncio.ensure_future(lane.run_batched(echo, (99,), hold_s=0.01))
        await asyncio.sleep(0.05)
        assert not slow.done()
        gate.set()
        assert await slow == 99
        assert await lane.run_batched(echo, (2,), hold_s=1.0) == 2  # holding again once the lane caught up

    asyncio.run(main())


def test_while_another_process_writes_the_file_the_loop_hands_its_writes_to_the_lane(tmp_path: Path) -> None:
    db = tmp_path / "hooks.db"
    store = WebhookSqliteStore(str(db))
    got: list[str] = []
    receiver = WebhookReceiver(app_secret=p.SECRET, dedup=store, inbox=store,
                               on_update=lambda u: got.append(u.update_id))
    messages = [p.msg("text", {"body": str(i)}) for i in range(3)]
    with serve_asgi(WebhookApp(receiver)) as url, httpx.Client(base_url=url, timeout=20) as client:
        raw = p.body(p.inbound(messages[0]))
        assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200
        assert wait_for(lambda: len(got) == 1)
        other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock

        def release() -> None:
            time.sleep(0.3)  # longer than the loop waits, shorter than the store's own wait
            other.execute("COMMIT")

        releaser = threading.Thread(target=release)
        releaser.start()
        raw = p.body(p.inbound(messages[1]))
        assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200  # via the lane
        releaser.join()
        other.close()
        # A put alone did not wait for the file (the lane waited): nothing for the loop to back off from.
        assert receiver._inline_after == 0.0
        raw = p.body(p.inbound(messages[2]))
        assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200
        assert wait_for(lambda: len(got) == 3 and store.pending(10) == [])
    assert got == [m["id"] for m in messages]
    store.close()


def test_writes_made_without_checkpoints_are_checkpointed_in_their_own_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The group writes go to their connection directly (not through sqlite_transaction); they are counted
    # toward the file's checkpoints all the same (wacloud.delivery._checkpoints).
    import wacloud.delivery._checkpoints as checkpoints

    monkeypatch.setattr(checkpoints, "FIRST_EVERY", 5)
    db = tmp_path / "hooks.db"
    store = WebhookSqliteStore(str(db))
    size = db.stat().st_size
    for i in range(12):
        store.write_group(InboxGroup(skip_mark=_skip, lease_s=30, wait_s=0.05,
                                     arrivals=[Arrival(b"x" * 4000, "{}", (f"k{i}",))]))
    # Only a checkpoint copies pages from the WAL into the database file.
    assert wait_for(lambda: db.stat().st_size > size)
    store.close()
