"""The worker's store lanes on a real PostgreSQL: a due send's ``mark_sending`` has its own connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wacloud.delivery import JobState, open_store
from wacloud.delivery._lane import Forkable, StoreLane, fork_lane
from wacloud.delivery.model import NewJob
from wacloud.delivery.sqlite import SqliteStore
from wacloud.delivery.worker import Worker

from .conftest import Rig

HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


@pytest.fixture
def store_url(pg_store_url: str) -> Iterator[str]:
    """This module's rig runs on PostgreSQL only (SQLite has one writer per file: no second lane)."""
    yield pg_store_url


def test_a_postgres_fork_is_a_second_connection_to_the_same_store(pg_store_url: str) -> None:
    store = open_store(pg_store_url)
    assert isinstance(store, Forkable)
    fork = store.fork()
    try:
        with store.batch():  # a transaction open on the first connection, not committed yet
            ((job_id, _),) = store.add([NewJob("1000001", "16505550170", {"type": "text"}, False)], 1.0)
            assert fork.get(job_id) is None  # its own connection: the uncommitted job is not visible
        seen = fork.get(job_id)
        assert seen is not None and seen.state is JobState.QUEUED
    finally:
        fork.close()
        store.close()


def test_sqlite_has_no_second_lane(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "one.db")
    try:
        assert not isinstance(store, Forkable)
        lane = StoreLane(store, "test-main")
        assert asyncio.run(fork_lane(lane, "test-send")) is None
        lane.shutdown()
    finally:
        store.close()


async def test_a_due_send_does_not_wait_for_a_transaction_on_the_claims_connection(rig: Rig) -> None:
    ob = rig.outbox()
    job_id = ob.enqueue("+16505550191", {"type": "template", "template": HELLO})
    worker = Worker(ob.context(), concurrency=4, until_idle=True, stop=asyncio.Event())
    send_lane = await fork_lane(worker._lane, "test-send")
    assert send_lane is not None
    worker._send_lane = send_lane
    (job,) = ob.store.claim(ob.phone_number_id, 1, ob.clock(), lease_s=60, worker=worker.worker_id,
                            pair_interval_s=0.05, pair_burst=1)
    release = threading.Event()

    def busy() -> None:
        # What a slow claim does: the main lane's thread inside a transaction on the main connection.
        with ob.store.batch():
            ob.store.paused(ob.phone_number_id, ob.clock())
            release.wait(60)

    blocked = asyncio.ensure_future(worker.db(busy))
    try:
        await asyncio.wait_for(worker._fire([job]), 30)
        await asyncio.gather(*worker._in_flight)
        assert [a["wa_id"] for a in rig.attempts()] == ["16505550191"]
        assert not blocked.done()  # the send went out while the claims' connection was still busy
    finally:
        release.set()
        await blocked
    await worker._outcomes.flush()
    send_lane.shutdown()
    worker._lane.shutdown()
    assert ob.job(job_id).state is JobState.ACCEPTED  # type: ignore[union-attr]
