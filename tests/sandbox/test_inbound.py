"""Injected customer messages of every type arrive as Meta-shaped, signed, schema-valid webhooks."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from sandbox.helpers import WA_ID, error_code, open_window, send
from sandbox.schemas import errors_of, webhook_validator
from wacloud.sandbox.testing import SandboxHandle, WebhookSink


@pytest.fixture(scope="module")
def validator(openapi_spec: dict[str, Any]) -> Any:
    return webhook_validator(openapi_spec)


def _sent(sandbox: SandboxHandle, body: dict[str, Any]) -> str:
    r = send(sandbox, {"to": WA_ID, **body})
    assert r.status_code == 200, r.text
    wamid: str = r.json()["messages"][0]["id"]
    return wamid


def test_every_inbound_type(sandbox: SandboxHandle, webhook_sink: WebhookSink, validator: Any) -> None:
    sandbox.connect(webhook_sink)
    first = open_window(sandbox)
    buttons = _sent(
        sandbox,
        {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": "Pick"},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                        {"type": "reply", "reply": {"id": "no", "title": "No"}},
                    ]
                },
            },
        },
    )
    listing = _sent(
        sandbox,
        {
            "type": "interactive",
            "interactive": {
                "type": "list",
                "body": {"text": "Choose"},
                "action": {
                    "button": "Options",
                    "sections": [{"title": "S", "rows": [{"id": "r1", "title": "Row 1", "description": "First"}]}],
                },
            },
        },
    )
    flow = _sent(
        sandbox,
        {
            "type": "interactive",
            "interactive": {
                "type": "flow",
                "body": {"text": "Sign up"},
                "action": {
                    "name": "flow",
                    "parameters": {
                        "flow_message_version": "3",
                        "flow_id": "123",
                        "flow_cta": "Open",
                        "flow_token": "tok-1",
                    },
                },
            },
        },
    )
    template = _sent(
        sandbox,
        {
            "type": "template",
            "template": {
                "name": "seasonal_promotion",
                "language": {"code": "en_US"},
                "components": [
                    {
                        "type": "header",
                        "parameters": [{"type": "image", "image": {"link": "https://example.com/a.jpg"}}],
                    },
                    {"type": "body", "parameters": [{"type": "text", "text": t} for t in ("spring", "S10", "10%")]},
                    {
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": "1",
                        "parameters": [{"type": "payload", "payload": "STOP"}],
                    },
                ],
            },
        },
    )
    shots: list[dict[str, Any]] = [
        {"text": "plain text"},
        {"text": "from an ad", "referral": {"headline": "Spring sale"}},
        {"image": {"caption": "a photo"}},
        {"video": {"caption": "a clip"}},
        {"audio": {"voice": True}},
        {"document": {"filename": "invoice.pdf", "caption": "my invoice"}},
        {"sticker": {"animated": True}},
        {"location": {"latitude": 37.44, "longitude": -122.16, "name": "Philz", "address": "101 Forest Ave"}},
        {
            "contacts": [
                {
                    "name": {"formatted_name": "Ana Lima", "first_name": "Ana"},
                    "phones": [{"phone": "+1 650 555 0000", "type": "WORK"}],
                }
            ]
        },
        {"reaction": {"message_id": buttons, "emoji": "\N{HEAVY BLACK HEART}"}},
        {"reply_to": buttons, "button_reply": {"id": "no"}},
        {"reply_to": listing, "list_reply": {"id": "r1"}},
        {"reply_to": flow, "nfm_reply": {"response": {"email": "a@b.c"}}},
        {"type": "button", "reply_to": template, "button": {"index": 1, "text": "Stop promotions"}},
        {
            "order": {
                "catalog_id": "194836987003835",
                "text": "",
                "product_items": [{"product_retailer_id": "di9", "quantity": 2, "item_price": 30, "currency": "USD"}],
            }
        },
        {"type": "unsupported"},
        {"system": {"type": "user_changed_number", "wa_id": "16505559999"}},
    ]
    ids = [first] + [sandbox.inject(WA_ID, **s)["id"] for s in shots]
    webhook_sink.wait_for(lambda s: len(s.messages()) == len(ids))
    sandbox.wait_idle()
    got = {m["id"]: m for m in webhook_sink.messages()}
    assert set(got) == set(ids)
    for d in webhook_sink.deliveries:
        assert d.signature_ok
        problems = errors_of(validator, d.json)
        assert not problems, (problems, d.json)
    by_type = {m["type"]: m for m in got.values()}
    assert by_type["interactive"]  # several; check each reply below
    replies = [m for m in got.values() if m["type"] == "interactive"]
    kinds = {m["interactive"]["type"]: m for m in replies}
    assert kinds["button_reply"]["interactive"]["button_reply"] == {"id": "no", "title": "No"}
    assert kinds["button_reply"]["context"] == {"from": sandbox.display_phone_number, "id": buttons}
    assert kinds["list_reply"]["interactive"]["list_reply"] == {"id": "r1", "title": "Row 1", "description": "First"}
    nfm = kinds["nfm_reply"]["interactive"]["nfm_reply"]
    assert json.loads(nfm["response_json"]) == {"email": "a@b.c", "flow_token": "tok-1"}
    assert by_type["button"]["button"] == {"payload": "STOP", "text": "Stop promotions"}
    assert by_type["button"]["context"]["id"] == template
    assert by_type["audio"]["audio"]["voice"] is True
    assert by_type["sticker"]["sticker"]["mime_type"] == "image/webp"
    assert by_type["unsupported"]["errors"][0]["code"] == 131051
    assert by_type["system"]["system"]["wa_id"] == "16505559999"
    referral = next(m for m in got.values() if "referral" in m)
    assert referral["referral"]["headline"] == "Spring sale"
    # A system message has no contacts array; the others name the customer.
    for d in webhook_sink.deliveries:
        value = d.json["entry"][0]["changes"][0]["value"]
        if "messages" not in value:
            continue  # statuses of the messages sent above
        if value["messages"][0]["type"] == "system":
            assert "contacts" not in value
        else:
            assert value["contacts"][0]["wa_id"] == WA_ID


def test_inbound_media_can_be_downloaded(sandbox: SandboxHandle) -> None:
    data = b"\xff\xd8\xff customer photo"
    payload = sandbox.inject(WA_ID, image={"mime_type": "image/jpeg", "data_base64": base64.b64encode(data).decode()})
    image = payload["payload"]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    assert image["sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    info = sandbox.http.get(f"/{image['id']}").json()
    assert sandbox.http.get(info["url"]).content == data


def test_inbound_opens_the_window(sandbox: SandboxHandle) -> None:
    sandbox.freeze()
    before = send(sandbox, {"to": WA_ID, "text": {"body": "hi"}}).json()["messages"][0]["id"]
    sandbox.inject(WA_ID, text="hello")
    inside = send(sandbox, {"to": WA_ID, "text": {"body": "hi"}}).json()["messages"][0]["id"]
    sandbox.advance(24 * 3600 + 1)
    after = send(sandbox, {"to": WA_ID, "text": {"body": "hi"}}).json()["messages"][0]["id"]
    sandbox.advance(1)
    assert [s.get("code") for s in sandbox.message(before)["statuses"]] == [131047]
    assert [s["status"] for s in sandbox.message(inside)["statuses"]] == ["sent", "delivered", "read"]
    assert sandbox.message(after)["statuses"][0]["code"] == 131047
    assert sandbox.control.get(f"/customers/{WA_ID}").json()["window_open"] is False


def test_bad_injections_are_refused(sandbox: SandboxHandle) -> None:
    assert sandbox.control.post("/inbound", json={"text": "no sender"}).status_code == 400
    assert sandbox.control.post("/inbound", json={"from": WA_ID, "button_reply": {"id": "x"}}).status_code == 400
    r = sandbox.control.post("/inbound", json={"from": WA_ID, "reply_to": "wamid.nope", "list_reply": {"id": "x"}})
    assert r.status_code == 400 and "reply_to" in r.json()["error"]
    assert sandbox.control.post("/inbound", content=b"{not json").status_code == 400
    assert sandbox.control.post("/inbound", json={"from": WA_ID, "type": "hologram"}).status_code == 400


def test_reaction_to_an_unknown_message_fails_with_131009(sandbox: SandboxHandle) -> None:
    open_window(sandbox)
    r = send(sandbox, {"to": WA_ID, "type": "reaction", "reaction": {"message_id": "wamid.unknown", "emoji": "x"}})
    assert r.status_code == 200
    sandbox.wait_idle()
    assert sandbox.message(r.json()["messages"][0]["id"])["statuses"][0]["code"] == 131009
    assert error_code(send(sandbox, {"to": WA_ID, "type": "reaction", "reaction": {"emoji": "x"}})) == 131008
