"""The Marketing Messages API in campaigns, the per-user marketing cap (131049), the rate card, and the
pure limit decisions."""

from __future__ import annotations

import pytest
from tests.delivery.conftest import Rig
from tests.limits.helpers import PROMO, codes, control, marketing_template, numbers

from wacloud.delivery import JobState
from wacloud.delivery.costs import RateCard
from wacloud.delivery.holds import Admit, CampaignLimits, Hold, HoldReason, LimitView, decide
from wacloud.delivery.model import Job
from wacloud.errors import ValidationError, WhatsAppError


async def test_a_campaign_goes_through_the_marketing_messages_api_with_its_options(rig: Rig) -> None:
    marketing_template(rig)
    ob = rig.outbox()
    ob.broadcast(PROMO, numbers(5, "1650791"), campaign="mm", api="marketing_messages",
                 api_options={"product_policy": "strict", "message_activity_sharing": True})
    await ob.run(until_idle=True)
    assert ob.summary("mm").accepted == 5 and codes(rig) == {0: 5}
    job = ob.jobs(campaign="mm", limit=1)[0]
    stored = rig.sandbox.message(job.wamid)
    assert "_wacloud_api" not in stored["body"] and stored["body"]["type"] == "template"
    assert ob.campaigns.report("mm").api == "marketing_messages"
    with pytest.raises(WhatsAppError) as refused:  # a utility template on the marketing endpoint
        await rig.sandbox.async_client().send_marketing_template("+16507910099", "hello_world")
    assert refused.value.code == 134101
    # A utility template cannot go that way; STRICT is spelled as Meta does.
    with pytest.raises(ValidationError, match="marketing"):
        ob.broadcast("hello_world", numbers(1), category="utility", api="marketing_messages")
    with pytest.raises(ValidationError, match="product_policy"):
        ob.broadcast(PROMO, numbers(1), api="marketing_messages", api_options={"product_policy": "SOMETIMES"})


async def test_131049_is_never_retried_and_holds_that_users_next_marketing_message(rig: Rig) -> None:
    marketing_template(rig)
    ob = rig.outbox()
    rig.sandbox.set_faults(codes={131049: 1.0})
    first = ob.enqueue("+16507920000", PROMO_BODY, category="marketing", priority=0)
    await ob.run(until_idle=True)
    job = ob.job(first)
    assert job is not None and job.state is JobState.FAILED and job.error_code == 131049 and job.attempts == 1
    rig.sandbox.set_faults(codes={})
    second = ob.enqueue("+16507920000", PROMO_BODY, category="marketing", priority=0, key="again")
    other = ob.enqueue("+16507920001", PROMO_BODY, category="marketing", priority=0)
    await ob.run(until_idle=True)
    held = ob.job(second)
    assert held is not None and held.state is JobState.HELD
    assert ob.job(other).accepted_at is not None  # type: ignore[union-attr]
    assert ob.history(second)[-1].detail == "marketing_cap: 16507920000"
    assert codes(rig) == {131049: 1, 0: 1}


PROMO_BODY = {"type": "template", "template": PROMO}


def _job(to: str = "16505550000", **kw: object) -> Job:
    base: dict[str, object] = dict(
        id="1", phone_number_id="P", to=to, state=JobState.CLAIMED,
        body={"type": "template", "template": PROMO}, is_template=True, key=None, category="marketing",
        fallback=None, campaign="c", not_before=0.0, attempts=0, failures=0, throttles=0, pair_retries=0,
        used_fallback=False, wamid=None, error_code=None, error_title=None, error_details=None, fbtrace_id=None,
        created_at=0.0, updated_at=0.0, accepted_at=None, sent_at=None, delivered_at=None, read_at=None,
        finished_at=None)
    base.update(kw)
    return Job(**base)  # type: ignore[arg-type]


def test_decide_counts_new_customers_only_and_holds_over_the_tier() -> None:
    card = RateCard.default()
    view = LimitView(now=1000.0, portfolio="pf", tier=2, last_inbound={"16505550009": 990.0},
                     campaigns={"c": CampaignLimits()})
    verdicts = [decide(_job(n), view, card) for n in ("16505550001", "16505550001", "16505550009",
                                                       "16505550002", "16505550003")]
    assert [type(v).__name__ for v in verdicts] == ["Admit", "Admit", "Admit", "Admit", "Hold"]
    assert [v.reach for v in verdicts if isinstance(v, Admit)] == [True, False, False, True]
    hold = verdicts[-1]
    assert isinstance(hold, Hold) and hold.reason is HoldReason.PORTFOLIO_LIMIT and hold.until == 1000 + 86400
    # In the window: no reach counted, and a utility template there is free.
    assert card.estimate("utility", "16505550009", is_template=True, in_window=True) == 0.0


def test_decide_order_paused_campaign_then_template_then_budget() -> None:
    card = RateCard.default()
    view = LimitView(now=0.0, portfolio="pf", campaigns={"c": CampaignLimits(state="paused")},
                     templates={"promo_plain:en_US": "PAUSED"})
    assert decide(_job(), view, card) == Hold(HoldReason.CAMPAIGN_PAUSED, "c", 365 * 86400.0)
    view.campaigns["c"].state = "active"
    assert isinstance(v := decide(_job(), view, card), Hold) and v.reason is HoldReason.TEMPLATE_PAUSED
    view.templates.clear()
    view.campaigns["c"].budget = 0.03
    assert isinstance(decide(_job(), view, card), Admit)  # 0.025 of 0.03
    assert isinstance(v := decide(_job(), view, card), Hold) and v.reason is HoldReason.BUDGET


def test_rate_cards_in_metas_layout_are_read_and_bad_ones_refused() -> None:
    card = RateCard.default()
    assert card.as_of == "2026-10-01" and card.currency == "USD"
    assert card.rate("marketing", "16505550000") == 0.025  # North America
    assert card.rate("marketing", "5511999990000") == 0.0625  # Brazil
    assert card.charge({"billable": False, "type": "free_customer_service", "category": "service"}, "1650") == 0
    assert card.charge({"billable": True, "type": "regular", "category": "utility"}, "16505550000") == 0.004
    for text, why in (("Country,Price\nX,1\n", "header"), ("Market,Marketing\nX,abc\n", "not a price"),
                      ("Market,Marketing\n", "no market")):
        with pytest.raises(ValidationError, match=why):
            RateCard.from_csv(text)


async def test_the_sandbox_refuses_over_the_tier_with_131048_when_the_engine_does_not_know_it(rig: Rig) -> None:
    marketing_template(rig)
    control(rig, "/limits", {"portfolio_tier": "TIER_250", "enforce": True, "notify": False})
    ob = rig.outbox(limits=False)  # an engine that ignores the limits meets the sandbox's refusal
    ob.broadcast(PROMO, numbers(260, "1650793"), campaign="blind")
    await ob.run(until_idle=True)
    assert codes(rig) == {0: 250, 131048: 10}
    view = rig.sandbox.control.get("/limits").json()
    assert view["reached_24h"] == 250 and view["refused"] == 10
