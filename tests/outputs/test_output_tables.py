"""Migration 9's tables on both stores: relay cursors and the media download queue (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

import wacloud.delivery._sql_outputs as sql_outputs
from wacloud.delivery import EventCursors, MediaQueue, MediaTask, open_store
from wacloud.delivery.sql import SqlBase
from wacloud.events import Event, EventLog


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlBase]:
    """A migrated delivery store: a real SQLite file, or a fresh schema of the test PostgreSQL server."""
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
        assert isinstance(s, SqlBase)
        yield s
        s.close()
        return
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        pytest.skip('WACLOUD_TEST_PG_DSN is not set (run: eval "$(bash .ci/postgres.sh)")')
    import psycopg

    schema = "out_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    s = open_store(f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}")
    assert isinstance(s, SqlBase)
    try:
        yield s
    finally:
        s.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_cursors_advance_only_forwards_unless_reset(store: SqlBase) -> None:
    cursors = EventCursors(store)
    assert cursors.position("rabbitmq:x") == 0
    cursors.advance("rabbitmq:x", 40)
    cursors.advance("rabbitmq:x", 25)  # a late, slower relay never moves the cursor back
    assert cursors.position("rabbitmq:x") == 40
    assert cursors.position("other") == 0
    cursors.reset("rabbitmq:x", 10)  # a replay does
    assert cursors.position("rabbitmq:x") == 10


def _task(n: int) -> MediaTask:
    return MediaTask(media_id=f"9000{n}", wamid=f"wamid.in{n}", phone_number_id="106540352242922",
                     sender="15551234567", kind="image", mime_type="image/jpeg", sha256="c2hh")


def test_media_queue_claims_leases_retries_and_settles(store: SqlBase) -> None:
    queue = MediaQueue(store)
    assert queue.add(_task(1)) and queue.add(_task(2))
    assert not queue.add(_task(1))  # the same media id (a redelivered webhook) is queued once
    claimed = queue.claim(10, lease_s=300, now=1e12)
    assert [t.media_id for t in claimed] == ["90001", "90002"] and all(t.attempts == 1 for t in claimed)
    assert queue.claim(10, lease_s=300, now=1e12) == []  # leased: nobody else takes them
    # A lease that ran out (the worker died) gives the download back, its attempt counted.
    again = queue.claim(1, lease_s=300, now=1e12 + 301)
    assert [(t.media_id, t.attempts) for t in again] == [("90001", 2)]
    retried = queue.retry("90001", "ConnectionError: reset", at=1e12 + 400)
    assert retried is not None and retried.state == "pending" and retried.last_error == "ConnectionError: reset"
    stored = queue.stored("90002", "file:106540352242922/90002.jpg", 1234, "ab" * 32)
    assert stored is not None and stored.state == "stored" and stored.size == 1234 and stored.sha256 == "ab" * 32
    assert stored.last_error is None
    failed = queue.failed("90001", "gone")
    assert failed is not None and failed.state == "failed" and failed.attempts == 2
    assert queue.get("wamid.in2") == queue.get("90002")  # by message id or media id
    assert queue.get("wamid.unknown") is None
    assert queue.counts() == {"pending": 0, "stored": 1, "failed": 1, "skipped": 0}
    assert queue.claim(10, lease_s=1, now=1e13) == []  # settled downloads are never claimed again


def _media_events(store: SqlBase) -> list[Event]:
    def run(fn: object) -> object:
        with store._tx() as tx:
            return fn(tx)  # type: ignore[operator]

    return [e for e in EventLog(run).read(0, 100) if e.type.startswith("media.")]


def test_settling_a_download_writes_its_event_in_the_same_transaction(
        store: SqlBase, monkeypatch: pytest.MonkeyPatch) -> None:
    queue = MediaQueue(store)
    for n in (1, 2, 3):
        queue.add(_task(n))
    queue.claim(10, lease_s=300, now=1e12)
    queue.retry("90003", "ConnectionError: reset", at=1e12)  # an attempt, not an outcome: no event
    assert _media_events(store) == []
    stored = queue.stored("90001", "file:106540352242922/90001.jpg", 1234, "ab" * 32)
    assert stored is not None
    (event,) = _media_events(store)
    assert event.type == "media.stored" and event.phone_number_id == "106540352242922"
    assert event.data == sql_outputs.media_event_data(stored) and event.data["sha256"] == "ab" * 32
    assert event.contact is not None and event.contact.wa_id == "15551234567"
    # A worker whose lease ran out settles what another already settled: no change, no second event.
    assert queue.failed("90001", "late worker") is None
    assert queue.get("90001") == stored and len(_media_events(store)) == 1

    def broken(tx: object, events: object) -> None:
        raise RuntimeError("event log unavailable")

    monkeypatch.setattr(sql_outputs, "append", broken)
    with pytest.raises(Exception, match="event log unavailable"):
        queue.failed("90002", "gone")
    pending = queue.get("90002")
    assert pending is not None and pending.state == "pending"  # the event failed, so did the change
    monkeypatch.undo()
    failed = queue.failed("90002", "gone")
    assert failed is not None and failed.state == "failed"
    assert [(e.type, e.data["media_id"], e.data.get("error")) for e in _media_events(store)] == [
        ("media.stored", "90001", None), ("media.failed", "90002", "gone")]


def test_the_status_answer_shows_every_task_field_but_the_location() -> None:
    import dataclasses

    from wacloud.gateway._kept_media import KeptMediaOut

    fields = {f.name for f in dataclasses.fields(MediaTask)}
    assert set(KeptMediaOut.model_fields) == fields - {"location"}  # where it is stored stays internal
