"""The engine's query methods the gateway reads (instead of raw SQL on the engine's tables)."""

from __future__ import annotations

import time

import pytest

from wacloud.delivery import JobState, Outbox, Store
from wacloud.delivery.model import NewJob, Outcome

P = "106540352242922"
TEXT = {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "hi"}}


def _accepted(store: Store, to: str, wamid: str, now: float) -> str:
    (job_id, _), = store.add([NewJob(P, to, TEXT, False)], now)
    (job,) = store.claim(P, 1, now, lease_s=60, worker="w", pair_interval_s=6.0, pair_burst=1)
    store.mark_sending([job.id], now, lease_s=60, worker="w")
    store.settle([Outcome(job.id, JobState.ACCEPTED, now, wamid=wamid)])
    return job_id


def test_job_by_wamid(store: Store) -> None:
    now = time.time()
    job_id = _accepted(store, "16505550001", "wamid.Q1", now)
    found = store.job_by_wamid("wamid.Q1")
    assert found is not None and found.id == job_id and found.wamid == "wamid.Q1"
    assert store.job_by_wamid("wamid.nope") is None
    outbox = Outbox(store, phone_number_id=P)
    assert outbox.job_by_wamid("wamid.Q1") == found
    assert outbox.job_by_wamid("wamid.nope") is None


def test_booked_until_and_free_slots(store: Store) -> None:
    outbox = Outbox(store, phone_number_id=P, mps=10, utilisation=1.0)
    assert store.booked_until(P) is None
    assert outbox.free_slots() == pytest.approx(10.0)
    now = time.time()
    store.reserve(P, 5, now, 0.1)  # half a second booked
    until = store.booked_until(P)
    assert until is not None and until == pytest.approx(now + 0.5, abs=0.05)
    assert 3.0 <= outbox.free_slots() <= 5.5


def test_recovery_queries_are_part_of_the_store_contract(store: Store) -> None:
    now = time.time()
    store.add([NewJob(P, "1", TEXT, False, campaign="c1")], now)
    store.claim(P, 1, now, lease_s=1, worker="gone", pair_interval_s=6.0, pair_burst=1)
    assert store.lease_holders(P, now) == [("gone", 1, pytest.approx(now + 1))]
    assert store.expire_leases(P, ["gone"], now, ["claimed"]) == 1
    store.recover(P, now + 0.01, policy="at_most_once")  # type: ignore[arg-type]
    assert store.recovered(campaign="c1") == {"released": 1}
    assert Outbox(store, phone_number_id=P).recovered("c1") == {"released": 1}
