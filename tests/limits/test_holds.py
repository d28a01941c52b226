"""Campaigns inside Meta's limits, against the sandbox over real HTTP: what would break a limit is held
with a reason (never sent, never failed) and resumes when the limit lifts."""

from __future__ import annotations

import asyncio
import time

from tests.delivery.conftest import Rig
from tests.limits.helpers import PROMO, codes, control, marketing_template, numbers, rate, until

from wacloud.delivery import JobState


async def test_a_250_tier_sends_250_holds_150_and_resumes_when_the_tier_is_raised(rig: Rig) -> None:
    marketing_template(rig)
    control(rig, "/limits", {"portfolio_tier": "TIER_250", "enforce": True, "notify": False})
    ob = rig.outbox(mps=200, read_limits_every_s=600)  # the tier is read from the Graph API at start
    campaign = ob.broadcast(PROMO, numbers(400), campaign="tier-250")
    assert campaign.queued == 400
    await ob.run(until_idle=True)
    summary = ob.summary("tier-250")
    report = ob.campaigns.report("tier-250")
    print(f"\n250 tier, 400 new customers: accepted {summary.accepted}, held {report.held}, "
          f"eta {report.eta_s} s, sandbox answers {codes(rig)}")
    assert ob.campaigns.limits()["tier"] == "TIER_250"
    assert summary.accepted == 250 and summary.held == 150 and summary.failed == 0
    assert report.held == {"portfolio_limit": 150} and report.eta_s is not None
    assert codes(rig) == {0: 250}  # zero limit errors: nothing over the limit was even tried
    held = ob.jobs(state=JobState.HELD, campaign="tier-250", limit=1)[0]
    assert ob.history(held.id)[-1].state == "held" and "portfolio_limit" in (ob.history(held.id)[-1].detail or "")
    # Meta raises the tier: business_capability_update reaches the receiver; the holds end.
    control(rig, "/limits", {"portfolio_tier": "TIER_2K"})
    rig.wait(lambda: ob.campaigns.limits()["tier"] == "2000", what="the tier webhook")
    await ob.run(until_idle=True)
    summary = ob.summary("tier-250")
    assert summary.accepted == 400 and summary.held == 0 and codes(rig) == {0: 400}
    assert ob.campaigns.limits()["reached_24h"] == 400


async def test_a_template_paused_mid_campaign_holds_the_rest_and_approval_resumes_them(rig: Rig) -> None:
    tpl_id = marketing_template(rig)
    rig.sandbox.configure(mps=20)
    ob = rig.outbox(mps=20)
    ob.broadcast(PROMO, numbers(80, "1650778"), campaign="paused")
    run = asyncio.create_task(ob.run(until_idle=True))
    await until(lambda: ob.summary("paused").accepted >= 20, what="20 sent")
    control(rig, f"/templates/{tpl_id}/status", {"status": "PAUSED"})
    await run
    summary = ob.summary("paused")
    print(f"\npaused at {summary.accepted} sent: held {ob.campaigns.report('paused').held}, "
          f"sandbox answers {codes(rig)}")
    assert summary.failed == 0 and summary.accepted + summary.held == 80 and summary.held > 0
    assert set(ob.campaigns.report("paused").held) == {"template_paused"}
    rejected = codes(rig).get(132015, 0)
    assert rejected <= 32  # at most the calls already in flight when it paused met 132015
    control(rig, f"/templates/{tpl_id}/status", {"status": "APPROVED"})
    rig.wait(lambda: ob.store.limit("template", "promo_plain:en_US") is None,  # type: ignore[attr-defined]
             what="the approval webhook")
    await ob.run(until_idle=True)
    summary = ob.summary("paused")
    assert summary.accepted == 80 and summary.held == 0 and summary.failed == 0


async def test_a_throughput_upgrade_mid_campaign_raises_the_achieved_rate(rig: Rig) -> None:
    rig.sandbox.configure(mps=20)
    ob = rig.outbox(mps=20, concurrency=32)
    n = 400
    ob.broadcast("hello_world", numbers(n, "1650779"), category="utility", language="en_US", campaign="up")
    # Not until_idle: while the upgrade holds every job left (131057 answers, then the hold) nothing is
    # owed a send, and an idle run would end before the upgrade's webhook lifts the hold.
    run = asyncio.create_task(ob.run())
    await until(lambda: ob.summary("up").accepted >= 60, what="60 sent")
    asked = time.time()
    control(rig, "/throughput_upgrade", {"after_s": 1.0, "mps": 1000})
    await until(lambda: ob.summary("up").accepted == n, what="the whole campaign accepted")
    ob.stop()
    await run
    attempts = rig.attempts()
    ok = sorted(a["at"] for a in attempts if a["code"] == 0)
    before = [t for t in ok if t <= asked]
    upgraded_at = asked + 1.0
    after = [t for t in ok if t >= upgraded_at]
    r_before, r_after = rate(before), rate(after)
    print(f"\nthroughput upgrade: {rate(before):.1f} msg/s before, {r_after:.1f} msg/s after "
          f"({len(before)} / {len(after)} messages), sandbox answers {codes(rig)}")
    assert ob.summary("up").accepted == n and ob.summary("up").failed == 0
    assert 130429 not in codes(rig)
    assert ob.campaigns.limits()["mps"] == 1000.0
    assert r_after > 2 * r_before


async def test_a_budget_stops_the_campaign_at_its_cap(rig: Rig) -> None:
    marketing_template(rig)
    ob = rig.outbox()
    price = ob.rate_card.rate("marketing", "16507770000")
    ob.broadcast(PROMO, numbers(30, "1650780"), campaign="budget", budget=round(price * 10, 6))
    await ob.run(until_idle=True)
    report = ob.campaigns.report("budget")
    print(f"\nbudget {report.budget}: accepted {report.summary.accepted}, held {report.held}, "
          f"estimated {report.estimated:.4f}")
    assert report.summary.accepted == 10 and report.held == {"budget": 20} and report.eta_s is None
    assert abs(report.estimated - 10 * price) < 1e-9
    ob.campaigns.set_budget("budget", round(price * 25, 6))
    await ob.run(until_idle=True)
    report = ob.campaigns.report("budget")
    assert report.summary.accepted == 25 and report.held == {"budget": 5}
    assert codes(rig) == {0: 25}


async def test_campaign_cost_equals_the_sandbox_pricing(rig: Rig) -> None:
    marketing_template(rig)
    ob = rig.outbox()
    start = int(time.time()) - 5
    ob.broadcast(PROMO, numbers(20, "1650781"), campaign="cost-m")
    ob.broadcast("hello_world", numbers(15, "1650782"), category="utility", language="en_US", campaign="cost-u")
    await ob.run(until_idle=True)
    rig.wait(lambda: sum(r.billable for r in ob.campaigns.costs("campaign")) == 35, what="pricing of 35 statuses")
    rig.wait(lambda: ob.summary().delivered == 35, what="35 delivered")
    end = int(time.time()) + 5
    answer = await rig.sandbox.async_client().pricing_analytics(start, end, granularity="DAILY")
    analytics = answer.model_dump()
    ours = {r.key: r for r in ob.campaigns.costs("campaign")}
    meta = ob.campaigns.reconcile(analytics, since=start, until=end)
    print(f"\ncost: ours {meta['ours']}, sandbox {meta['meta']}, by campaign "
          f"{ {k: round(v.cost, 4) for k, v in ours.items()} }")
    assert meta["difference"] == 0.0 and meta["meta"]["volume"] == 35
    assert abs(ours["cost-m"].cost - 20 * 0.025) < 1e-9 and abs(ours["cost-u"].cost - 15 * 0.004) < 1e-9
    assert abs(ours["cost-m"].cost - ours["cost-m"].estimated) < 1e-9


async def test_the_tier_is_read_again_periodically_and_a_raise_resumes_the_held(rig: Rig) -> None:
    """Meta's Graph API gives the portfolio's tier (not how many customers it reached): the engine reads
    it at start and every ``read_limits_every_s``, so a raise nobody sent a webhook for still lifts the holds."""
    marketing_template(rig)
    control(rig, "/limits", {"portfolio_tier": "TIER_250", "enforce": True, "notify": False})
    ob = rig.outbox(mps=200, read_limits_every_s=1)
    ob.broadcast(PROMO, numbers(260, "1650783"), campaign="periodic")
    run = asyncio.create_task(ob.run())
    try:
        await until(lambda: (s := ob.summary("periodic")).accepted == 250 and s.held == 10, what="250 sent, 10 held")
        assert ob.campaigns.limits()["tier"] == "TIER_250"
        control(rig, "/limits", {"portfolio_tier": "TIER_2K", "notify": False})  # no webhook: only the Graph API
        await until(lambda: ob.summary("periodic").accepted == 260, what="the next periodic read")
    finally:
        ob.stop()
        await run
    assert ob.campaigns.limits()["tier"] == "TIER_2K" and codes(rig) == {0: 260}


def test_a_131057_settled_after_the_upgrade_webhook_holds_nothing(store_url: str) -> None:
    # A call made while the number was upgrading can be answered 131057 and settled after the upgrade's
    # webhook: it must not start a new 60 s "upgrading" wait (jobs would sit held with nothing to wake them).
    from wacloud.delivery import open_store
    from wacloud.delivery.holds import note_limit, throughput_upgraded

    store = open_store(store_url)
    try:
        now = time.time()
        note_limit(store, "106", "throughput_upgrade", "106", now)  # type: ignore[arg-type]
        assert store.limit("upgrade", "106")[0] == "upgrading"  # type: ignore[attr-defined,index]
        throughput_upgraded(store, "106", now + 1)  # type: ignore[arg-type]
        note_limit(store, "106", "throughput_upgrade", "106", now + 1.2)  # type: ignore[arg-type]
        row = store.limit("upgrade", "106")  # type: ignore[attr-defined]
        assert row is None or row[0] is None
    finally:
        store.close()


def test_an_upgrading_mark_written_after_the_upgrade_holds_no_job(store_url: str) -> None:
    # The other order of the race above: the 131057's "upgrading" mark read the rate before the webhook
    # wrote it and commits after it (two writers). The claim's gate must still hold nothing: the upgraded
    # rate says the wait is over (a job held here stayed held, and a run until idle ended without it).
    from wacloud.delivery import open_store
    from wacloud.delivery.holds import throughput_upgraded
    from wacloud.delivery.model import NewJob

    store = open_store(store_url)
    try:
        now = time.time()
        throughput_upgraded(store, "106", now)  # type: ignore[arg-type]
        store.set_limit("upgrade", "106", "upgrading", now + 60, now)  # type: ignore[attr-defined]
        body = {"messaging_product": "whatsapp", "to": "16505550100", "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}}}
        store.add([NewJob("106", "16505550100", body, True, category="utility")], now)
        claimed = store.claim("106", 10, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=10)
        view = store._tx(write=False)  # type: ignore[attr-defined]
        with view as tx:
            limits = store._view(tx, "106", "default", claimed, now)  # type: ignore[attr-defined]
        assert limits.upgrading_until is None
    finally:
        store.close()


def test_a_job_held_for_the_upgrade_after_its_webhook_is_released_by_the_next_claim(store_url: str) -> None:
    # A claim that read "upgrading" before the upgrade's webhook committed holds its job after the
    # webhook's wake (two writers at once on PostgreSQL): the gate lifts it once the rate is upgraded.
    from wacloud.delivery import open_store
    from wacloud.delivery.holds import Gate, Hold, HoldReason, throughput_upgraded
    from wacloud.delivery.limit_updates import default_rate_card
    from wacloud.delivery.model import NewJob

    store = open_store(store_url)
    try:
        now = time.time()
        body = {"messaging_product": "whatsapp", "to": "16505550100", "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}}}
        store.add([NewJob("106", "16505550100", body, True, category="utility")], now)
        throughput_upgraded(store, "106", now)  # type: ignore[arg-type]
        claimed = store.claim("106", 10, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=1)
        store.admit("106", "default", claimed, now, worker="w",  # type: ignore[attr-defined]
                    decide=lambda job, view: Hold(HoldReason.THROUGHPUT_UPGRADE, "106", now + 60))
        assert store.backlog("106")[0] == 0  # held: nothing owed a send
        gate = Gate(store, "106", portfolio="default", card=default_rate_card())  # type: ignore[arg-type]
        assert gate.admit([], now + 1, "w") == [] and gate.mps == 1000.0
        assert store.backlog("106")[0] == 1  # queued again, not waiting out the 60 s
    finally:
        store.close()
