"""Undeliverable, window closed, opted out, blocked: a 200 then a ``failed`` status (or sync, if set)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.helpers import WA_ID, error_code, open_window, send
from wacloud.sandbox.testing import SandboxHandle, WebhookSink

PROMO = {
    "name": "seasonal_promotion",
    "language": {"code": "en_US"},
    "components": [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/p.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": t} for t in ("summer", "S25", "25%")]},
    ],
}


def _cases() -> list[tuple[str, dict[str, Any], dict[str, Any], int]]:
    text = {"type": "text", "text": {"body": "hi"}}
    hello = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    promo = {"type": "template", "template": PROMO}
    return [
        ("not on WhatsApp", {"on_whatsapp": False}, hello, 131026),
        ("window closed", {}, text, 131047),
        ("marketing opt-out", {"marketing_opt_out": True}, promo, 131050),
        ("blocked", {"blocked": True}, hello, 130403),
    ]


@pytest.mark.parametrize(("label", "customer", "body", "code"), _cases(), ids=[c[0] for c in _cases()])
def test_failure_arrives_as_failed_status(
    sandbox: SandboxHandle,
    webhook_sink: WebhookSink,
    label: str,
    customer: dict[str, Any],
    body: dict[str, Any],
    code: int,
) -> None:
    sandbox.connect(webhook_sink)
    sandbox.add_customer(WA_ID, **customer)
    r = send(sandbox, {"to": WA_ID, **body})
    assert r.status_code == 200
    wamid = r.json()["messages"][0]["id"]
    [status] = webhook_sink.wait_statuses(wamid, "failed")
    assert status["errors"][0]["code"] == code and status["recipient_id"] == WA_ID
    assert "pricing" not in status
    sandbox.wait_idle()
    assert [s["status"] for s in webhook_sink.statuses(wamid)] == ["failed"]
    assert sandbox.stats()["failed_statuses"] == {str(code): 1}


@pytest.mark.parametrize(("label", "customer", "body", "code"), _cases(), ids=[c[0] for c in _cases()])
def test_failure_channel_can_be_sync(
    sandbox: SandboxHandle, label: str, customer: dict[str, Any], body: dict[str, Any], code: int
) -> None:
    sandbox.configure(failure_channels={str(code): "sync"})
    sandbox.add_customer(WA_ID, **customer)
    assert error_code(send(sandbox, {"to": WA_ID, **body})) == code
    assert sandbox.stats()["errors"] == {str(code): 1}


def test_marketing_opt_out_does_not_stop_utility(sandbox: SandboxHandle) -> None:
    sandbox.add_customer(WA_ID, marketing_opt_out=True)
    wamid = send(
        sandbox, {"to": WA_ID, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    ).json()["messages"][0]["id"]
    sandbox.wait_idle()
    assert [s["status"] for s in sandbox.message(wamid)["statuses"]] == ["sent", "delivered", "read"]


def test_unknown_recipients_can_be_undeliverable(sandbox: SandboxHandle) -> None:
    sandbox.configure(unknown_recipients="undeliverable")
    wamid = send(
        sandbox,
        {"to": "16505550077", "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}},
    ).json()["messages"][0]["id"]
    sandbox.wait_idle()
    assert sandbox.message(wamid)["statuses"][0]["code"] == 131026


def test_unknown_recipients_are_created_with_the_window_closed(sandbox: SandboxHandle) -> None:
    send(
        sandbox,
        {"to": "16505550078", "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}},
    )
    customer = sandbox.control.get("/customers/16505550078").json()
    assert customer["on_whatsapp"] is True and customer["window_open"] is False


def test_read_receipts_off(sandbox: SandboxHandle) -> None:
    open_window(sandbox)
    sandbox.update_customer(WA_ID, read_receipts=False)
    wamid = send(sandbox, {"to": WA_ID, "text": {"body": "hi"}}).json()["messages"][0]["id"]
    sandbox.freeze()
    sandbox.advance(5)
    assert [s["status"] for s in sandbox.message(wamid)["statuses"]] == ["sent", "delivered"]


def test_pricing_by_category(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    open_window(sandbox)
    service = send(sandbox, {"to": WA_ID, "text": {"body": "hi"}}).json()["messages"][0]["id"]
    utility_in_window = send(
        sandbox, {"to": WA_ID, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    ).json()["messages"][0]["id"]
    marketing = send(sandbox, {"to": WA_ID, "type": "template", "template": PROMO}).json()["messages"][0]["id"]
    pricing = {w: webhook_sink.wait_statuses(w, "sent")[0]["pricing"] for w in (service, utility_in_window, marketing)}
    assert pricing[service] == {
        "billable": False,
        "pricing_model": "PMP",
        "type": "free_customer_service",
        "category": "service",
    }
    assert pricing[utility_in_window]["type"] == "free_customer_service"
    assert pricing[utility_in_window]["category"] == "utility"
    assert pricing[marketing] == {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"}


def test_free_entry_point_after_an_ad(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    sandbox.inject(WA_ID, text="I saw your ad", referral={"headline": "Sale"})
    wamid = send(sandbox, {"to": WA_ID, "type": "template", "template": PROMO}).json()["messages"][0]["id"]
    sent = webhook_sink.wait_statuses(wamid, "sent")[0]
    assert sent["pricing"]["type"] == "free_entry_point"
    assert sent["conversation"]["origin"]["type"] == "referral_conversion"


def test_opt_out_change_sends_user_preferences(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    from wacloud.webhooks import parse

    sandbox.connect(webhook_sink)
    sandbox.add_customer(WA_ID, profile_name="Ana")
    sandbox.update_customer(WA_ID, marketing_opt_out=True)
    sandbox.update_customer(WA_ID, profile_name="Ana L.")  # no preference change, no webhook
    sandbox.update_customer(WA_ID, marketing_opt_out=False)
    webhook_sink.wait_for(lambda s: len(s.changes("user_preferences")) == 2)
    sandbox.wait_idle()
    first, second = webhook_sink.changes("user_preferences")
    assert first["user_preferences"][0]["value"] == "stop" and first["user_preferences"][0]["wa_id"] == WA_ID
    user_id = sandbox.control.get(f"/customers/{WA_ID}").json()["user_id"]
    assert first["contacts"] == [{"profile": {"name": "Ana"}, "wa_id": WA_ID, "user_id": user_id}]
    assert second["user_preferences"][0]["value"] == "resume"
    updates = [u for d in webhook_sink.deliveries for u in parse(d.body)]
    assert [type(u).__name__ for u in updates] == ["UserPreferencesUpdate", "UserPreferencesUpdate"]
