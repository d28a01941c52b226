"""Flows management over real HTTP: create, metadata, Flow JSON upload with validation errors, publish,
deprecate, delete, assets, metrics — and Meta's lifecycle errors from the sandbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from wacloud import errors

FLOW_JSON = {
    "version": "6.0",
    "screens": [
        {
            "id": "WELCOME",
            "title": "Hi",
            "terminal": True,
            "layout": {"type": "SingleColumnLayout", "children": [{"type": "TextHeading", "text": "Hello"}]},
        }
    ],
}


def test_flow_lifecycle(box: Any) -> None:
    client = box.client()
    created = client.create_flow("signup", ["SIGN_UP"])
    assert created.id
    fid = created.id
    flow = client.get_flow(fid)
    assert (flow["name"], flow["status"], flow["categories"]) == ("signup", "DRAFT", ["SIGN_UP"])
    assert client.update_flow_metadata(fid, name="signup_v2", categories=["SIGN_UP", "OTHER"]) is True
    assert client.get_flow(fid, fields=["name"])["name"] == "signup_v2"
    with pytest.raises(errors.WhatsAppError) as early:
        client.publish_flow(fid)  # no Flow JSON yet
    assert early.value.code == 139002
    broken = client.update_flow_json(fid, '{"version": "6.0", "screens": [{"id": "A"}]}')
    assert broken.success and broken.validation_errors
    ok = client.update_flow_json(fid, FLOW_JSON)
    assert ok.success and ok.validation_errors == []
    assets = client.flow_assets(fid)
    assert assets[0]["asset_type"] == "FLOW_JSON"
    download = httpx.get(assets[0]["download_url"], headers={"Authorization": f"Bearer {box.cfg.access_token}"})
    assert download.json() == FLOW_JSON
    assert client.publish_flow(fid) is True
    assert client.get_flow(fid)["status"] == "PUBLISHED"
    with pytest.raises(errors.WhatsAppError) as frozen:
        client.update_flow_json(fid, FLOW_JSON)
    assert frozen.value.code == 139001
    with pytest.raises(errors.WhatsAppError) as undeletable:
        client.delete_flow(fid)
    assert undeletable.value.code == 139004
    metric = client.flow_metrics(fid, "ENDPOINT_REQUEST_COUNT", granularity="DAY", since="2026-01-01")
    assert metric["name"] == "ENDPOINT_REQUEST_COUNT" and metric["data_points"]
    assert client.deprecate_flow(fid) is True
    assert client.get_flow(fid)["status"] == "DEPRECATED"
    assert [f["id"] for f in client.list_flows().data] == [fid]


def test_create_published_from_json_clone_and_delete(box: Any) -> None:
    client = box.client()
    first = client.create_flow("booking", ["APPOINTMENT_BOOKING"], flow_json=FLOW_JSON, publish=True)
    assert first.validation_errors == [] and client.get_flow(first.id or "")["status"] == "PUBLISHED"
    clone = client.create_flow("booking_copy", ["OTHER"], clone_flow_id=first.id)
    assert client.flow_assets(clone.id or "")
    assert client.delete_flow(clone.id or "") is True
    with pytest.raises(errors.InvalidRequest):
        client.get_flow(clone.id or "")
    with pytest.raises(errors.InvalidRequest) as dup:
        client.create_flow("booking", ["OTHER"])
    assert "not unique" in str(dup.value)


def test_flow_inputs_checked_locally(box: Any) -> None:
    client = box.client()
    with pytest.raises(errors.ValidationError):
        client.create_flow("x", ["NOT_A_CATEGORY"])
    with pytest.raises(errors.ValidationError):
        client.create_flow("", ["OTHER"])
    with pytest.raises(errors.ValidationError):
        client.update_flow_json("1", "{not json")
    with pytest.raises(errors.ValidationError):
        client.flow_metrics("1", "BOGUS")
    with pytest.raises(errors.ValidationError):
        client.update_flow_metadata("1")
    resp = box.graph("POST", f"{box.cfg.waba_id}/flows", data={"name": "x", "categories": '["NOPE"]'})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 100


async def test_async_flows(box: Any) -> None:
    async with box.async_client() as client:
        created = await client.create_flow("async_flow", ["SURVEY"])
        result = await client.update_flow_json(created.id, FLOW_JSON)
        assert result.validation_errors == []
        assert await client.publish_flow(created.id) is True


def test_send_a_flow_both_ways_and_parse_its_completion(box: Any) -> None:
    import json as _json

    from wacloud.flows import parse_nfm_reply

    client = box.client()
    flow = client.create_flow("booking_flow", ["APPOINTMENT_BOOKING"], flow_json=FLOW_JSON, publish=True)
    wa_id = "15550005555"
    box.open_window(wa_id)
    navigate = client.send_flow(
        wa_id,
        "Book a table",
        "Book now",
        flow_id=flow.id,
        flow_token="tok-1",
        flow_action="navigate",
        screen="WELCOME",
        data={"party": 2},
    )
    exchange = client.send_flow(
        wa_id, "Book a table", "Book now", flow_id=flow.id, flow_token="tok-2", flow_action="data_exchange"
    )
    assert navigate.wamid != exchange.wamid
    sent = box.control.get(f"/_sandbox/customers/{wa_id}/messages").json()["received"]
    actions = [m["body"]["interactive"]["action"]["parameters"] for m in sent if m["type"] == "interactive"]
    assert [a.get("flow_action") for a in actions] == ["navigate", "data_exchange"]
    assert actions[0]["flow_action_payload"] == {"screen": "WELCOME", "data": {"party": 2}}
    # The customer finishes the flow: WhatsApp sends an nfm_reply with the flow's response_json.
    reply = box.control.post(
        "/_sandbox/inbound",
        json={
            "from": wa_id,
            "interactive": {
                "type": "nfm_reply",
                "nfm_reply": {
                    "name": "flow",
                    "body": "Sent",
                    "response_json": _json.dumps({"flow_token": "tok-1", "time": "19:00"}),
                },
            },
        },
    )
    assert reply.status_code == 200, reply.text
    payload = reply.json()
    message = payload["payload"]["entry"][0]["changes"][0]["value"]["messages"][0]
    done = parse_nfm_reply(message)
    assert (done.flow_token, done.response) == ("tok-1", {"time": "19:00"})
