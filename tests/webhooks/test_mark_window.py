"""The crash window between a handler's effect and its update's "done" mark stays closed and short.

A crash (SIGKILL) between the two makes the update run again after a restart; the receiver documents
at most one such update per crash. Store calls leave the event loop (a locked database must not
freeze it), so the mark is written in a worker thread: the receiver's own :class:`Lane`, marks first
and together, with the event loop holding (briefly, bounded) until the mark is written, so that no
other handler on the loop finishes meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from pathlib import Path

import pytest

from wacloud.webhooks import Update, WebhookReceiver
from wacloud.webhooks.offload import NORMAL, URGENT, Lane
from wacloud.webhooks.store import DedupBatch, MemoryDedupStore, MemoryInboxStore, first_seen_all

from . import payloads as p


class _RecordingDedup(MemoryDedupStore):
    """An in-memory dedup store that logs when a "done" mark is written."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def first_seen(self, key: str) -> bool:
        if key.startswith("done:"):
            time.sleep(0.001)  # a real store's commit takes a while, in a thread
            self.log.append("mark " + key.removeprefix("done:"))
        return super().first_seen(key)


def test_no_other_handler_finishes_between_an_effect_and_its_mark() -> None:
    log: list[str] = []

    async def handler(update: Update) -> None:
        await asyncio.sleep(0.005)  # all wake up together, as in a burst
        log.append(f"effect {update.dedup_key}")

    receiver = WebhookReceiver(app_secret=p.SECRET, dedup=_RecordingDedup(log), inbox=MemoryInboxStore(),
                               on_update=handler)
    raws = [p.body(p.inbound(p.msg("text", {"body": str(i)}))) for i in range(30)]

    async def main() -> None:
        deliveries = []
        for raw in raws:
            status, _, delivery = receiver.accept(raw, p.signed_headers(raw))
            assert status == 200 and delivery is not None
            deliveries.append(delivery)
        assert await asyncio.gather(*(receiver.process(d) for d in deliveries)) == [1] * len(raws)

    asyncio.run(main())
    effects = [line for line in log if line.startswith("effect")]
    assert len(effects) == len(raws)
    # Each effect is followed by its own mark before any other effect: a crash finds at most one
    # update done but not marked.
    for i, line in enumerate(log):
        if line.startswith("effect"):
            assert log[i + 1] == "mark " + line.removeprefix("effect "), log[i:i + 4]


def test_a_lane_runs_urgent_calls_first_and_batches_them() -> None:
    lane = Lane("test-lane")
    gate = threading.Event()
    order: list[str] = []
    batches: list[list[str]] = []

    def batch(items: list[str]) -> list[str]:
        batches.append(list(items))
        order.extend(items)
        return [item.upper() for item in items]

    started = threading.Event()

    def block() -> bool:
        started.set()
        return gate.wait(5)

    blocker = lane.submit(block)  # keeps the thread busy while the rest queue up
    # Once it runs: queued before it started, an urgent call would go first (and alone).
    assert started.wait(5)
    normal = lane.submit(order.append, "normal", priority=NORMAL)
    urgent = [lane.submit_batched(batch, f"mark{i}", priority=URGENT) for i in range(3)]
    gate.set()
    assert blocker.result(5) is True
    assert [f.result(5) for f in urgent] == ["MARK0", "MARK1", "MARK2"]
    normal.result(5)
    assert order == ["mark0", "mark1", "mark2", "normal"]
    assert batches == [["mark0", "mark1", "mark2"]]  # one call for the three


def test_a_lane_hands_errors_back_to_every_caller_of_a_batch() -> None:
    lane = Lane("test-lane")

    def broken(items: list[int]) -> list[int]:
        raise RuntimeError("store down")

    with pytest.raises(RuntimeError, match="store down"):
        lane.submit_batched(broken, 1).result(5)
    with pytest.raises(ValueError):
        lane.submit(int, "x").result(5)
    assert lane.submit(int, "7").result(5) == 7  # the thread survived


def test_a_hold_never_stalls_the_event_loop_past_its_bound() -> None:
    lane = Lane("test-lane")
    release = threading.Event()

    def slow(items: list[int]) -> list[int]:
        release.wait(10)  # a locked database
        return items

    async def main() -> list[float]:
        ticks: list[float] = []

        async def ticker() -> None:
            while not release.is_set():
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        tick_task = asyncio.create_task(ticker())
        await asyncio.sleep(0.02)
        calls = [asyncio.create_task(lane.run_batched(slow, i, hold_s=0.05)) for i in range(5)]
        await asyncio.sleep(0.5)  # the loop keeps running: only the first hold waited, then it is "stuck"
        release.set()
        assert sorted(await asyncio.gather(*calls)) == [0, 1, 2, 3, 4]
        await tick_task
        return ticks

    ticks = asyncio.run(main())
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 20 and max(gaps) < 0.3, max(gaps)


def test_marks_are_written_in_one_go_when_the_store_can(tmp_path: Path) -> None:
    from wacloud.delivery import open_store

    store = open_store(f"sqlite:///{tmp_path / 'marks.db'}")
    assert isinstance(store, DedupBatch)
    assert store.first_seen("done:a")
    assert first_seen_all(store, ["done:a", "done:b", "done:c"]) == [False, True, True]
    assert first_seen_all(store, ["done:c", "done:d"]) == [False, True]
    memory = MemoryDedupStore()  # no batch call: one first_seen per key
    assert not isinstance(memory, DedupBatch)
    assert first_seen_all(memory, ["x", "y", "x"]) == [True, True, False]
