"""Writers to one SQLite file in one process queue on a lock: the delivery worker's first, one at a time.

Before it they waited inside SQLite's busy handler, which sleeps between tries (up to 100 ms), so the file
sat free while writers slept. These tests check the queue's rules, not its speed (that is in
``benchmarks/serve_campaign.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from wacloud.delivery import StoreError
from wacloud.delivery._priority import PriorityLock
from wacloud.delivery.sqlite import SqliteStore, writer_lock


def _until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.002)


def test_an_urgent_writer_goes_before_those_already_waiting() -> None:
    lock = PriorityLock()
    order: list[str] = []

    def writer(name: str, urgent: bool) -> None:
        assert lock.acquire(10, urgent=urgent)
        order.append(name)
        lock.release()

    assert lock.acquire(10)
    normal = threading.Thread(target=writer, args=("normal", False))
    normal.start()
    _until(lambda: lock._waiting[False] == 1, "the normal writer to wait")
    urgent = threading.Thread(target=writer, args=("urgent", True))
    urgent.start()
    _until(lambda: lock._waiting[True] == 1, "the urgent writer to wait")
    lock.release()
    normal.join(10)
    urgent.join(10)
    assert order == ["urgent", "normal"]


def test_the_lock_is_reentrant_and_a_wait_ends_at_its_timeout() -> None:
    lock = PriorityLock()
    assert lock.acquire(1) and lock.acquire(1)  # the same thread again: re-entered
    got: list[bool] = []
    t = threading.Thread(target=lambda: got.append(lock.acquire(0.05)))
    t.start()
    t.join(10)
    assert got == [False]
    lock.release()
    t = threading.Thread(target=lambda: got.append(lock.acquire(0.05)))
    t.start()
    t.join(10)
    assert got == [False, False]  # still held once
    lock.release()
    assert lock.acquire(0.05)  # free: a waiter that timed out left nothing behind
    lock.release()


def test_one_lock_per_file_whatever_the_path_says(tmp_path: Path) -> None:
    a = writer_lock(str(tmp_path / "x.db"))
    b = writer_lock(f"{tmp_path}/./x.db")
    assert a is not None and a is b
    assert writer_lock(":memory:") is None
    assert writer_lock(str(tmp_path / "y.db")) is not a


def test_a_writer_kept_waiting_past_its_busy_timeout_fails_as_a_busy_database(tmp_path: Path) -> None:
    holder = SqliteStore(tmp_path / "w.db")
    waiter = SqliteStore(tmp_path / "w.db", busy_timeout_s=0.2)
    try:
        inside, leave = threading.Event(), threading.Event()

        def hold() -> None:
            with holder.batch():
                inside.set()
                leave.wait(10)

        t = threading.Thread(target=hold)
        t.start()
        assert inside.wait(10)
        with pytest.raises(StoreError) as caught:
            waiter.pause("1", time.time() + 60, "test")
        assert caught.value.transient
        leave.set()
        t.join(10)
        waiter.pause("1", time.time() + 60, "test")  # the file is free again: the write goes through
    finally:
        holder.close()
        waiter.close()


def test_the_delivery_workers_store_thread_writes_first(tmp_path: Path) -> None:
    import asyncio

    from wacloud.delivery import Outbox
    from wacloud.delivery._priority import is_urgent
    from wacloud.delivery.worker import Worker

    async def check() -> tuple[bool, bool]:
        # The client is never called: the worker is only built.
        outbox = Outbox(SqliteStore(tmp_path / "u.db"), object(), phone_number_id="1000001")
        try:
            worker = Worker(outbox.context(), concurrency=1, until_idle=True, stop=asyncio.Event())
            in_store_thread = await asyncio.get_running_loop().run_in_executor(worker._exec, is_urgent)
            return in_store_thread, is_urgent()
        finally:
            outbox.close()

    assert asyncio.run(check()) == (True, False)  # the worker's store thread only, not the event loop's
