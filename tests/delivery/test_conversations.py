"""Statuses, windows and opt-outs, through the sandbox's real webhooks into a real receiver."""

from __future__ import annotations

import time

import pytest

from wacloud import webhooks
from wacloud.delivery import JobState
from wacloud.errors import ValidationError, WindowClosed

from .conftest import Rig

HELLO = {"name": "hello_world", "language": {"code": "en_US"}}
PROMO = {"name": "delivery_promo", "language": {"code": "en_US"}}
PROMO_DEFINITION = {"name": "delivery_promo", "language": "en_US", "category": "MARKETING",
                    "components": [{"type": "BODY", "text": "Our sale is on!"}]}
TEXT = {"type": "text", "text": {"body": "your order shipped"}}


def state(rig: Rig, ob: object, job_id: str) -> JobState:
    job = ob.job(job_id)  # type: ignore[attr-defined]
    assert job is not None
    return job.state  # type: ignore[no-any-return]


async def test_statuses_out_of_order_and_repeated_never_move_a_job_back(rig: Rig) -> None:
    rig.sandbox.configure(duplicate_rate=0.5, reorder_rate=0.7, reorder_window_s=0.2)
    ob = rig.outbox()
    ob.broadcast(HELLO, [f"+1650555{i:04d}" for i in range(30)], category="utility", campaign="order")
    await ob.run(until_idle=True)
    rig.wait(lambda: ob.summary("order").read == 30, what="all read")
    for job in ob.jobs(campaign="order"):
        assert job.state is JobState.READ
        assert job.sent_at is not None and job.delivered_at is not None and job.read_at is not None
    stats = rig.sandbox.stats()["webhooks"]
    assert stats  # the sandbox did send webhooks (some twice, some late)


async def test_free_form_outside_the_window_fails_locally_without_a_call(rig: Rig) -> None:
    ob = rig.outbox()
    job_id = ob.enqueue("+16505551000", TEXT)
    report = await ob.run(until_idle=True)
    job = ob.job(job_id)
    assert job is not None and job.state is JobState.FAILED and job.error_code == 131047
    assert job.attempts == 0 and report.local_failures == 1
    assert isinstance(job.error(), WindowClosed) and "24 hours" in str(job.error())
    assert rig.attempts() == []


async def test_the_fallback_template_goes_when_the_window_is_closed(rig: Rig) -> None:
    ob = rig.outbox()
    job_id = ob.enqueue("+16505551001", TEXT, fallback_template=HELLO)
    await ob.run(until_idle=True)
    job = ob.job(job_id)
    assert job is not None and job.accepted_at is not None and job.used_fallback
    assert job.body["type"] == "template"
    assert [a["type"] for a in rig.attempts()] == ["template"]


async def test_a_customer_message_opens_the_window(rig: Rig) -> None:
    ob = rig.outbox()
    rig.sandbox.inject("16505551002", text="hi, where is my order?")
    rig.wait(lambda: bool(ob.store.contacts(ob.phone_number_id, ["16505551002"])), what="inbound recorded")
    job_id = ob.enqueue("+16505551002", TEXT)
    await ob.run(until_idle=True)
    job = ob.job(job_id)
    assert job is not None and job.accepted_at is not None and not job.used_fallback
    assert [a["type"] for a in rig.attempts()] == ["text"]


async def test_a_failed_status_applies_the_policy_and_sends_the_fallback(rig: Rig) -> None:
    # The local check is off: Meta (the sandbox) says 131047 in a failed status webhook.
    ob = rig.outbox(enforce_window=False)
    with_fallback = ob.enqueue("+16505551003", TEXT, fallback_template=HELLO)
    without = ob.enqueue("+16505551004", TEXT)
    await ob.run(until_idle=True)
    rig.wait(lambda: state(rig, ob, without) is JobState.FAILED, what="failed status")
    # The failed status requeues the job with its fallback (the run may already have sent it).
    rig.wait(lambda: ob.job(with_fallback).used_fallback, what="fallback queued")  # type: ignore[union-attr]
    failed = ob.job(without)
    assert failed is not None and failed.error_code == 131047 and failed.error_title
    await ob.run(until_idle=True)
    job = ob.job(with_fallback)
    assert job is not None and job.used_fallback and job.body["type"] == "template" and job.accepted_at
    rig.wait(lambda: state(rig, ob, with_fallback) is JobState.READ, what="fallback read")
    assert [a["type"] for a in rig.attempts() if a["wa_id"] == "16505551003"] == ["text", "template"]


async def test_a_marketing_opt_out_is_recorded_and_respected(rig: Rig) -> None:
    rig.sandbox.put_template(PROMO_DEFINITION)
    rig.sandbox.add_customer("16505551005", marketing_opt_out=True)
    ob = rig.outbox()
    first = ob.enqueue("+16505551005", {"type": "template", "template": PROMO}, category="marketing")
    await ob.run(until_idle=True)
    rig.wait(lambda: state(rig, ob, first) is JobState.FAILED, what="131050 failed status")
    assert ob.job(first).error_code == 131050  # type: ignore[union-attr]
    assert ob.store.contacts(ob.phone_number_id, ["16505551005"])["16505551005"].marketing_opt_out
    calls = len(rig.attempts())
    again = ob.enqueue("+16505551005", {"type": "template", "template": PROMO}, category="marketing")
    utility = ob.enqueue("+16505551005", {"type": "template", "template": HELLO}, category="utility")
    await ob.run(until_idle=True)
    job = ob.job(again)
    assert job is not None and job.state is JobState.FAILED and job.error_code == 131050 and job.attempts == 0
    assert ob.job(utility).accepted_at is not None  # type: ignore[union-attr]
    assert len(rig.attempts()) == calls + 1  # only the utility template was sent


def preference_payload(wa_id: str, value: str, ts: int, phone_number_id: str) -> dict[str, object]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "user_preferences", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "contacts": [{"wa_id": wa_id, "profile": {"name": "Ana"}}],
            "user_preferences": [{"wa_id": wa_id, "detail": "User requested to stop marketing messages",
                                  "category": "marketing_messages", "value": value, "timestamp": ts}]}}]}]}


async def test_user_preferences_webhooks_stop_and_resume_marketing(rig: Rig) -> None:
    rig.sandbox.put_template(PROMO_DEFINITION)
    ob = rig.outbox()
    now = int(time.time())
    for update in webhooks.parse(preference_payload("16505551006", "stop", now, ob.phone_number_id)):
        assert ob.handle(update)
    stopped = ob.enqueue("+16505551006", {"type": "template", "template": PROMO}, category="marketing")
    await ob.run(until_idle=True)
    assert ob.job(stopped).state is JobState.FAILED  # type: ignore[union-attr]
    # An older "resume" arriving late changes nothing; a newer one does.
    for update in webhooks.parse(preference_payload("16505551006", "resume", now - 60, ob.phone_number_id)):
        ob.handle(update)
    assert ob.store.contacts(ob.phone_number_id, ["16505551006"])["16505551006"].marketing_opt_out
    for update in webhooks.parse(preference_payload("16505551006", "resume", now + 60, ob.phone_number_id)):
        ob.handle(update)
    resumed = ob.enqueue("+16505551006", {"type": "template", "template": PROMO}, category="marketing")
    await ob.run(until_idle=True)
    assert ob.job(resumed).accepted_at is not None  # type: ignore[union-attr]


def test_enqueue_refuses_bad_input_with_a_clear_error(rig: Rig) -> None:
    ob = rig.outbox()
    for to, message, kw in [
        ("not a number", TEXT, {}),
        ("+16505551007", {"type": "text"}, {}),
        ("+16505551007", {"type": "text", "text": {"body": ""}}, {}),
        ("+16505551007", 42, {}),
        ("+16505551007", TEXT, {"category": "spam"}),
        ("+16505551007", TEXT, {"fallback_template": 7}),
        ("+16505551007", TEXT, {"key": ""}),
    ]:
        with pytest.raises(ValidationError):
            ob.enqueue(to, message, **kw)
    assert ob.jobs() == []
    with pytest.raises(ValidationError):
        ob.jobs(state="nonsense")


def test_enqueue_is_idempotent_and_shows_state(rig: Rig) -> None:
    ob = rig.outbox()
    a = ob.enqueue("+1 650 555 1008", TEXT, key="invoice-1", not_before=time.time() + 3600)
    b = ob.enqueue("16505551008", TEXT, key="invoice-1")
    assert a == b and len(ob.jobs()) == 1
    job = ob.job(a)
    assert job is not None and job.state is JobState.QUEUED and job.to == "16505551008"
    assert job.body["to"] == "16505551008" and job.body["messaging_product"] == "whatsapp"
    assert ob.job("999999") is None and ob.job("nope") is None
    c = ob.enqueue("16505551009", TEXT)
    assert [j.id for j in ob.jobs(newest_first=True)] == [c, a]
    assert [j.id for j in ob.jobs(after=a)] == [c] and [j.id for j in ob.jobs(newest_first=True, after=c)] == [a]


def status_payload(wamid: str, status: str, ts: int, phone_number_id: str) -> dict[str, object]:
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "statuses": [{"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": "16505551010"}]}}]}]}


def test_a_status_survives_a_database_restart(pg_store_url: str) -> None:
    import psycopg

    from wacloud.delivery import Outbox, open_store
    from wacloud.delivery.model import Outcome

    from .conftest import pg_dsn

    store = open_store(pg_store_url)
    ob = Outbox(store, phone_number_id="106540352242922")
    job_id = ob.enqueue("+16505551010", {"type": "template", "template": HELLO})
    now = time.time()
    store.claim(ob.phone_number_id, 1, now, lease_s=60, worker="w", pair_interval_s=6, pair_burst=1)
    store.mark_sending([job_id], now, lease_s=60, worker="w")
    store.settle([Outcome(job_id, JobState.ACCEPTED, now, wamid="wamid.R")])
    with psycopg.connect(pg_dsn() or "", autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (store._conn.info.backend_pid,))  # type: ignore[attr-defined]
    (update,) = webhooks.parse(status_payload("wamid.R", "delivered", int(now), ob.phone_number_id))
    assert ob.handle(update)  # the first try fails on the dead connection; the retry reconnects
    assert ob.job(job_id).state is JobState.DELIVERED  # type: ignore[union-attr]
    store.close()


async def test_a_local_window_failure_gives_its_pair_token_back(rig: Rig) -> None:
    # A long pair interval: had the locally failed job kept its token, the template would wait 10 min.
    ob = rig.outbox(pair_interval_s=600)
    failed = ob.enqueue("+16505551010", TEXT)
    await ob.run(until_idle=True)
    assert state(rig, ob, failed) is JobState.FAILED and rig.attempts() == []
    template = ob.enqueue("+16505551010", {"type": "template", "template": HELLO})
    import asyncio

    await asyncio.wait_for(ob.run(until_idle=True), timeout=30)
    job = ob.job(template)
    assert job is not None and job.accepted_at is not None
    assert [a["type"] for a in rig.attempts()] == ["template"]
