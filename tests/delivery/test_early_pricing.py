"""A status that beats its send's answer into the store keeps its ``pricing``: the job's cost is recorded
when the status is replayed, as for a status that came after.

Before, the price of an early status was dropped (no job to put it on yet): a campaign whose webhooks
outran its settle (a slow or retried store write) reported fewer billable messages than Meta charged.
On SQLite and the real PostgreSQL, through the webhook adapters (``handle_statuses``, ``handle_update``)
with statuses parsed from a signed-webhook body, then each replay path: the worker's batch after its
settle (``replay_all``) and the sweep after a crash (``run``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from wacloud.delivery import JobState, Outbox, open_store
from wacloud.delivery.model import Outcome
from wacloud.delivery.statuses import JoinableStore, handle_statuses, handle_update
from wacloud.webhooks import parse
from wacloud.webhooks.updates import StatusUpdate

from .conftest import Rig

PID = "106540352242922"
TO = "16505550177"
MARKETING = {"billable": True, "pricing_model": "PMP", "category": "marketing", "type": "regular"}
HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


def _statuses(wamid: str, *steps: str, pricing: dict[str, Any] | None = MARKETING) -> list[StatusUpdate]:
    """Status updates as a webhook body carries them (parsed by the receiver's parser)."""
    now = int(time.time())
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PID},
        "statuses": [{"id": wamid, "status": step, "timestamp": str(now + i), "recipient_id": TO,
                      **({"pricing": pricing} if pricing is not None else {})} for i, step in enumerate(steps)],
    }}]}]}
    updates = parse(json.dumps(body).encode())
    assert all(isinstance(u, StatusUpdate) for u in updates)
    return [u for u in updates if isinstance(u, StatusUpdate)]


def _in_flight(outbox: Outbox, worker: str) -> str:
    """A job claimed and being sent by ``worker``: its answer is not stored yet."""
    now = outbox.clock()
    job_id = outbox.enqueue(TO, {"type": "template", "template": HELLO}, category="marketing")
    (job,) = outbox.store.claim(outbox.phone_number_id, 1, now, lease_s=60, worker=worker, pair_interval_s=0.0,
                                pair_burst=1)
    outbox.store.mark_sending([job.id], now, lease_s=60, worker=worker)
    return job_id


def _priced(outbox: Outbox) -> list[tuple[str, Any, float | None]]:
    store = outbox.store
    assert isinstance(store, JoinableStore)
    rows = store.transact(lambda tx: tx.rows("SELECT wamid, pricing, cost FROM jobs WHERE wamid IS NOT NULL"))
    return [(str(w), None if p is None else json.loads(p), None if c is None else float(c)) for w, p, c in rows]


def test_the_price_of_a_status_that_beat_the_answer_is_recorded_on_replay(store_url: str) -> None:
    outbox = Outbox(open_store(store_url), phone_number_id=PID)
    try:
        job_id = _in_flight(outbox, "w")
        changes = handle_statuses(outbox, _statuses("wamid.EARLY", "sent", "delivered"))
        assert [c.job for c in changes] == [None, None]  # kept as early: no job has the wamid yet
        assert _priced(outbox) == []
        early = outbox.store.settle([Outcome(job_id, JobState.ACCEPTED, outbox.clock(), wamid="wamid.EARLY",
                                             worker="w")])
        assert sorted(e.status for e in early) == ["delivered", "sent"]
        assert all(e.pricing == MARKETING and e.wa_id == TO for e in early)
        outbox._settler().replay_all(early)  # what the worker's writer does after its settle
        job = outbox.job(job_id)
        assert job is not None and job.state is JobState.DELIVERED
        price = outbox.rate_card.rate("marketing", TO)
        assert price > 0
        assert _priced(outbox) == [("wamid.EARLY", MARKETING, pytest.approx(price))]
        assert outbox.campaigns.costs("campaign")[0].billable == 1
        assert outbox.store.early_for_jobs(PID) == []  # forgotten once applied
    finally:
        outbox.close()


def test_a_lone_early_status_keeps_its_price_too(store_url: str) -> None:
    # ``handle_update``: one update at a time (a receiver without a batch dispatcher), and a status with no
    # pricing (a read) beside it records nothing.
    outbox = Outbox(open_store(store_url), phone_number_id=PID)
    try:
        job_id = _in_flight(outbox, "w")
        (sent,) = _statuses("wamid.LONE", "sent")
        (read,) = _statuses("wamid.LONE", "read", pricing=None)
        assert handle_update(outbox, sent) and handle_update(outbox, read)
        early = outbox.store.settle([Outcome(job_id, JobState.ACCEPTED, outbox.clock(), wamid="wamid.LONE",
                                             worker="w")])
        assert {(e.status, e.pricing is not None) for e in early} == {("sent", True), ("read", False)}
        for status in early:
            outbox._settler().replay_early(status)
        price = outbox.rate_card.rate("marketing", TO)
        assert _priced(outbox) == [("wamid.LONE", MARKETING, pytest.approx(price))]
        job = outbox.job(job_id)
        assert job is not None and job.state is JobState.READ
    finally:
        outbox.close()


def test_a_status_after_the_answer_is_priced_at_once(store_url: str) -> None:
    outbox = Outbox(open_store(store_url), phone_number_id=PID)
    try:
        job_id = _in_flight(outbox, "w")
        outbox.store.settle([Outcome(job_id, JobState.ACCEPTED, outbox.clock(), wamid="wamid.LATE", worker="w")])
        (change,) = handle_statuses(outbox, _statuses("wamid.LATE", "sent"))
        assert change.job is not None and change.job.id == job_id
        assert [(w, p) for w, p, _ in _priced(outbox)] == [("wamid.LATE", MARKETING)]
        assert outbox.store.early_for_jobs(PID) == []
    finally:
        outbox.close()


async def test_an_early_price_survives_a_crash_before_the_replay(rig: Rig) -> None:
    # The worker stored the answer and died before replaying the early status: the next run's sweep
    # applies it, price included.
    ob = rig.outbox()
    job_id = _in_flight(ob, "dead")
    handle_statuses(ob, _statuses("wamid.SWEPT", "sent"))
    ob.store.settle([Outcome(job_id, JobState.ACCEPTED, ob.clock(), wamid="wamid.SWEPT", worker="dead")])
    # ... kill -9 here.
    await ob.run(until_idle=True)
    job = ob.job(job_id)
    assert job is not None and job.state is JobState.SENT
    assert [(w, p) for w, p, _ in _priced(ob)] == [("wamid.SWEPT", MARKETING)]
    assert ob.campaigns.costs("campaign")[0].billable == 1
    assert rig.attempts() == []  # nothing was sent again
