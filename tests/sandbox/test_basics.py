"""Sends, the response shape, auth and versions, over real HTTP."""

from __future__ import annotations

import base64

import httpx

from wacloud.sandbox.testing import SandboxHandle, WebhookSink

TO = "+1 (650) 555-1234"
WA_ID = "16505551234"


def _send(sandbox: SandboxHandle, body: dict[str, object]) -> httpx.Response:
    return sandbox.http.post(f"/{sandbox.phone_number_id}/messages", json={"messaging_product": "whatsapp", **body})


def test_template_send_answers_like_meta(sandbox: SandboxHandle) -> None:
    r = _send(
        sandbox,
        {"to": TO, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": TO, "wa_id": WA_ID}]
    [item] = body["messages"]
    assert item["message_status"] == "accepted"
    assert item["id"].startswith("wamid.")
    assert WA_ID.encode() in base64.b64decode(item["id"][len("wamid.") :])


def test_wamids_are_unique(sandbox: SandboxHandle) -> None:
    sandbox.inject(WA_ID, text="hi")
    ids = {_send(sandbox, {"to": WA_ID, "text": {"body": f"m{i}"}}).json()["messages"][0]["id"] for i in range(30)}
    assert len(ids) == 30


def test_free_form_has_no_message_status(sandbox: SandboxHandle) -> None:
    sandbox.inject(WA_ID, text="hi")
    item = _send(sandbox, {"to": WA_ID, "type": "text", "text": {"body": "hello"}}).json()["messages"][0]
    assert set(item) == {"id"}


def test_wrong_and_missing_token_give_190(sandbox: SandboxHandle) -> None:
    url = f"{sandbox.graph_url}/{sandbox.phone_number_id}/messages"
    body = {"messaging_product": "whatsapp", "to": WA_ID, "text": {"body": "x"}}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        r = httpx.post(url, json=body, headers=headers)
        assert r.status_code == 401
        err = r.json()["error"]
        assert err["code"] == 190 and err["type"] == "OAuthException" and err["fbtrace_id"]
        assert sandbox.token not in r.text


def test_token_error_message_agrees_with_its_details(sandbox: SandboxHandle) -> None:
    """A wrong token is not an "expired" one, and a missing token is neither: message and details agree."""
    url = f"{sandbox.graph_url}/{sandbox.phone_number_id}/messages"
    body = {"messaging_product": "whatsapp", "to": WA_ID, "text": {"body": "x"}}
    wrong = httpx.post(url, json=body, headers={"Authorization": "Bearer nope"}).json()["error"]
    missing = httpx.post(url, json=body).json()["error"]
    for err in (wrong, missing):
        details = err["error_data"]["details"]
        assert "expired" not in err["message"].lower() and "expired" not in details.lower()
        assert err["message"] == f"(#{err['code']}) {details}"
    assert "invalid" in wrong["message"].lower()
    assert "required" in missing["message"].lower()


def test_missing_token_code_is_configurable(sandbox: SandboxHandle) -> None:
    sandbox.configure(missing_token_code=104)
    r = httpx.get(f"{sandbox.graph_url}/{sandbox.waba_id}/message_templates")
    assert r.status_code == 401 and r.json()["error"]["code"] == 104


def test_versions(sandbox: SandboxHandle) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    for prefix in ("/v21.0", "/v23.0", "/v26.0", ""):
        r = httpx.get(f"{sandbox.base_url}{prefix}/{sandbox.waba_id}/message_templates", headers=headers)
        assert r.status_code == 200, prefix
    r = httpx.get(f"{sandbox.base_url}/v20.0/{sandbox.waba_id}/message_templates", headers=headers)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == 2635
    assert "v20.0" in r.json()["error"]["message"]


def test_unknown_phone_number_id(sandbox: SandboxHandle) -> None:
    r = sandbox.http.post("/999/messages", json={"messaging_product": "whatsapp", "to": WA_ID, "text": {"body": "x"}})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == 100 and r.json()["error"]["error_subcode"] == 33


def test_mark_read_and_typing(sandbox: SandboxHandle) -> None:
    inbound = sandbox.inject(WA_ID, text="hello")
    for extra in ({}, {"typing_indicator": {"type": "text"}}):
        r = _send(sandbox, {"status": "read", "message_id": inbound["id"], **extra})
        assert r.status_code == 200 and r.json() == {"success": True}
    sent = sandbox.control.get(f"/customers/{WA_ID}/messages").json()["sent"]
    assert sent[0]["read"] is True
    r = _send(sandbox, {"status": "read", "message_id": inbound["id"], "typing_indicator": {"type": "audio"}})
    assert r.status_code == 400 and r.json()["error"]["code"] == 100


def test_statuses_reach_the_webhook_signed(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    wamid = _send(
        sandbox,
        {"to": WA_ID, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}},
    ).json()["messages"][0]["id"]
    statuses = webhook_sink.wait_statuses(wamid, "sent", "delivered", "read")
    assert all(d.signature_ok for d in webhook_sink.deliveries)
    by = {s["status"]: s for s in statuses}
    assert by["sent"]["pricing"] == {
        "billable": True,
        "pricing_model": "PMP",
        "type": "regular",
        "category": "utility",
    }
    assert "pricing" in by["delivered"] and "pricing" not in by["read"]
    assert "conversation" not in by["sent"]  # v24+ leaves it out
    history = [s["status"] for s in sandbox.message(wamid)["statuses"]]
    assert history == ["sent", "delivered", "read"]
