"""Calling and Groups end to end through the gateway: requests go out through ``/v1`` to the embedded sandbox,
the sandbox's signed webhooks come back to the gateway's ``/webhook``, and the typed updates become events
(``call.updated``, ``group.updated``, ``message.received``) that a user reads from ``GET /v1/events``."""

from __future__ import annotations

from typing import Any

from coverage.conftest import SDP_ANSWER, SDP_OFFER, control
from gateway.conftest import LiveGateway, wait_for

MEMBERS = [f"1650777{i:04d}" for i in range(4)]


def _event(live: LiveGateway, kind: str, what: str, **match: Any) -> dict[str, Any]:
    """Wait for the first event of ``kind`` whose ``data`` has every ``match`` value."""

    def found() -> dict[str, Any] | None:
        page = live.http.get("/v1/events", params={"types": kind, "limit": 1000}).json()
        for event in page["events"]:
            if all(event["data"].get(k) == v for k, v in match.items()):
                return dict(event)
        return None

    event: dict[str, Any] = wait_for(found, 15, what)
    return event


def test_a_user_call_comes_back_as_events_and_is_answered_through_the_gateway(live: LiveGateway) -> None:
    user = "15550303001"
    placed = control(live, "/calls", **{"from": user, "sdp": SDP_OFFER, "profile_name": "Ada"})
    call_id = placed["id"]
    # The webhook came back: the call id and the caller's SDP offer, opaque, are in the event log.
    connect = _event(live, "call.updated", "the connect event", call_id=call_id, event="connect")
    assert connect["data"]["sdp"] == SDP_OFFER and connect["data"]["sdp_type"] == "offer"
    assert connect["data"]["direction"] == "USER_INITIATED"
    assert connect["contact"]["wa_id"] == user
    assert connect["phone_number_id"] == live.gw.creds.phone_number_id
    accepted = live.http.post(f"/v1/calls/{call_id}/accept", json={"sdp": SDP_ANSWER,
                                                                  "biz_opaque_callback_data": "case-9"})
    assert accepted.status_code == 200, accepted.text
    assert live.http.post(f"/v1/calls/{call_id}/terminate").json() == {"success": True}
    end = _event(live, "call.updated", "the terminate event", call_id=call_id, event="terminate")
    assert end["data"]["status"] == "COMPLETED" and isinstance(end["data"]["duration"], int)
    assert end["data"]["biz_opaque_callback_data"] == "case-9"
    assert end["position"] > connect["position"]


def test_a_business_call_after_permission_comes_back_as_events(live: LiveGateway) -> None:
    user = "15550303002"
    live.inject(user, text="please call me")
    asked = live.http.post("/v1/calls/permissions", json={"to": user, "body": "May we call you?"})
    assert asked.status_code == 201, asked.text
    control(live, "/call_permissions", wa_id=user, response="accept")
    # The user's answer is a message (interactive call_permission_reply) in the log.
    reply = _event(live, "message.received", "the permission reply", type="interactive")
    assert reply["data"]["message"]["interactive"]["call_permission_reply"]["response"] == "accept"
    wait_for(lambda: live.http.get(f"/v1/calls/permissions/{user}").json()["can_call"], 10, "the permission")
    placed = live.http.post("/v1/calls", json={"to": user, "sdp": SDP_OFFER, "biz_opaque_callback_data": "out-1"})
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["call_id"]
    control(live, f"/calls/{call_id}/accept", sdp=SDP_ANSWER)
    accepted = _event(live, "call.updated", "the ACCEPTED status", call_id=call_id, event="status",
                      status="ACCEPTED")
    assert accepted["contact"]["wa_id"] == user
    answer = _event(live, "call.updated", "the connect with the user's answer", call_id=call_id, event="connect")
    assert answer["data"]["direction"] == "BUSINESS_INITIATED" and answer["data"]["sdp"] == SDP_ANSWER
    assert live.http.post(f"/v1/calls/{call_id}/terminate").json() == {"success": True}
    _event(live, "call.updated", "the terminate event", call_id=call_id, event="terminate")


def test_a_group_lives_and_dies_through_the_gateway_and_its_events(live: LiveGateway) -> None:
    http = live.http
    made = http.post("/v1/groups", json={"subject": "Event Watchers"})
    assert made.status_code == 202, made.text
    request_id = made.json()["request_id"]
    created = _event(live, "group.updated", "the group_create event", type="group_create", request_id=request_id)
    gid = created["data"]["group_id"]
    link = created["data"]["value"]["invite_link"]  # the link arrives with the webhook
    assert link.startswith("https://chat.whatsapp.com/")

    control(live, "/groups/join", wa_id=MEMBERS[0], invite_link=link, profile_name="Ada")
    joined = _event(live, "group.updated", "the join", group_id=gid, type="group_participants_add")
    assert joined["data"]["value"]["added_participants"][0]["wa_id"] == MEMBERS[0]

    wrote = control(live, f"/groups/{gid}/messages", **{"from": MEMBERS[0], "text": "hello events"})
    said = _event(live, "message.received", "the group message", wamid=wrote["id"])
    assert said["data"]["message"]["group_id"] == gid and said["contact"]["wa_id"] == MEMBERS[0]
    sent = http.post(f"/v1/groups/{gid}/messages", json={"type": "text", "text": {"body": "Hi Ada"}})
    assert sent.status_code == 201, sent.text

    assert http.patch(f"/v1/groups/{gid}", json={"subject": "Event Watchers II"}).json() == {"success": True}
    changed = _event(live, "group.updated", "the settings change", group_id=gid, type="group_settings_update")
    assert changed["data"]["value"]["group_subject"]["text"] == "Event Watchers II"

    assert http.post(f"/v1/groups/{gid}/participants/remove",
                     json={"participants": [MEMBERS[0]]}).json() == {"success": True}
    removed = _event(live, "group.updated", "the removal", group_id=gid, type="group_participants_remove")
    assert removed["data"]["value"]["initiated_by"] == "business"

    assert http.delete(f"/v1/groups/{gid}").json() == {"success": True}
    deleted = _event(live, "group.updated", "the group_delete event", group_id=gid, type="group_delete")
    assert deleted["position"] > created["position"]
