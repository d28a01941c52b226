"""The outbox against the sandbox over real HTTP, on SQLite and PostgreSQL: campaigns, pacing, retries."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from pathlib import Path

import pytest

from wacloud.delivery import DeliveryEvent, JobState, RetryPolicy
from wacloud.delivery.model import FINAL_STATES, Outcome
from wacloud.errors import ValidationError

from .conftest import FAST_POLICY, Rig

ORDER = {"name": "delivery_order", "language": {"code": "en_US"}}
ORDER_DEFINITION = {
    "name": "delivery_order", "language": "en_US", "category": "UTILITY", "parameter_format": "NAMED",
    "components": [{"type": "BODY", "text": "Hi {{first_name}}, your order {{order_id}} is confirmed.",
                    "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Pablo"},
                                                           {"param_name": "order_id", "example": "86"}]}}],
}
HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


def numbers(n: int, prefix: str = "1650555") -> list[str]:
    return [f"+{prefix}{i:04d}" for i in range(n)]


async def test_campaign_from_csv_is_sent_delivered_and_summarised(rig: Rig, tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    rows = ["phone,first_name,order_id"] + [f"+1650555{i:04d},Ana{i},A-{i}" for i in range(40)]
    rows.append("not-a-number,Bad,X")
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    rig.sandbox.put_template(ORDER_DEFINITION)
    ob = rig.outbox(mps=400)
    progress: list[int] = []
    campaign = ob.broadcast(ORDER, csv, category="utility", campaign="spring", chunk=16,
                            on_progress=progress.append)
    assert (campaign.queued, campaign.duplicates) == (40, 0)
    assert [row for row, _ in campaign.invalid] == [41]
    assert progress[-1] == 40
    again = ob.broadcast(ORDER, csv, category="utility", campaign="spring")  # a re-run queues nobody twice
    assert (again.queued, again.duplicates) == (0, 40)

    report = await ob.run(until_idle=True)
    assert report.accepted == 40
    rig.wait(lambda: ob.summary("spring").delivered == 40, what="delivered statuses")
    summary = ob.summary("spring")
    assert summary.total == 40 and summary.accepted == 40 and summary.failed == 0 and summary.done
    assert "delivered 40" in str(summary)

    attempts = rig.attempts()
    assert Counter(a["code"] for a in attempts) == {0: 40}
    assert len({a["wa_id"] for a in attempts}) == 40  # one message per recipient
    job = ob.jobs(campaign="spring", limit=1)[0]
    params = job.body["template"]["components"][0]["parameters"]
    assert {p["parameter_name"] for p in params} == {"first_name", "order_id"}
    assert job.wamid and job.delivered_at is not None and job.attempts == 1


async def test_watch_reports_progress_until_done(rig: Rig) -> None:
    ob = rig.outbox()
    ob.broadcast(HELLO, numbers(10), category="utility", campaign="c1")
    seen = []
    runner = asyncio.create_task(ob.run(until_idle=True))
    async for summary in ob.watch("c1", interval_s=0.05):
        seen.append(summary)
    await runner
    assert seen[-1].done and seen[-1].accepted == 10 and seen[-1].total == 10


async def test_several_messages_to_one_recipient_are_spread_by_the_pair_rate(rig: Rig) -> None:
    # The sandbox allows 50 ms of jitter between a send's slot and its arrival (a loaded CI machine);
    # the spacing the outbox keeps is asserted on the arrivals below.
    rig.sandbox.configure(pair_rate_interval_s=0.25, pair_rate_burst=1)
    ob = rig.outbox(pair_interval_s=0.3)
    for i in range(4):
        ob.enqueue("+16505550100", {"type": "template", "template": HELLO}, key=f"k{i}")
    ob.broadcast(HELLO, numbers(6, "1650666"), category="utility")
    await ob.run(until_idle=True)
    attempts = rig.attempts()
    assert [a["code"] for a in attempts].count(0) == 10 and all(a["code"] == 0 for a in attempts)
    same = sorted(a["at"] for a in attempts if a["wa_id"] == "16505550100")
    assert len(same) == 4
    assert all(b - a >= 0.3 - 0.05 for a, b in itertools.pairwise(same))  # the interval, less the jitter allowed


async def test_a_pair_rate_error_delays_only_that_recipient(rig: Rig) -> None:
    # The outbox is told a looser pair rate than the sandbox applies: the sandbox answers 131056,
    # and the policy holds that recipient (4^n s) while the others go on.
    rig.sandbox.configure(pair_rate_interval_s=1.0, pair_rate_burst=1)
    policy = RetryPolicy(**{**FAST_POLICY, "pair_base_s": 1.5})  # type: ignore[arg-type]
    ob = rig.outbox(pair_interval_s=0.01, policy=policy)
    for i in range(2):
        ob.enqueue("+16505550200", {"type": "template", "template": HELLO}, key=f"p{i}")
    ob.broadcast(HELLO, numbers(5, "1650777"), category="utility")
    await ob.run(until_idle=True)
    attempts = rig.attempts()
    assert any(a["code"] == 131056 for a in attempts)
    assert all(a["code"] == 0 for a in attempts if a["wa_id"] != "16505550200")
    jobs = ob.jobs(to="16505550200")
    assert len(jobs) == 2 and all(j.accepted_at is not None for j in jobs)
    assert max(j.pair_retries for j in jobs) >= 1
    assert ob.summary().accepted == 7


async def test_transient_faults_are_retried_and_nothing_is_sent_twice(rig: Rig) -> None:
    rig.sandbox.set_faults(error_500_rate=0.15, error_503_rate=0.05, drop_rate=0.05,
                           drop_after_accept_rate=0.05, codes={131000: 0.1, 130429: 0.05, 131016: 0.05})
    ob = rig.outbox(policy=RetryPolicy(**{**FAST_POLICY, "max_failures": 12}))  # type: ignore[arg-type]
    ob.broadcast(HELLO, numbers(80), category="utility", campaign="faulty")
    report = await ob.run(until_idle=True)
    summary = ob.summary("faulty")
    # A dropped connection may or may not have been sent: at_most_once marks it uncertain, never resends.
    assert summary.done and summary.accepted + summary.uncertain == 80 and summary.uncertain > 0, summary
    assert report.retried > 0
    codes = Counter(a["code"] for a in rig.attempts())
    assert set(codes) - {0} <= {500, 503, 131000, 130429, 131016, 1, 2}
    assert rig.sandbox.stats()["max_accepted_per_recipient"] == 1
    retried = [j for j in ob.jobs(campaign="faulty", limit=100) if j.attempts > 1 and j.accepted_at]
    assert retried and all(j.failures + j.throttles == j.attempts - 1 for j in retried)
    assert all(j.error_title for j in ob.jobs(state=JobState.UNCERTAIN))


async def test_at_least_once_resends_dropped_calls(rig: Rig) -> None:
    rig.sandbox.set_faults(drop_rate=0.2)  # dropped before processing: a resend cannot duplicate
    ob = rig.outbox(delivery="at_least_once")
    ob.broadcast(HELLO, numbers(40), category="utility", campaign="resend")
    await ob.run(until_idle=True)
    summary = ob.summary("resend")
    assert summary.accepted == 40 and summary.uncertain == 0
    assert rig.sandbox.stats()["max_accepted_per_recipient"] == 1
    assert any(j.attempts > 1 for j in ob.jobs(campaign="resend"))


async def test_retries_end_in_the_dead_letter_with_the_reason(rig: Rig) -> None:
    rig.sandbox.set_faults(codes={131000: 1.0})
    ob = rig.outbox(policy=RetryPolicy(**{**FAST_POLICY, "max_failures": 3}))  # type: ignore[arg-type]
    job_id = ob.enqueue("+16505550300", {"type": "template", "template": HELLO})
    await ob.run(until_idle=True)
    job = ob.job(job_id)
    assert job is not None and job.state is JobState.DEAD and job.attempts == 3
    assert job.error_code == 131000 and job.fbtrace_id and job.finished_at
    assert ob.summary().failed_by_code == {131000: 1}


async def test_final_errors_fail_at_once_with_the_code(rig: Rig) -> None:
    rig.sandbox.configure(unknown_recipients="undeliverable", failure_channels={131026: "sync"})
    ob = rig.outbox()
    job_id = ob.enqueue("+16505550400", {"type": "template", "template": HELLO})
    await ob.run(until_idle=True)
    job = ob.job(job_id)
    assert job is not None and job.state is JobState.FAILED and job.error_code == 131026 and job.attempts == 1


async def test_a_wrong_request_fails_at_once(rig: Rig) -> None:
    ob = rig.outbox()
    job_id = ob.enqueue("+16505550401", {"type": "template",
                                          "template": {"name": "no_such_template", "language": {"code": "en_US"}}})
    await ob.run(until_idle=True)
    job = ob.job(job_id)
    assert job is not None and job.state is JobState.FAILED and job.error_code == 132001 and job.attempts == 1
    assert job.fbtrace_id and "no_such_template" in (job.error_details or "")


@pytest.mark.parametrize("text", ["a\ud800b", "a\x00b"])
async def test_a_stored_job_that_cannot_be_encoded_fails_locally_never_uncertain(rig: Rig, text: str) -> None:
    # Queued by a version that did not check the text (enqueue refuses it now): no request can
    # carry it, so the job is a plain local failure, and no call is made.
    from wacloud.delivery.model import NewJob

    ob = rig.outbox()
    with pytest.raises(ValidationError):
        ob.enqueue("+16505550402", {"type": "template", "template": {**HELLO, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": text}]}]}})
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505550402",
            "type": "template", "template": {**HELLO, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": text}]}]}}
    [(job_id, _)] = ob.store.add([NewJob(phone_number_id=ob.phone_number_id, to="16505550402", body=body,
                                         is_template=True)], time.time())
    await ob.run(until_idle=True)
    job = ob.job(job_id)
    assert job is not None and job.state is JobState.FAILED, job
    assert job.error_code == 100 and "text" in (job.error_details or "")
    assert rig.attempts() == []


async def test_read_timeouts_are_resent_under_at_least_once(rig: Rig) -> None:
    rig.sandbox.set_faults(timeout_rate=0.3, timeout_s=1.0)  # held, then closed unanswered (not processed)
    client = rig.sandbox.async_client(timeout=0.3)
    ob = rig.outbox(client=client, delivery="at_least_once")
    ob.broadcast(HELLO, numbers(20), category="utility", campaign="slow")
    await ob.run(until_idle=True)
    jobs = ob.jobs(campaign="slow")
    assert all(j.accepted_at is not None for j in jobs) and any(j.failures for j in jobs)
    assert rig.sandbox.stats()["max_accepted_per_recipient"] == 1


async def test_an_auth_error_pauses_the_number_without_burning_attempts(rig: Rig) -> None:
    events: list[DeliveryEvent] = []
    bad = rig.sandbox.async_client(token="expired-token")
    ob = rig.outbox(client=bad, on_event=events.append)
    ids = [ob.enqueue(n, {"type": "template", "template": HELLO}) for n in numbers(3, "1650888")]
    stop = asyncio.Event()
    runner = asyncio.create_task(ob.run(stop=stop))
    for _ in range(200):
        if events:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await runner
    assert events and events[0].kind == "auth_paused" and events[0].code == 190
    jobs = [ob.job(i) for i in ids]
    assert all(j is not None and j.state is JobState.QUEUED and j.failures == 0 for j in jobs), jobs
    assert ob.store.paused(ob.phone_number_id, ob.clock()) is not None
    # The token is fixed: resume, and everything goes.
    good = rig.outbox()
    good.resume()
    await good.run(until_idle=True)
    assert all(good.job(i).accepted_at is not None for i in ids)  # type: ignore[union-attr]


async def test_sync_client_works_too(rig: Rig) -> None:
    ob = rig.outbox(client=rig.sandbox.client())
    ob.broadcast(HELLO, numbers(5), category="utility")
    report = await ob.run(until_idle=True)
    assert report.accepted == 5 and all(j.state in FINAL_STATES for j in ob.jobs())


async def test_after_an_auth_pause_one_job_probes_before_the_rest(rig: Rig) -> None:
    seen: list[float] = []  # one auth_paused event per call that got 190
    bad = rig.sandbox.async_client(token="expired-token")
    ob = rig.outbox(client=bad, on_event=lambda e: seen.append(time.monotonic()))
    for n in numbers(5, "1650889"):
        ob.enqueue(n, {"type": "template", "template": HELLO})
    stop = asyncio.Event()
    runner = asyncio.create_task(ob.run(stop=stop))
    for _ in range(500):
        if len(seen) >= 8:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await runner
    assert len(seen) >= 8
    # The first round sent the batch; after that, one probe per pause, not the whole queue again.
    later = seen[5:]
    assert all(b - a >= 0.3 * 0.9 for a, b in itertools.pairwise(later)), later
    assert all(j.failures == 0 and j.state is JobState.QUEUED for j in ob.jobs())


async def test_throughput_errors_slow_the_worker_down_instead_of_storming(rig: Rig) -> None:
    # The number really allows 30 mps but the outbox was told 90: it must adapt, not dead-letter.
    rig.sandbox.configure(mps=30, burst=5)
    ob = rig.outbox(mps=90, policy=RetryPolicy(**{**FAST_POLICY, "max_throttles": 100}))  # type: ignore[arg-type]
    ob.broadcast(HELLO, numbers(60), category="utility", campaign="adapt")
    await ob.run(until_idle=True)
    summary = ob.summary("adapt")
    assert summary.accepted == 60 and summary.failed == 0, summary
    codes = Counter(a["code"] for a in rig.attempts())
    assert codes[0] == 60 and set(codes) <= {0, 130429}
    assert codes[130429] < 60, codes  # fewer than one error per message (a storm is several each)


async def test_one_unstorable_outcome_does_not_block_the_others(rig: Rig) -> None:
    # No real server answers two sends with one wamid, so this client (a subclass of the real
    # one) does, to prove the writer isolates the clash instead of retrying it forever.
    from wacloud.client import AsyncClient

    class SameWamid(AsyncClient):
        async def send_body(self, body: dict[str, object], **kw: object) -> str:  # type: ignore[override]
            return "wamid.same"

    sb = rig.sandbox
    ob = rig.outbox(client=SameWamid(token=sb.token, phone_number_id=sb.phone_number_id, base_url=sb.base_url))
    ob.broadcast(HELLO, numbers(5), category="utility")
    report = await ob.run(until_idle=True)
    assert report.accepted == 5
    jobs = ob.jobs()
    assert all(j.accepted_at is not None for j in jobs)
    assert [j.wamid for j in jobs].count("wamid.same") == 1


async def test_retries_after_an_error_answer_do_not_wait_for_the_pair_rate(rig: Rig) -> None:
    rig.sandbox.set_faults(codes={131000: 1.0})
    ob = rig.outbox(pair_interval_s=6.0, policy=RetryPolicy(**{**FAST_POLICY, "max_failures": 3}))  # type: ignore[arg-type]
    job_id = ob.enqueue("+16505550500", {"type": "template", "template": HELLO})
    await ob.run(until_idle=True)
    assert ob.job(job_id).state is JobState.DEAD  # type: ignore[union-attr]
    times = sorted(a["at"] for a in rig.attempts())
    assert len(times) == 3 and times[-1] - times[0] < 6.0  # the refused calls' pair tokens came back


async def test_a_one_off_message_does_not_wait_behind_a_campaign(rig: Rig) -> None:
    ob = rig.outbox(mps=200)
    ob.broadcast(HELLO, numbers(40), category="utility", campaign="big")
    otp = ob.enqueue("+16505550600", {"type": "template", "template": HELLO}, category="authentication")
    late = ob.broadcast(HELLO, ["+16505550601"], category="utility", priority=1)
    await ob.run(until_idle=True)
    order = [a["wa_id"] for a in sorted(rig.attempts(), key=lambda a: a["seq"])]
    # Slots go in claim order; two calls 5 ms apart may still arrive swapped, hence "among the first 3".
    assert {"16505550600", "16505550601"} <= set(order[:3]) and len(order) == 42
    assert ob.job(otp).priority == 1 and ob.job(late.job_ids[0]).priority == 1  # type: ignore[union-attr]
    with pytest.raises(ValidationError):
        ob.enqueue("+16505550602", {"type": "template", "template": HELLO}, priority=5)


async def test_after_an_auth_pause_the_held_back_jobs_do_not_all_go_at_once(rig: Rig) -> None:
    # Few calls at a time, so most of the batch is still waiting (claimed, in memory) when the
    # first 190 pauses the number: after the pause one of them probes, not the whole lot.
    seen: list[float] = []
    bad = rig.sandbox.async_client(token="expired-token")
    ob = rig.outbox(client=bad, concurrency=2, on_event=lambda e: seen.append(time.monotonic()))
    for n in numbers(20, "1650887"):
        ob.enqueue(n, {"type": "template", "template": HELLO})
    stop = asyncio.Event()
    runner = asyncio.create_task(ob.run(stop=stop))
    for _ in range(500):
        if len(seen) >= 8:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await runner
    assert len(seen) >= 8
    # Rounds are the pause (0.3 s) apart; the first round is the calls already in flight.
    rounds: list[list[float]] = [[seen[0]]]
    for a, b in itertools.pairwise(seen):
        if b - a >= 0.3 * 0.9:
            rounds.append([])
        rounds[-1].append(b)
    assert len(rounds) >= 3 and all(len(r) == 1 for r in rounds[1:]), [len(r) for r in rounds]
    assert all(j.failures == 0 and j.state is JobState.QUEUED for j in ob.jobs())


async def test_a_job_held_twice_in_memory_is_sent_once(rig: Rig) -> None:
    # A claim that expired while held back (a long pause) is re-claimed by the same worker, so
    # the job can be due twice in one dispatch: mark_sending answers its id once; send it once.
    from wacloud.delivery.worker import Worker

    ob = rig.outbox()
    job_id = ob.enqueue("+16505550190", {"type": "template", "template": HELLO})
    worker = Worker(ob.context(), concurrency=4, until_idle=True, stop=asyncio.Event())
    (job,) = ob.store.claim(ob.phone_number_id, 1, ob.clock(), lease_s=60, worker=worker.worker_id,
                            pair_interval_s=0.05, pair_burst=1)
    await worker._fire([job, job])
    await asyncio.gather(*worker._in_flight)
    await worker._outcomes.flush()
    worker._exec.shutdown(wait=True)
    assert [a["wa_id"] for a in rig.attempts()] == ["16505550190"]
    assert ob.job(job_id).state is not JobState.SENDING  # type: ignore[union-attr]


@pytest.mark.parametrize("interval_s", [1.0, 0.3], ids=["sent-after-its-claim", "next-claimed-first"])
async def test_the_pair_gap_holds_when_the_first_message_waited_for_its_slot(rig: Rig, interval_s: float) -> None:
    # The first message to R is claimed behind a full lookahead of slots (sent ~0.6-0.7 s after its
    # claim); the pair gap is measured between sends, so it counts from the first one's send, not its
    # claim. 1.0 s: the second comes due when the queue is empty (sent at once). 0.3 s: the first one's
    # token runs out while it waits, so the second is claimed and gets the very next slot; the first
    # must then wait, not go out with it (failed 9 of 10 runs before mark_sending checked the token).
    rig.sandbox.configure(pair_rate_interval_s=interval_s, pair_rate_burst=1)
    ob = rig.outbox(mps=100, pair_interval_s=interval_s)
    ob.broadcast(HELLO, numbers(60, "1650444"), category="utility", campaign="fill")
    for i in range(2):
        ob.enqueue("+16505550300", {"type": "template", "template": HELLO}, key=f"gap{i}", priority=0)
    await ob.run(until_idle=True)
    attempts = rig.attempts()
    assert Counter(a["code"] for a in attempts) == {0: 62}
    same = sorted(a["at"] for a in attempts if a["wa_id"] == "16505550300")
    assert len(same) == 2 and same[1] - same[0] >= interval_s * 0.95


async def test_an_early_failed_status_survives_a_crash_right_after_the_accept(rig: Rig) -> None:
    # The failed status beat the send's answer (kept as early); the worker stored the answer and
    # died before replaying it. The next run must still apply it (here: 131026, fail the job).
    ob = rig.outbox()
    job_id = ob.enqueue("+16505550400", {"type": "template", "template": HELLO})
    now = ob.clock()
    (job,) = ob.store.claim(ob.phone_number_id, 1, now, lease_s=60, worker="dead",
                            pair_interval_s=0.05, pair_burst=1)
    ob.store.mark_sending([job.id], now, lease_s=60, worker="dead")
    ob.apply_status("wamid.CRASH", "failed", now, error_code=131026, error_title="Message undeliverable")
    ob.store.settle([Outcome(job.id, JobState.ACCEPTED, now, wamid="wamid.CRASH", worker="dead")])
    # ... kill -9 here: the early status is not replayed by that worker.
    await ob.run(until_idle=True)
    got = ob.job(job_id)
    assert got is not None and got.state is JobState.FAILED and got.error_code == 131026
    assert rig.attempts() == []  # nothing was sent: the job was already accepted
