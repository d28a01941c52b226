"""The conversation log records a payload's statuses together (``History.record_statuses``) exactly as it
does one by one: the API's rows get their wamids (folding rows a status made first), unseen messages are
logged, statuses only move forward, a fallback's body replaces the queued one, every event is appended."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wacloud.events.log import NewEvent
from wacloud.gateway._db import Database
from wacloud.gateway._history import History, StatusRecord

P = "106540352242922"
TEXT = {"type": "text", "text": {"body": "your parcel is at the depot"}}
FALLBACK = {"type": "template", "template": {"name": "parcel_fallback", "language": {"code": "en"}}}


@pytest.fixture(params=["sqlite", "postgres"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/one.db", f"sqlite:///{tmp_path}/batch.db"
        return
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("CI is set but WACLOUD_TEST_PG_DSN is not")
        pytest.skip("WACLOUD_TEST_PG_DSN is not set")
    import psycopg

    schemas = ["gwhb_" + secrets.token_hex(6) for _ in range(2)]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    yield f"{dsn}{sep}options=-csearch_path%3D{schemas[0]}", f"{dsn}{sep}options=-csearch_path%3D{schemas[1]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def _prepare(history: History) -> None:
    for n in (1, 2, 3, 4):
        history.record_outbound(f"1650555000{n}", f"job{n}", TEXT)
    # A status that beat the API's row for job 2: logged by wamid alone, folded in when its job is known.
    history.record_status("16505550002", "wamid.2", "delivered", ts=1000.0)


def _records() -> list[StatusRecord]:
    def rec(n: int, wamid: str, status: str, job: str | None, ts: float, sent: Any = None) -> StatusRecord:
        event = NewEvent("message.status", P, {"wamid": wamid, "status": status}, at=ts)
        return StatusRecord(f"1650555000{n}", wamid, status, job_id=job, ts=ts, sent=sent, event=event)

    return [
        rec(1, "wamid.1", "sent", "job1", 1001.0),
        rec(2, "wamid.2", "sent", "job2", 1002.0),  # folds the stray row, keeps its further "delivered"
        rec(1, "wamid.1", "delivered", "job1", 1003.0, sent=FALLBACK),
        rec(3, "wamid.3", "read", "job3", 1004.0),
        rec(3, "wamid.3", "sent", "job3", 1005.0),  # late: never moves back
        rec(5, "wamid.5", "read", None, 1006.0),  # a message the log never saw (a bot's direct send)
        rec(4, "wamid.4b", "sent", "job4", 1007.0),
        rec(4, "wamid.4c", "sent", "job4", 1008.0),  # the same job resent: logged beside its row
        rec(1, "wamid.1", "read", "job1", 1009.0),
    ]


def _dump(history: History) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    rows = history.db.execute("SELECT wa_id, direction, type, wamid, job_id, status, summary, body, contact "
                              "FROM wacloud_gw_messages ORDER BY wa_id, COALESCE(wamid, ''), COALESCE(job_id, '')")
    events = history.db.execute("SELECT type, phone_number_id, data, at FROM events ORDER BY position")
    return [tuple(r) for r in rows], [tuple(r) for r in events]


def _events_table(db: Database) -> None:
    from wacloud.events.log import MIGRATION

    for statement in MIGRATION[1]:
        db.execute(statement.format(REAL="DOUBLE PRECISION"))


def test_a_batch_of_statuses_is_logged_as_one_at_a_time(urls: tuple[str, str]) -> None:
    one, batch = History(Database(urls[0])), History(Database(urls[1]))
    for history in (one, batch):
        _events_table(history.db)
        _prepare(history)
    for r in _records():
        one.record_status(r.wa_id, r.wamid, r.status, job_id=r.job_id, ts=r.ts, sent=r.sent, event=r.event)
    batch.record_statuses(_records())
    rows, events = _dump(one)
    assert (rows, events) == _dump(batch)
    by_wamid = {r[3]: r for r in rows}
    assert by_wamid["wamid.2"][4:6] == ("job2", "delivered")  # the stray folded into the API's row
    assert by_wamid["wamid.1"][2] == "template" and by_wamid["wamid.1"][5] == "read"
    assert by_wamid["wamid.3"][5] == "read" and by_wamid["wamid.5"][4] is None
    assert by_wamid["wamid.4c"][4] is None  # beside job 4's row, which holds wamid.4b
    assert len(events) == len(_records())
