"""Meta's template pacing against the sandbox: a send answered ``held_for_quality_assessment`` holds the
template's next jobs (``template_held``, never sent into Meta's hold, never failed); the good quality
signal (Meta lets the held messages out: their delivery) releases them; the bad one pauses the template,
Meta drops what it held (132015) and the hold becomes ``template_paused`` until the template is APPROVED."""

from __future__ import annotations

from tests.delivery.conftest import Rig
from tests.limits.helpers import PROMO, codes, control, marketing_template, numbers

from wacloud.delivery import JobState, Outbox

KEY = "promo_plain:en_US"
THRESHOLD = 10


def _template_state(ob: Outbox) -> str | None:
    row = ob.store.limit("template", KEY)  # type: ignore[attr-defined]
    return row[0] if row is not None else None


def _sandbox_held(rig: Rig, tpl_id: str) -> list[str]:
    held: list[str] = rig.sandbox.control.get(f"/templates/{tpl_id}/pacing").json()["held"]
    return held


async def _paced_campaign(rig: Rig, campaign: str, prefix: str) -> tuple[Outbox, str, int]:
    """60 marketing templates on a template Meta paces after 10: run until only holds are left."""
    tpl_id = marketing_template(rig)
    control(rig, f"/templates/{tpl_id}/pacing", {"pacing": True, "threshold": THRESHOLD})
    ob = rig.outbox(mps=100, concurrency=8)
    ob.broadcast(PROMO, numbers(60, prefix), campaign=campaign)
    await ob.run(until_idle=True)
    summary = ob.summary(campaign)
    held_by_meta = len(_sandbox_held(rig, tpl_id))
    print(f"\npaced after {THRESHOLD}: accepted {summary.accepted} (held by the sandbox {held_by_meta}), "
          f"held here {ob.campaigns.report(campaign).held}")
    assert _template_state(ob) == "HELD"
    # Only the calls in flight when the first held answer came went into Meta's hold; the rest wait here.
    assert 1 <= held_by_meta <= 8 and summary.accepted == THRESHOLD + held_by_meta
    assert summary.failed == 0 and ob.campaigns.report(campaign).held == {"template_held": 60 - summary.accepted}
    assert codes(rig) == {0: summary.accepted}
    held = ob.jobs(state=JobState.HELD, campaign=campaign, limit=1)[0]
    assert "template_held" in (ob.history(held.id)[-1].detail or "")
    return ob, tpl_id, held_by_meta


async def test_a_held_answer_holds_the_template_and_the_good_signal_releases_it(rig: Rig) -> None:
    ob, tpl_id, _ = await _paced_campaign(rig, "paced-good", "1650781")
    # Meta's good quality signal: the held messages go out (their statuses arrive) and pacing ends.
    control(rig, f"/templates/{tpl_id}/pacing", {"assessment": "good"})
    rig.wait(lambda: _template_state(ob) is None, what="a held message's delivery to release the template")
    await ob.run(until_idle=True)
    summary = ob.summary("paced-good")
    assert summary.accepted == 60 and summary.held == 0 and summary.failed == 0
    assert codes(rig) == {0: 60}  # nothing refused, nothing dropped


async def test_a_bad_signal_pauses_the_template_and_approval_resumes_the_rest(rig: Rig) -> None:
    ob, tpl_id, held_by_meta = await _paced_campaign(rig, "paced-bad", "1650782")
    # Meta's bad signal: the template is PAUSED (webhook) and the messages it held fail with 132015.
    control(rig, f"/templates/{tpl_id}/pacing", {"assessment": "bad"})
    rig.wait(lambda: _template_state(ob) == "PAUSED", what="the PAUSED webhook")
    rig.wait(lambda: ob.summary("paced-bad").count(JobState.ACCEPTED) == 0, what="the dropped statuses")
    await ob.run(until_idle=True)
    report = ob.campaigns.report("paced-bad")
    # The hold is now the pause's, and the messages Meta dropped (132015) wait with the rest: none failed.
    assert report.held == {"template_paused": 60 - THRESHOLD} and ob.summary("paced-bad").failed == 0
    # Approved again (and not paced this time): everything not delivered goes out.
    control(rig, f"/templates/{tpl_id}/pacing", {"threshold": 1000})
    control(rig, f"/templates/{tpl_id}/status", {"status": "APPROVED"})
    rig.wait(lambda: _template_state(ob) is None, what="the approval webhook")
    await ob.run(until_idle=True)
    summary = ob.summary("paced-bad")
    print(f"\nbad signal: {held_by_meta} dropped by the sandbox and sent again; answers {codes(rig)}")
    assert summary.held == 0 and summary.failed == 0 and summary.accepted == 60
    assert codes(rig) == {0: 60 + held_by_meta}


def _template_webhook(event: str) -> object:
    from wacloud.webhooks import parse

    (update,) = parse({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "time": 1, "changes": [{
        "field": "message_template_status_update", "value": {
            "event": event, "message_template_id": 7, "message_template_name": "promo_plain",
            "message_template_language": "en_US", "reason": None}}]}]})
    return update


def test_a_template_status_webhook_saying_held_holds_and_approved_releases(store_url: str) -> None:
    from wacloud.delivery import open_store

    ob = Outbox(open_store(store_url), phone_number_id="106540352242922")
    try:
        assert ob.handle(_template_webhook("HELD_FOR_QUALITY_ASSESSMENT"))
        assert _template_state(ob) == "HELD"
        assert ob.handle(_template_webhook("APPROVED"))
        assert _template_state(ob) is None
        # A held answer to a send does the same; a second one changes nothing.
        body = {"type": "template", "template": PROMO}
        assert ob.template_pacing.answered(body, "wamid.1", "held_for_quality_assessment", 1.0) == "HELD"
        assert ob.template_pacing.answered(body, "wamid.2", "held_for_quality_assessment", 2.0) is None
        assert ob.template_pacing.answered({"type": "text"}, "wamid.3", "held_for_quality_assessment", 3.0) is None
        assert "promo_plain:en_US" in ob.template_pacing.stopped()
    finally:
        ob.close()
