"""Regression tests for bugs found in review: each fails on the code before its fix."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import pytest

from wacloud.delivery import InFlightPolicy, JobState, Outbox, RetryPolicy, Store, open_store
from wacloud.delivery.campaign import recipients_from
from wacloud.delivery.model import BEFORE_ACCEPT, EarlyStatus, Outcome
from wacloud.errors import ValidationError

from .test_store import P, claim, new


def _resend_race(store: Store) -> tuple[str, float]:
    """Worker A's call outlives its lease; the job is queued again (at_least_once) and B takes it."""
    now = time.time()
    (job_id, _), = store.add([new()], now)
    assert claim(store, now=now, worker="A", lease_s=1.0) == [job_id]
    assert store.mark_sending([job_id], now, lease_s=1.0, worker="A") == [job_id]
    later = now + 10
    assert store.recover(P, later, InFlightPolicy.AT_LEAST_ONCE).resent == 1
    return job_id, later


def test_a_late_error_answer_does_not_overwrite_a_job_another_worker_took(store: Store) -> None:
    job_id, later = _resend_race(store)
    assert claim(store, now=later, worker="B") == [job_id]
    assert store.mark_sending([job_id], later, lease_s=60.0, worker="B") == [job_id]
    # A's answer finally comes back: an error. The job is B's now, its call in flight: keep it.
    store.settle([Outcome(job_id, JobState.QUEUED, later + 1, not_before=later + 1, error_code=131000,
                          counter="failures", worker="A")])
    store.settle([Outcome(job_id, JobState.FAILED, later + 1, error_code=131026, worker="A")])
    job = store.get(job_id)
    assert job is not None and job.state is JobState.SENDING and job.failures == 0
    assert claim(store, now=later + 2, worker="C") == []  # nobody sends it a third time
    store.settle([Outcome(job_id, JobState.ACCEPTED, later + 3, wamid="wamid.B", worker="B",
                          expect=BEFORE_ACCEPT)])
    job = store.get(job_id)
    assert job is not None and job.state is JobState.ACCEPTED and job.wamid == "wamid.B"


def test_a_late_accepted_answer_stops_the_resend(store: Store) -> None:
    job_id, later = _resend_race(store)
    # A's call did go out: record it rather than send the message a second time.
    store.settle([Outcome(job_id, JobState.ACCEPTED, later + 1, wamid="wamid.A", worker="A",
                          expect=BEFORE_ACCEPT)])
    job = store.get(job_id)
    assert job is not None and job.state is JobState.ACCEPTED and job.wamid == "wamid.A"
    assert claim(store, now=later + 2, worker="B") == []


def test_a_csv_row_without_a_phone_is_listed_not_fatal(store_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text("phone,name\n+16505550001,Ana\n,NoPhone\n+16505550002,Bo\n", encoding="utf-8")
    ob = Outbox(store_url, phone_number_id=P)
    try:
        campaign = ob.broadcast("hello_world", csv, campaign="c")
        assert campaign.queued == 2  # the rows around the bad one are all queued
        assert [row for row, _ in campaign.invalid] == [2]
        # An iterable with a bad item: the same, the bad item is listed by its position.
        again = ob.broadcast("hello_world", ["+16505550003", object(), "+16505550004"], campaign="d")
        assert again.queued == 2 and [row for row, _ in again.invalid] == [2]
    finally:
        ob.close()


def test_backoff_never_overflows_with_a_large_retry_budget() -> None:
    policy = RetryPolicy(max_failures=100_000, max_throttles=100_000, max_pair_retries=100_000)
    assert 30.0 <= policy.backoff(5000) <= 60.0
    assert policy.pair_delay(5000) == policy.pair_cap_s
    assert policy.decide(131000, 500, failures=5000).delay_s <= 60.0


def test_an_undecodable_or_broken_csv_gets_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(b"phone,name\n+16505550001,Jos\xe9\n")
    with pytest.raises(ValidationError, match=r"latin1\.csv"):
        list(recipients_from(bad))
    nul = tmp_path / "huge.csv"
    nul.write_text("phone,name\n+16505550001,\"" + "x" * (csv.field_size_limit() + 1) + "\"\n")
    with pytest.raises(ValidationError, match=r"huge\.csv"):
        list(recipients_from(nul))


def test_a_status_racing_its_send_answer_is_never_stranded(store_url: str) -> None:
    # The webhook (one connection) and the worker's accepted answer (another) for the same wamid
    # at the same moment: the status must reach the job, directly or as an early status replayed.
    hooks, writer = open_store(store_url), open_store(store_url)
    n = 150
    now = time.time()
    ids = [i for i, _ in writer.add([new(f"1650555{i:04d}") for i in range(n)], now)]
    for _ in range(0, n, 50):
        got = claim(writer, 50, now, worker="w")
        writer.mark_sending(got, now, lease_s=60, worker="w")
    barrier = threading.Barrier(2)
    early: list[EarlyStatus] = []

    def webhooks() -> None:
        for k in range(n):
            barrier.wait()
            hooks.apply_status(f"wamid.R{k}", "sent", now, now=now)

    t = threading.Thread(target=webhooks)
    t.start()
    for k, job_id in enumerate(ids):
        barrier.wait()
        early += writer.settle([Outcome(job_id, JobState.ACCEPTED, now, wamid=f"wamid.R{k}", worker="w")])
    t.join()
    for status in early:  # what the worker does with the early statuses settle hands back
        writer.apply_status(status.wamid, status.status, status.ts or now, now=now)
        writer.forget_early(status.wamid, status.status)
    states = {j.state for j in writer.find(limit=n)}
    stranded = writer.prune(now + 10**6, dedup_ttl_s=10**7, early_ttl_s=0)
    hooks.close()
    writer.close()
    assert (states, stranded) == ({JobState.SENT}, 0)


@pytest.mark.parametrize("when", [float("nan"), float("inf"), "nan"])
def test_a_non_finite_not_before_is_refused(store_url: str, when: object) -> None:
    # NaN broke the NOT NULL column (SQLite) or was stored and never came due (PostgreSQL), so
    # run(until_idle=True) never ended.
    ob = Outbox(store_url, phone_number_id=P)
    try:
        with pytest.raises(ValidationError, match="not a time"):
            ob.enqueue("+16505550001", {"type": "text", "text": {"body": "hi"}}, not_before=when)  # type: ignore[arg-type]
        assert ob.jobs() == []
    finally:
        ob.close()


def test_a_failed_status_applies_its_effects_to_the_jobs_own_number(store_url: str) -> None:
    # One receiver feeding one outbox, but the store holds a job of another business number
    # (statuses are matched by wamid only): the opt-out belongs to that job's number.
    other = "222222222222222"
    a, b = Outbox(store_url, phone_number_id=P), Outbox(store_url, phone_number_id=other)
    try:
        job_id = b.enqueue("+16505550500", {"type": "template", "template": {
            "name": "hello_world", "language": {"code": "en_US"}}}, category="marketing")
        now = time.time()
        (job,) = b.store.claim(other, 1, now, lease_s=60, worker="w", pair_interval_s=6.0, pair_burst=1)
        b.store.mark_sending([job.id], now, lease_s=60, worker="w")
        b.store.settle([Outcome(job_id, JobState.ACCEPTED, now, wamid="wamid.OTHER")])
        a.apply_status("wamid.OTHER", "failed", now, error_code=131050)
        assert b.job(job_id).state is JobState.FAILED  # type: ignore[union-attr]
        assert b.store.contacts(other, ["16505550500"])["16505550500"].marketing_opt_out
        assert a.store.contacts(P, ["16505550500"]) == {}
    finally:
        a.close()
        b.close()


def test_mark_sending_retried_after_a_lost_commit_answer_still_sends(store: Store) -> None:
    # PostgreSQL committed mark_sending but the connection dropped before the answer; db_retry
    # calls it again with the same arguments. It must answer the same ids (else the jobs sit in
    # 'sending', never sent, and the sweep reports them uncertain); a later call (another
    # dispatch, a stale copy of the job) must not.
    now = time.time()
    (job_id, _), = store.add([new()], now)
    claim(store, now=now, worker="A")
    assert store.mark_sending([job_id], now, lease_s=60, worker="A") == [job_id]
    assert store.mark_sending([job_id], now, lease_s=60, worker="A") == [job_id]
    assert store.mark_sending([job_id], now + 1, lease_s=60, worker="A") == []
    assert store.mark_sending([job_id], now, lease_s=60, worker="B") == []


def test_many_processes_opening_a_fresh_sqlite_file_at_once_all_succeed(tmp_path: Path) -> None:
    # Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is locked"
    # at once (no busy wait) to a connection that would deadlock: a worker failed to start.
    for round_ in range(30):
        url = f"sqlite:///{tmp_path}/fresh{round_}.db"
        barrier = threading.Barrier(16)
        failures: list[BaseException] = []

        def open_one(url: str = url, barrier: threading.Barrier = barrier,
                     failures: list[BaseException] = failures) -> None:
            barrier.wait()
            try:
                open_store(url).close()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_one) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
