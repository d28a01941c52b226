"""The 2026 identity fields: BSUIDs, parent BSUIDs, usernames, username-only customers, number changes and
``recipient`` sends; every payload is checked with the typed webhook models too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.helpers import WA_ID, error_code, open_window, send
from wacloud.sandbox.testing import SandboxHandle, WebhookSink, run_sandbox
from wacloud.webhooks import MessageUpdate, StatusUpdate, parse
from wacloud.webhooks.identity import is_parent_user_id


def _updates(sink: WebhookSink) -> list[Any]:
    return [u for d in sink.deliveries for u in parse(d.body)]


def _text(sandbox: SandboxHandle, **address: str) -> Any:
    return send(sandbox, {**address, "type": "text", "text": {"body": "hi"}})


def test_webhooks_carry_bsuid_username_and_status_contacts(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    user_id = sandbox.add_customer(WA_ID, profile_name="Ana", username="ana.l")["user_id"]
    assert user_id.startswith("US.") and user_id[3:].isdigit()
    open_window(sandbox)
    r = _text(sandbox, to=WA_ID)
    assert r.status_code == 200, r.text
    wamid = r.json()["messages"][0]["id"]
    webhook_sink.wait_statuses(wamid, "sent", "delivered", "read")
    sandbox.wait_idle()

    [inbound] = webhook_sink.messages()
    assert inbound["from"] == WA_ID and inbound["from_user_id"] == user_id
    [change] = [c for c in webhook_sink.changes() if "messages" in c]
    assert change["contacts"] == [{"profile": {"name": "Ana", "username": "ana.l"}, "wa_id": WA_ID, "user_id": user_id}]
    by_status = {s["status"]: s for s in webhook_sink.statuses(wamid)}
    for status in by_status.values():
        # What a pywa-style consumer reads: the recipient's user_id in the status's contacts.
        assert status["recipient_id"] == WA_ID and status["recipient_user_id"] == user_id
        assert status["contacts"][0]["user_id"] == user_id and status["contacts"][0]["wa_id"] == WA_ID
    assert "username" not in by_status["sent"]["contacts"][0]["profile"]  # delivered and read only
    assert by_status["read"]["contacts"][0]["profile"]["username"] == "ana.l"

    updates = _updates(webhook_sink)
    [message] = [u for u in updates if isinstance(u, MessageUpdate)]
    assert message.user_id == user_id and message.contact is not None
    assert message.contact.profile is not None and message.contact.profile.username == "ana.l"
    statuses = [u for u in updates if isinstance(u, StatusUpdate)]
    assert {s.status.recipient_user_id for s in statuses} == {user_id}
    assert all(s.recipient.user_id == user_id and s.recipient.wa_id == WA_ID for s in statuses)


def test_username_only_customer_end_to_end(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    created = sandbox.control.post("/customers", json={"username": "nophone", "profile_name": "Nia"}).json()
    user_id = created["user_id"]
    assert created["phone"] is None and created["wa_id"] == user_id and created["username"] == "nophone"
    # Stable: the same sandbox (seed) makes the same BSUID after a reset.
    sandbox.reset()
    sandbox.connect(webhook_sink)
    again = sandbox.control.post("/customers", json={"username": "nophone", "profile_name": "Nia"}).json()
    assert again["user_id"] == user_id

    inbound_id = sandbox.inject(user_id, text="hello, no number here")["id"]
    r = _text(sandbox, recipient=user_id)
    assert r.status_code == 200, r.text
    assert r.json()["contacts"] == [{"input": user_id, "user_id": user_id}]
    wamid = r.json()["messages"][0]["id"]
    webhook_sink.wait_statuses(wamid, "sent", "delivered", "read")
    sandbox.wait_idle()

    [message] = webhook_sink.messages()
    assert message["id"] == inbound_id and "from" not in message and message["from_user_id"] == user_id
    [change] = [c for c in webhook_sink.changes() if "messages" in c]
    assert "wa_id" not in change["contacts"][0] and change["contacts"][0]["user_id"] == user_id
    for status in webhook_sink.statuses(wamid):
        assert "recipient_id" not in status and status["recipient_user_id"] == user_id
        assert "wa_id" not in status["contacts"][0]

    updates = _updates(webhook_sink)
    [update] = [u for u in updates if isinstance(u, MessageUpdate)]
    assert update.message.phone is None and update.from_ == user_id and update.user_id == user_id
    assert update.sender.address == user_id and update.sender.username == "nophone"
    statuses = [u for u in updates if isinstance(u, StatusUpdate)]
    assert statuses and all(s.status.recipient_id is None and s.recipient.address == user_id for s in statuses)
    # The customer's record: one window, opened by their message, used by the BSUID send.
    assert sandbox.control.get(f"/customers/{user_id}").json()["window_open"] is True


def test_recipient_rules(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    user_id = sandbox.add_customer(WA_ID)["user_id"]
    open_window(sandbox)
    # Both: "to" takes precedence and the answer follows the phone path.
    both = _text(sandbox, to=WA_ID, recipient=user_id)
    assert both.json()["contacts"] == [{"input": WA_ID, "wa_id": WA_ID}]
    # A BSUID send reaches the same customer (same window) as the phone number.
    by_id = _text(sandbox, recipient=user_id)
    assert by_id.status_code == 200 and by_id.json()["contacts"] == [{"input": user_id, "user_id": user_id}]
    assert sandbox.message(by_id.json()["messages"][0]["id"])["wa_id"] == WA_ID
    for bad in ("16505551234", "us.123", 12, "US.12 34"):
        assert error_code(_text(sandbox, recipient=bad)) in (100, 131009)  # 131009: value not valid
    assert error_code(send(sandbox, {"type": "text", "text": {"body": "nobody"}})) == 131008
    # One-tap, zero-tap and copy-code authentication templates need a phone number (131062).
    sandbox.put_template(
        {
            "name": "otp_code",
            "language": "en_US",
            "category": "AUTHENTICATION",
            "components": [
                {"type": "BODY", "add_security_recommendation": True},
                {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
            ],
        }
    )
    otp = {
        "type": "template",
        "template": {
            "name": "otp_code",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "123456"}]},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "123456"}]},
            ],
        },
    }
    assert send(sandbox, {"to": WA_ID, **otp}).status_code == 200
    assert error_code(send(sandbox, {"recipient": user_id, **otp})) == 131062


def test_unknown_bsuid_recipients(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    hello = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    # "auto": a BSUID never seen becomes a username-only customer (window closed), like an unknown number.
    r = send(sandbox, {"recipient": "US.99999999999999999999", **hello})
    assert r.status_code == 200 and r.json()["contacts"][0]["user_id"] == "US.99999999999999999999"
    # A parent BSUID can't be made up: unknown ones are undeliverable (a failed status, no contacts).
    r = send(sandbox, {"recipient": "US.ENT.99999999999999999999", **hello})
    wamid = r.json()["messages"][0]["id"]
    [failed] = webhook_sink.wait_statuses(wamid, "failed")
    assert failed["errors"][0]["code"] == 131026 and "contacts" not in failed
    assert failed["recipient_user_id"] == "US.ENT.99999999999999999999" and "recipient_id" not in failed


@pytest.fixture(scope="module")
def portfolio() -> Iterator[SandboxHandle]:
    with run_sandbox(parent_user_ids=True) as handle:
        yield handle


def test_parent_bsuids(portfolio: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox = portfolio
    sandbox.reset()
    sandbox.connect(webhook_sink)
    created = sandbox.add_customer(WA_ID, username="pat")
    parent = created["parent_user_id"]
    assert is_parent_user_id(parent) and parent.startswith("US.ENT.")
    open_window(sandbox)
    r = _text(sandbox, recipient=parent)
    assert r.status_code == 200, r.text
    assert r.json()["contacts"] == [{"input": parent, "user_id": created["user_id"]}]
    wamid = r.json()["messages"][0]["id"]
    [sent] = webhook_sink.wait_statuses(wamid, "sent")
    assert sent["recipient_parent_user_id"] == parent and sent["contacts"][0]["parent_user_id"] == parent
    sandbox.wait_idle()
    [update] = [u for u in _updates(webhook_sink) if isinstance(u, MessageUpdate)]
    assert update.sender.parent_user_id == parent and update.sender.key == parent


def test_customer_changes_number(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    old = sandbox.add_customer(WA_ID, profile_name="Ana")
    open_window(sandbox)
    new_number = "16505559876"
    changed = sandbox.control.post(f"/customers/{WA_ID}/number", json={"wa_id": new_number}).json()
    assert changed["wa_id"] == new_number and changed["user_id"] != old["user_id"]  # Meta makes a new BSUID
    assert changed["window_open"] is True  # still the same person
    sandbox.wait_idle()
    system = [m for m in webhook_sink.messages() if m["type"] == "system"]
    assert system == [
        {
            "id": changed["message_id"],
            "timestamp": system[0]["timestamp"],
            "type": "system",
            "from": WA_ID,
            "from_user_id": old["user_id"],
            "system": {"body": f"User Ana changed from {WA_ID} to {new_number}", "type": "user_changed_number",
                       "wa_id": new_number},
        }
    ]
    change = next(c for c in webhook_sink.changes() if c["messages"][0]["type"] == "system")
    assert "contacts" not in change  # Meta's system messages carry no contacts
    [update] = [u for u in _updates(webhook_sink) if isinstance(u, MessageUpdate) and u.message.type == "system"]
    assert update.message.system.wa_id == new_number  # type: ignore[attr-defined]
    assert sandbox.control.get(f"/customers/{WA_ID}").status_code == 404
    assert _text(sandbox, recipient=changed["user_id"]).status_code == 200
    assert sandbox.control.post(f"/customers/{new_number}/number", json={"wa_id": "x"}).status_code == 400


def test_customer_identity_changed(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    sandbox.add_customer(WA_ID)
    sandbox.inject(WA_ID, system={"type": "customer_identity_changed", "identity": {"hash": "abc123"}})
    sandbox.wait_idle()
    [message] = webhook_sink.messages()
    system = {"body": "User identity changed", "type": "customer_identity_changed", "customer": WA_ID}
    assert message["system"] == system
    assert message["identity"]["hash"] == "abc123" and message["identity"]["acknowledged"] is False
    [update] = [u for u in _updates(webhook_sink) if isinstance(u, MessageUpdate)]
    identity = update.message.identity  # type: ignore[attr-defined]
    assert identity.hash == "abc123" and identity.created_timestamp is not None
    assert json.loads(webhook_sink.deliveries[0].body)["entry"][0]["id"] == sandbox.waba_id


def test_every_customer_webhook_names_the_customer_by_bsuid(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    """What a pywa-style consumer requires: ``user_id`` in every contact, ``contacts`` on every non-failed status."""
    from wacloud.webhooks import ErrorUpdate, RawUpdate

    sandbox.connect(webhook_sink)
    sandbox.add_customer(WA_ID, username="ana")
    sandbox.add_customer("447700900123", on_whatsapp=False)
    nophone = sandbox.control.post("/customers", json={"username": "nia"}).json()["user_id"]
    inbound = open_window(sandbox)
    sandbox.inject(nophone, text="hi")
    sandbox.inject(WA_ID, image={"caption": "look"})
    sandbox.inject(WA_ID, location={"latitude": 1, "longitude": 2})
    sandbox.update_customer(WA_ID, marketing_opt_out=True)
    media = send(sandbox, {"to": WA_ID, "type": "image", "image": {"link": "https://example.com/a.jpg"}})
    reaction = {"message_id": inbound, "emoji": "\N{OK HAND SIGN}"}
    wamids = [
        _text(sandbox, to=WA_ID).json()["messages"][0]["id"],
        _text(sandbox, recipient=nophone).json()["messages"][0]["id"],
        media.json()["messages"][0]["id"],
        send(sandbox, {"to": WA_ID, "type": "reaction", "reaction": reaction}).json()["messages"][0]["id"],
        send(sandbox, {"to": "447700900123", "type": "template",
                       "template": {"name": "hello_world", "language": {"code": "en_US"}}}).json()["messages"][0]["id"],
    ]  # fmt: skip
    for wamid in wamids[:3]:
        webhook_sink.wait_statuses(wamid, "read")
    webhook_sink.wait_statuses(wamids[4], "failed")
    sandbox.wait_idle()
    checked = 0
    for delivery in webhook_sink.deliveries:
        for entry in json.loads(delivery.body)["entry"]:
            for change in entry["changes"]:
                value = change["value"]
                for contact in value.get("contacts", []):
                    assert contact["user_id"].startswith(("US.", "GB.")), change
                    checked += 1
                for status in value.get("statuses", []):
                    if status["status"] != "failed":
                        assert status["contacts"][0]["user_id"] == status["recipient_user_id"], status
                        checked += 1
        assert not [u for u in parse(delivery.body) if isinstance(u, RawUpdate | ErrorUpdate)]
    assert checked >= 15


def test_chosen_bsuids_and_bad_identity_data(sandbox: SandboxHandle) -> None:
    made = sandbox.add_customer(WA_ID, user_id="BR.1502576394655843", parent_user_id="BR.ENT.42")
    assert (made["user_id"], made["parent_user_id"]) == ("BR.1502576394655843", "BR.ENT.42")
    assert sandbox.control.get("/customers/BR.ENT.42").json()["wa_id"] == WA_ID  # found by any of its ids
    for body in (
        {"wa_id": WA_ID, "user_id": "not-a-bsuid"},
        {"wa_id": WA_ID, "user_id": "US.ENT.1"},  # a parent id is not a user id
        {"wa_id": WA_ID, "parent_user_id": "US.1"},
        {"username": ""},
        {"username": 5},
        {"wa_id": WA_ID, "user_id": 7},
    ):
        r = sandbox.control.post("/customers", json=body)
        assert r.status_code == 400 and r.json()["error"], body
    assert [c["wa_id"] for c in sandbox.control.get("/customers").json()["customers"]] == [WA_ID]  # nothing half-made
    assert sandbox.control.post("/inbound", json={"from": "US.404", "text": "hi"}).status_code == 400
