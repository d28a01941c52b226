"""Migration 9's tables on both stores: relay cursors and the media download queue (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from wacloud.delivery import EventCursors, MediaQueue, MediaTask, open_store
from wacloud.delivery.sql import SqlBase


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


def test_the_status_answer_shows_every_task_field_but_the_location() -> None:
    import dataclasses

    from wacloud.gateway._kept_media import KeptMediaOut

    fields = {f.name for f in dataclasses.fields(MediaTask)}
    assert set(KeptMediaOut.model_fields) == fields - {"location"}  # where it is stored stays internal
