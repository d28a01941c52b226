"""The conversation log row of a queued job is written in the outbox's transaction: both or neither."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wacloud.delivery import Outbox, Transaction, open_store
from wacloud.delivery.model import NewJob
from wacloud.gateway._db import Database
from wacloud.gateway._history import History

P = "106540352242922"
TEXT = {"type": "text", "text": {"body": "your parcel is at the depot"}}
HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/wacloud.db"
        return
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        pytest.skip("WACLOUD_TEST_PG_DSN is not set")
    import psycopg

    schema = "gwatom_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_the_log_row_commits_with_the_job(db_url: str) -> None:
    history = History(Database(db_url))
    outbox = Outbox(open_store(db_url), phone_number_id=P)
    try:
        job_id = outbox.enqueue("+16505551001", TEXT, key="k1", on_stored=history.log_queued)
        (row,) = history.messages("16505551001")
        assert (row.job_id, row.status, row.type, row.direction) == (job_id, "queued", "text", "out")
        # The same key again: no second job, no second row.
        assert outbox.enqueue("+16505551001", TEXT, key="k1", on_stored=history.log_queued) == job_id
        assert len(history.messages("16505551001")) == 1
        campaign = outbox.broadcast(HELLO, ["+16505551002", "+16505551003"], on_stored=history.log_queued)
        logged = {m.job_id for wa in ("16505551002", "16505551003") for m in history.messages(wa)}
        assert logged == set(campaign.job_ids)
    finally:
        outbox.close()


def test_a_failing_log_write_leaves_no_job(db_url: str) -> None:
    history = History(Database(db_url))
    outbox = Outbox(open_store(db_url), phone_number_id=P)

    def log_then_fail(tx: Transaction, stored: Any) -> None:
        history.log_queued(tx, stored)
        raise RuntimeError("the log write failed")

    try:
        with pytest.raises(RuntimeError):
            outbox.enqueue("+16505551004", TEXT, on_stored=log_then_fail)
        assert outbox.jobs() == [] and history.messages("16505551004") == []
        # The store-level hook sees each job, its id, and whether it is new.
        seen: list[tuple[str, bool]] = []
        outbox.store.add([NewJob(P, "1", {"type": "text", "text": {"body": "x"}}, False, key="a")], 0.0,
                         on_stored=lambda tx, stored: seen.extend((i, c) for _, i, c in stored))
        assert [c for _, c in seen] == [True]
    finally:
        outbox.close()
