"""The event log on SQLite and PostgreSQL: written iff the change is, in order, no gaps, never skipped."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from wacloud.delivery import JobState, open_store
from wacloud.delivery.model import NewJob, Outcome
from wacloud.events import EventLog, NewEvent, UnknownEventType, append
from wacloud.gateway._db import Database

P = "100000000000001"
TEXT = {"messaging_product": "whatsapp", "to": "15550001111", "type": "text", "text": {"body": "hi"}}


def _log(url: str) -> tuple[Database, EventLog]:
    db = Database(url)
    return db, EventLog(db.run)


def test_job_changes_become_events_in_their_transaction(store_url: str) -> None:
    store = open_store(store_url)
    db, log = _log(store_url)
    try:
        now = time.time()
        ((job_id, _),) = store.add([NewJob(P, "15550001111", TEXT, False, campaign="c1")], now)
        (claimed,) = store.claim(P, 1, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=10)
        assert store.mark_sending([job_id], now, lease_s=60, worker="w") == [job_id]
        store.settle([Outcome(job_id, JobState.ACCEPTED, now + 1, wamid="wamid.A", worker="w")])
        store.apply_status("wamid.A", "delivered", now + 2, now=now + 2)
        events = log.read(0, 100)
        jobs = [e for e in events if e.type == "job.state_changed"]
        assert [e.data["state"] for e in jobs] == ["queued", "accepted", "sent", "delivered"]
        assert all(e.data["job_id"] == job_id and e.contact and e.contact.wa_id == "15550001111" for e in jobs)
        steps = [e.data["step"] for e in events if e.type == "campaign.progress"]
        assert steps == ["queued", "finished"]
        assert [e.position for e in events] == list(range(1, len(events) + 1))
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert claimed.id == job_id
    finally:
        store.close()
        db.close()


def test_a_failing_transaction_leaves_neither_the_change_nor_its_event(store_url: str) -> None:
    store = open_store(store_url)
    db, log = _log(store_url)

    def boom(tx: Any, stored: Any) -> None:
        raise RuntimeError("the hook failed")

    try:
        with pytest.raises(RuntimeError):
            store.add([NewJob(P, "15550001111", TEXT, False)], time.time(), on_stored=boom)
        assert store.find() == [] and log.read(0, 10) == [] and log.head() == 0
        # An event appended in a transaction that then fails is rolled back with it (the gateway's path).
        with pytest.raises(RuntimeError):
            db.run(lambda tx: (append(tx, [NewEvent("account.updated", "waba:1", {"x": 1})]),
                               (_ for _ in ()).throw(RuntimeError("later statement failed"))))
        assert log.read(0, 10) == []
        ((job_id, _),) = store.add([NewJob(P, "15550001111", TEXT, False)], time.time())
        (only,) = log.read(0, 10)
        assert only.data["job_id"] == job_id and only.position == 1 and only.seq == 1
    finally:
        store.close()
        db.close()


def test_unknown_types_are_refused(store_url: str) -> None:
    store = open_store(store_url)
    db, log = _log(store_url)
    try:
        with pytest.raises(UnknownEventType):
            db.run(lambda tx: append(tx, [NewEvent("no.such.type", P, {})]))
        assert log.head() == 0
    finally:
        store.close()
        db.close()


def test_filters_replay_from_time_and_retention(store_url: str) -> None:
    store = open_store(store_url)
    db, log = _log(store_url)
    try:
        base = time.time() - 1000
        for i in range(30):
            number = P if i % 3 else "waba:9"
            kind = "account.updated" if i % 2 else "template.status_changed"
            db.run(lambda tx, n=number, k=kind, i=i: append(tx, [NewEvent(k, n, {"i": i}, at=base + i)]))
        assert [e.data["i"] for e in log.read(10, 5)] == [10, 11, 12, 13, 14]
        only = log.read(0, 100, types=["account.updated"], numbers=["waba:9"])
        assert [e.data["i"] for e in only] == [i for i in range(30) if i % 2 and not i % 3]
        # Per number, seq counts that number's events only, from 1 with no gap.
        for number in (P, "waba:9"):
            seqs = [e.seq for e in log.read(0, 100, numbers=[number])]
            assert seqs == list(range(1, len(seqs) + 1))
        cursor = log.position_before(base + 20)
        assert [e.data["i"] for e in log.read(cursor, 100)] == list(range(20, 30))
        assert log.prune(base + 25) == 25
        assert log.oldest() == 26 and [e.data["i"] for e in log.read(0, 100)] == [25, 26, 27, 28, 29]
        db.run(lambda tx: append(tx, [NewEvent("account.updated", P, {"i": 30})]))
        (last,) = log.read(30, 10)
        assert last.position == 31  # positions keep counting after pruning
    finally:
        store.close()
        db.close()


def test_concurrent_writers_never_make_a_reader_skip(pg_store_url: str) -> None:
    """Several connections append while a reader follows ``position``: it sees every event, in order.

    Each writer holds its transaction open a moment after appending, the window in which an identity
    column would let a later position become visible first."""
    store = open_store(pg_store_url)
    _, log = _log(pg_store_url)
    writers, per_writer = 4, 60
    done = threading.Event()

    def write(w: int) -> None:
        db = Database(pg_store_url)
        try:
            for i in range(per_writer):
                def work(tx: Any, i: int = i) -> None:
                    append(tx, [NewEvent("account.updated", f"n{w % 2}", {"w": w, "i": i})])
                    tx.rows("SELECT pg_sleep(0.002)")
                db.run(work)
        finally:
            db.close()

    seen: list[int] = []

    def follow() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            batch = log.read(cursor, 50)
            seen.extend(e.position for e in batch)
            if batch:
                cursor = batch[-1].position
            elif finished:
                return

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=follow)
    reader.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join(timeout=60)
    try:
        total = writers * per_writer
        assert seen == list(range(1, total + 1))
        for number in ("n0", "n1"):
            seqs = [e.seq for e in log.read(0, total, numbers=[number])]
            assert seqs == list(range(1, total // 2 + 1))
    finally:
        store.close()


def test_a_large_campaign_is_one_transaction_with_its_events(store_url: str) -> None:
    store = open_store(store_url)
    db, log = _log(store_url)
    try:
        jobs = [NewJob(P, f"1555{i:07d}", TEXT, False, campaign="big") for i in range(1200)]
        store.add(jobs, time.time())
        queued = log.read(0, 2000, types=["job.state_changed"])
        assert len(queued) == 1200 and {e.data["state"] for e in queued} == {"queued"}
        (step,) = log.read(0, 10, types=["campaign.progress"])
        assert step.data == {"campaign": "big", "step": "queued", "jobs": 1200}
    finally:
        store.close()
        db.close()
