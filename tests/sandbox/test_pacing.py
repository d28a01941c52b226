"""Template pacing over real HTTP: ``message_status`` in send answers, held messages released by a good
quality signal, dropped with 132015 (a ``failed`` webhook) when the template is paused."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.helpers import error_code, send
from wacloud.sandbox.testing import SandboxHandle, WebhookSink

NOTICE = {
    "name": "pacing_notice",
    "language": "en_US",
    "category": "MARKETING",
    "components": [{"type": "BODY", "text": "New arrivals are in store this week."}],
}


def _send(sandbox: SandboxHandle, to: str, name: str = "pacing_notice") -> httpx.Response:
    return send(sandbox, {"to": to, "type": "template", "template": {"name": name, "language": {"code": "en_US"}}})


def _burst(sandbox: SandboxHandle, n: int, first: int = 0) -> list[tuple[str, str]]:
    """``n`` sends to different customers; (wamid, message_status) of each."""
    out = []
    for i in range(first, first + n):
        r = _send(sandbox, f"1650555{i:04d}")
        assert r.status_code == 200, r.text
        item: dict[str, Any] = r.json()["messages"][0]
        out.append((item["id"], item["message_status"]))
    return out


def _pacing(sandbox: SandboxHandle, template_id: str, **body: Any) -> Any:
    r = sandbox.control.post(f"/templates/{template_id}/pacing", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_unpaced_templates_answer_accepted(sandbox: SandboxHandle) -> None:
    sandbox.put_template(NOTICE)
    assert {status for _, status in _burst(sandbox, 5)} == {"accepted"}


def test_held_messages_are_released_by_a_good_signal(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    tpl = sandbox.put_template({**NOTICE, "pacing": True, "pacing_threshold": 2})
    sent = _burst(sandbox, 4)
    assert [s for _, s in sent] == ["accepted"] * 2 + ["held_for_quality_assessment"] * 2
    accepted, held = [w for w, _ in sent[:2]], [w for w, _ in sent[2:]]
    for wamid in accepted:
        webhook_sink.wait_statuses(wamid, "sent", "delivered")
    sandbox.wait_idle()
    assert all(webhook_sink.statuses(w) == [] for w in held), "held messages must not be sent yet"
    view = sandbox.control.get(f"/templates/{tpl['id']}/pacing").json()
    assert view == {"pacing": True, "threshold": 2, "sends": 4, "held": held}
    after = _pacing(sandbox, tpl["id"], assessment="good")
    assert after["held"] == [] and after["pacing"] is False
    for wamid in held:
        statuses = webhook_sink.wait_statuses(wamid, "sent", "delivered")
        assert statuses[0]["pricing"]["category"] == "marketing"
    # Scaled to the whole audience: no more holding.
    assert [s for _, s in _burst(sandbox, 3, first=10)] == ["accepted"] * 3


def test_a_bad_signal_pauses_the_template_and_drops_the_held(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    tpl = sandbox.put_template({**NOTICE, "pacing": True, "pacing_threshold": 0})
    held = [w for w, s in _burst(sandbox, 2) if s == "held_for_quality_assessment"]
    assert len(held) == 2
    _pacing(sandbox, tpl["id"], assessment="bad")
    for wamid in held:
        webhook_sink.wait_statuses(wamid, "failed")
        failed = webhook_sink.statuses(wamid)
        assert [s["status"] for s in failed] == ["failed"] and failed[0]["errors"][0]["code"] == 132015
    webhook_sink.wait_for(
        lambda s: any(v.get("event") == "PAUSED" for v in s.changes("message_template_status_update"))
    )
    assert sandbox.stats()["failed_statuses"] == {"132015": 2}
    assert error_code(_send(sandbox, "16505550001")) == 132015  # a paused template can't be sent
    # Unpaused, it is paced again from zero.
    sandbox.set_template_status(tpl["id"], "APPROVED")
    assert _burst(sandbox, 1, first=20)[0][1] == "held_for_quality_assessment"


def test_pace_new_templates_paces_graph_created_ones(sandbox: SandboxHandle) -> None:
    sandbox.configure(pace_new_templates=True, template_pacing_threshold=1, template_review_s=None)
    created = sandbox.http.post(f"/{sandbox.waba_id}/message_templates", json=NOTICE).json()
    sandbox.set_template_status(created["id"], "APPROVED")
    assert [s for _, s in _burst(sandbox, 3)] == ["accepted"] + ["held_for_quality_assessment"] * 2
    # Authentication templates are never paced.
    otp = {"to": "16505559999", "type": "template"}
    otp["template"] = {
        "name": "verification_code",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "123456"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "123456"}]},
        ],
    }
    assert send(sandbox, otp).json()["messages"][0]["message_status"] == "accepted"


def test_bad_pacing_requests(sandbox: SandboxHandle) -> None:
    tpl = sandbox.put_template(NOTICE)
    for body in ({"threshold": -1}, {"threshold": "3"}, {"pacing": "yes"}, {"assessment": "meh"}, {"speed": 1}):
        r = sandbox.control.post(f"/templates/{tpl['id']}/pacing", json=body)
        assert r.status_code == 400 and r.json()["error"], body
    assert sandbox.control.post("/templates/404/pacing", json={}).status_code == 404
    bad = sandbox.control.post("/templates", json={**NOTICE, "pacing": True, "pacing_threshold": 1.5})
    assert bad.status_code == 400
