"""A job's history: an append-only record written with each change of the job, in recorded order."""

from __future__ import annotations

import re
import time

import pytest

from wacloud.delivery import JobEvent, JobState, Outbox, RetryPolicy, Store, open_store
from wacloud.delivery.model import AFTER_ACCEPT, NewJob, Outcome
from wacloud.delivery.sql import MIGRATIONS

from .conftest import FAST_POLICY, Rig

P = "106540352242922"
TEXT = {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "hi"}}
HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


def _send(store: Store, job_id: str, now: float) -> None:
    (job,) = store.claim(P, 1, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=10)
    assert job.id == job_id
    assert store.mark_sending([job_id], now, lease_s=60, worker="w") == [job_id]


def steps(events: list[JobEvent]) -> list[tuple[str, int | None, int]]:
    return [(e.state, e.code, e.attempt) for e in events]


def test_a_jobs_life_is_recorded_in_the_order_it_happened(store: Store) -> None:
    now = time.time()
    ((job_id, _),) = store.add([NewJob(P, "16505550001", TEXT, False)], now)
    _send(store, job_id, now)
    store.settle([Outcome(job_id, JobState.QUEUED, now + 0.1, not_before=now, error_code=131000,
                          error_details="Something went wrong", counter="failures", worker="w")])
    _send(store, job_id, now + 0.2)
    store.settle([Outcome(job_id, JobState.ACCEPTED, now + 0.3, wamid="wamid.H1", worker="w")])
    # Meta's timestamps are whole seconds: "sent" may carry an earlier time than our accepted_at.
    store.apply_status("wamid.H1", "sent", float(int(now)), now=now + 0.4)
    store.apply_status("wamid.H1", "sent", float(int(now)), now=now + 0.4)  # a duplicate: nothing new
    store.apply_status("wamid.H1", "read", float(int(now)) + 2, now=now + 0.5)  # read implies delivered
    store.apply_status("wamid.H1", "delivered", float(int(now)) + 1, now=now + 0.6)  # late: kept, no event
    history = store.history(job_id)
    assert steps(history) == [("queued", None, 0), ("queued", 131000, 1), ("accepted", None, 2),
                              ("sent", None, 2), ("delivered", None, 2), ("read", None, 2)]
    assert history[1].detail == "Something went wrong"
    assert history[3].at == float(int(now)) and history[3].at < history[2].at  # recorded order, not time
    assert [e.id for e in history] == sorted(e.id for e in history)
    assert all(e.job_id == job_id for e in history)
    assert Outbox(store, phone_number_id=P).history(job_id) == history


def test_an_outcome_that_does_not_land_records_nothing(store: Store) -> None:
    now = time.time()
    ((job_id, _),) = store.add([NewJob(P, "16505550002", TEXT, False)], now)
    _send(store, job_id, now)
    store.settle([Outcome(job_id, JobState.ACCEPTED, now, wamid="wamid.H2")])
    store.settle([Outcome(job_id, JobState.FAILED, now, error_code=1)])  # compare-and-set: not in hand
    assert [e.state for e in store.history(job_id)] == ["queued", "accepted"]
    store.settle([Outcome(job_id, JobState.FAILED, now + 1, error_code=131026, error_title="Undeliverable",
                          expect=AFTER_ACCEPT, count_attempt=False)])
    assert steps(store.history(job_id))[-1] == ("failed", 131026, 1)
    assert store.history(job_id)[-1].detail == "Undeliverable"
    assert store.history("nope") == [] and store.history("99999999999999999999") == []


def test_a_lost_in_flight_call_is_recorded_as_uncertain(store: Store) -> None:
    now = time.time()
    ((job_id, _),) = store.add([NewJob(P, "16505550003", TEXT, False)], now)
    _send(store, job_id, now - 120)
    store.recover(P, now, policy="at_most_once")  # type: ignore[arg-type]
    last = store.history(job_id)[-1]
    assert (last.state, last.attempt) == ("uncertain", 1) and last.detail


async def test_the_worker_records_the_fallback_step(rig: Rig) -> None:
    ob = rig.outbox()
    job_id = ob.enqueue("+16505551011", {"type": "text", "text": {"body": "parcel"}}, fallback_template=HELLO)
    await ob.run(until_idle=True)
    history = ob.history(job_id)
    assert [e.state for e in history][:3] == ["queued", "fallback", "accepted"]
    assert history[1].code == 131047 and history[1].detail == "window closed → sent fallback template hello_world"


async def test_a_refused_text_then_its_fallback_are_both_recorded(rig: Rig) -> None:
    ob = rig.outbox(enforce_window=False, policy=RetryPolicy(**FAST_POLICY))  # type: ignore[arg-type]
    job_id = ob.enqueue("+16505551012", {"type": "text", "text": {"body": "parcel"}}, fallback_template=HELLO)
    await ob.run(until_idle=True)
    rig.wait(lambda: bool(ob.job(job_id).used_fallback), what="fallback queued")  # type: ignore[union-attr]
    await ob.run(until_idle=True)
    rig.wait(lambda: ob.job(job_id).state is JobState.READ, what="read")  # type: ignore[union-attr]
    states = [e.state for e in ob.history(job_id)]
    first = states.index("accepted")
    assert states[first + 1:].count("fallback") == 1 and "accepted" in states[states.index("fallback"):]
    fallback = next(e for e in ob.history(job_id) if e.state == "fallback")
    assert fallback.code == 131047 and "hello_world" in (fallback.detail or "")


def test_an_old_store_gets_its_history_from_the_timestamps(store_url: str) -> None:
    s = open_store(store_url)
    now = time.time()
    ((job_id, _),) = s.add([NewJob(P, "16505550004", TEXT, False)], now)
    _send(s, job_id, now)
    s.settle([Outcome(job_id, JobState.ACCEPTED, now + 1, wamid="wamid.OLD", worker="w")])
    s.apply_status("wamid.OLD", "delivered", now + 2, now=now + 2)
    with s._tx() as tx:  # type: ignore[attr-defined]
        # As version 5 left it: no job_events table.
        tx.run("DROP TABLE job_events")
        # ...and no contact ids (version 7): contacts keyed by phone number.
        tx.run("DROP TABLE contact_ids")
        tx.run("DROP TABLE contacts")
        tx.run("CREATE TABLE contacts (phone_number_id TEXT NOT NULL, wa_id TEXT NOT NULL, last_inbound REAL, "
               "marketing_opt_out INTEGER NOT NULL DEFAULT 0, preference_at REAL, "
               "PRIMARY KEY (phone_number_id, wa_id))")
        tx.run("DELETE FROM schema_version WHERE version > 5")
        # ... and without what migrations 8 and later added, read from the migrations themselves.
        for version, statements in reversed(MIGRATIONS):
            if version < 8:
                continue
            for st in reversed(statements):
                if m := re.match(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", st):
                    tx.run(f"DROP TABLE IF EXISTS {m[1]}")
                elif m := re.match(r"CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?(\w+) ON jobs", st):
                    tx.run(f"DROP INDEX {m[1]}")
                elif (m := re.match(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", st)) and m[1] != "contacts":
                    tx.run(f"ALTER TABLE {m[1]} DROP COLUMN {m[2]}")  # (contacts is rebuilt as version 6 had it)
    s.close()
    upgraded = open_store(store_url)
    try:
        assert [(e.state, e.at) for e in upgraded.history(job_id)] == [
            ("queued", pytest.approx(now)), ("accepted", pytest.approx(now + 1)),
            ("sent", pytest.approx(now + 2)), ("delivered", pytest.approx(now + 2))]
    finally:
        upgraded.close()


#: Text that PostgreSQL's array syntax gives a meaning to (quotes, backslashes, braces, commas, NULL, spaces).
AWKWARD = ['say "hi"\\n, {braces}', "NULL", '""', " spaced ", "comma,separated", "back\\slash", "ünï ✓"]


def test_history_events_and_early_statuses_keep_text_and_times_exactly(store_url: str) -> None:
    # Several jobs settle in one call (one statement per column set on PostgreSQL): each text and time
    # comes back exactly as given, whatever characters it holds.
    from wacloud.events import EventLog
    from wacloud.gateway._db import Database

    store = open_store(store_url)
    db = Database(store_url)
    try:
        now = 1796647424.182913  # a time with every digit of a double in use
        added = store.add([NewJob(P, f"1650555{i:04d}", TEXT, False) for i in range(2 * len(AWKWARD))], now)
        ids = [job_id for job_id, _ in added]
        jobs = store.claim(P, len(ids), now, lease_s=60, worker="w", pair_interval_s=6.0, pair_burst=1)
        assert sorted(j.id for j in jobs) == sorted(ids)
        assert sorted(store.mark_sending(ids, now, lease_s=60, worker="w", pair_interval_s=6.0)) == sorted(ids)
        failed, accepted = ids[:len(AWKWARD)], ids[len(AWKWARD):]
        wamids = [f"wamid.{text}" for text in AWKWARD]
        store.apply_status(wamids[0], "delivered", now + 1, now=now + 1)  # before its send's answer: kept
        early = store.settle(
            [Outcome(job_id, JobState.FAILED, now + i / 7, error_code=131026, error_details=text, worker="w")
             for i, (job_id, text) in enumerate(zip(failed, AWKWARD, strict=True))]
            + [Outcome(job_id, JobState.ACCEPTED, now + i / 3, wamid=wamid, worker="w")
               for i, (job_id, wamid) in enumerate(zip(accepted, wamids, strict=True))])
        assert [(e.wamid, e.status, e.ts) for e in early] == [(wamids[0], "delivered", now + 1)]
        for i, (job_id, text) in enumerate(zip(failed, AWKWARD, strict=True)):
            assert [(e.state, e.detail, e.at) for e in store.history(job_id)][-1] == ("failed", text, now + i / 7)
        for i, (job_id, wamid) in enumerate(zip(accepted, wamids, strict=True)):
            job = store.get(job_id)
            assert job is not None and job.wamid == wamid and job.accepted_at == now + i / 3
        logged = {e.data["job_id"]: e for e in EventLog(db.run).read(0, 1000) if e.type == "job.state_changed"}
        for i, (job_id, text) in enumerate(zip(failed, AWKWARD, strict=True)):
            event = logged[job_id]
            assert (event.data["state"], event.data["detail"], event.at) == ("failed", text, now + i / 7)
            assert event.data["to"] == f"1650555{i:04d}"
    finally:
        db.close()
        store.close()
