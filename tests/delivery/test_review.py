"""Regression tests for bugs found in review: each fails on the code before its fix."""

from __future__ import annotations

import time

from wacloud.delivery import InFlightPolicy, JobState, Store
from wacloud.delivery.model import BEFORE_ACCEPT, Outcome

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
