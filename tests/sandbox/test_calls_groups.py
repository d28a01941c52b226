"""Calling and Groups end to end in the sandbox: the client over real HTTP, the simulated customer and group
members driven from the control API, and the signed webhooks parsed into typed updates."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox.helpers import WA_ID, error_code, open_window, send
from sandbox.schemas import errors_of, webhook_validator
from wacloud import errors
from wacloud.client import Client
from wacloud.messages import Text
from wacloud.sandbox.testing import SandboxHandle, WebhookSink
from wacloud.webhooks import parse
from wacloud.webhooks.calls import CallStatusUpdate, CallUpdate
from wacloud.webhooks.groups import (
    GroupLifecycleUpdate,
    GroupParticipantsUpdate,
    GroupSettingsUpdate,
    GroupStatusUpdate,
)
from wacloud.webhooks.updates import MessageUpdate, Update

SDP_OFFER = "v=0\r\no=- 3626166318745852955 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
SDP_ANSWER = "v=0\r\no=- 7777 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=setup:active\r\n"
MEMBERS = [f"1650555{i:04d}" for i in range(10)]


def typed(sink: WebhookSink, kind: type[Update], count: int = 1, **match: Any) -> list[Any]:
    """Wait for ``count`` signed webhooks parsing to ``kind`` (with attributes equal to ``match``)."""

    def found() -> list[Any]:
        out = []
        for delivery in sink.accepted():
            assert delivery.signature_ok, delivery.headers
            for update in parse(delivery.body):
                if isinstance(update, kind) and all(_attr(update, k) == v for k, v in match.items()):
                    out.append(update)
        return out

    sink.wait_for(lambda _: len(found()) >= count)
    return found()


def _attr(obj: Any, dotted: str) -> Any:
    for part in dotted.split("__"):
        obj = getattr(obj, part)
    return obj


def control(sandbox: SandboxHandle, path: str, status: int = 200, **body: Any) -> Any:
    r = sandbox.control.post(path, json=body)
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def client(sandbox: SandboxHandle) -> Any:
    made = sandbox.client()
    yield made
    made.close()


# --- calls ---------------------------------------------------------------------------------------


def test_a_customer_calls_the_business_accepts_and_hangs_up(
    sandbox: SandboxHandle, webhook_sink: WebhookSink, client: Client
) -> None:
    sandbox.connect(webhook_sink)
    sandbox.freeze()
    before = sandbox.control.get(f"/customers/{WA_ID}")
    assert before.status_code == 404 or before.json()["window_open"] is False
    placed = control(sandbox, "/calls", **{"from": WA_ID, "sdp": SDP_OFFER, "profile_name": "Ada"})
    [connect] = typed(webhook_sink, CallUpdate, event="connect")
    assert connect.call_id == placed["id"] and connect.call_id.startswith("wacid.")
    assert connect.call.user_initiated and connect.user == WA_ID and connect.opens_service_window
    assert connect.call.sdp == SDP_OFFER  # opaque, byte for byte
    assert connect.contact is not None and connect.contact.profile.name == "Ada"
    assert connect.metadata is not None and connect.metadata.phone_number_id == sandbox.phone_number_id
    # The call opened the customer-service window: a free-form reply is allowed now.
    assert sandbox.control.get(f"/customers/{WA_ID}").json()["window_open"] is True
    assert client.send(WA_ID, Text("We see your call")).wamid

    assert client.pre_accept_call(connect.call_id, SDP_ANSWER) is True
    assert client.accept_call(connect.call_id, SDP_ANSWER, biz_opaque_callback_data="case-7") is True
    assert sandbox.control.get(f"/calls/{connect.call_id}").json()["state"] == "ongoing"
    sandbox.advance(42)
    assert client.terminate_call(connect.call_id) is True
    [end] = typed(webhook_sink, CallUpdate, event="terminate")
    assert (end.call.status, end.call.duration) == ("COMPLETED", 42)
    assert end.call.start_time is not None and end.call.end_time is not None
    assert (end.call.end_time - end.call.start_time).total_seconds() == 42
    assert end.call.biz_opaque_callback_data == "case-7"
    with pytest.raises(errors.WhatsAppError) as info:  # an ended call takes no more actions
        client.terminate_call(connect.call_id)
    assert info.value.code == 100


def test_the_business_rejects_a_call(sandbox: SandboxHandle, webhook_sink: WebhookSink, client: Client) -> None:
    sandbox.connect(webhook_sink)
    placed = control(sandbox, "/calls", **{"from": WA_ID})
    assert client.reject_call(placed["id"]) is True
    [end] = typed(webhook_sink, CallUpdate, event="terminate")
    assert end.call.status == "FAILED" and end.call.duration is None
    # A second call from the same user while one rings is refused; after the end it is fine.
    control(sandbox, "/calls", **{"from": WA_ID})
    assert "already in progress" in control(sandbox, "/calls", 400, **{"from": WA_ID})["error"]


def test_a_business_call_needs_the_users_permission(
    sandbox: SandboxHandle, webhook_sink: WebhookSink, client: Client
) -> None:
    sandbox.connect(webhook_sink)
    open_window(sandbox)
    with pytest.raises(errors.CallPermissionRequired) as info:
        client.connect_call(WA_ID, SDP_OFFER)
    assert info.value.code == 138006
    state = client.get_call_permissions(WA_ID)
    assert state.permission.status == "denied" and not state.can_call
    assert state.can("send_call_permission_request")
    # Nothing to answer before the business asks.
    assert "no call permission request" in control(sandbox, "/call_permissions", 400, wa_id=WA_ID)["error"]

    request = client.send_call_permission_request(WA_ID, "May we call you about your order?")
    assert client.get_call_permissions(WA_ID).permission.status == "pending"
    with pytest.raises(errors.CallPermissionRequired):
        client.connect_call(WA_ID, SDP_OFFER, check_permission=True)

    control(sandbox, "/call_permissions", wa_id=WA_ID, response="accept")
    [reply] = typed(webhook_sink, MessageUpdate, message__type="interactive")
    assert reply.message.context is not None and reply.message.context.id == request.wamid
    granted = client.get_call_permissions(WA_ID)
    assert granted.permission.status == "granted" and granted.can_call
    assert granted.permission.expiration_time is not None

    call_id = client.connect_call(WA_ID, SDP_OFFER, biz_opaque_callback_data="tr-1", check_permission=True)
    assert typed(webhook_sink, CallStatusUpdate, status__status="RINGING")[0].call_id == call_id
    with pytest.raises(errors.WhatsAppError) as busy:
        client.connect_call(WA_ID, SDP_OFFER)
    assert busy.value.code == 138003
    control(sandbox, f"/calls/{call_id}/accept", sdp=SDP_ANSWER)
    accepted = typed(webhook_sink, CallStatusUpdate, status__status="ACCEPTED")[0]
    assert accepted.status.biz_opaque_callback_data == "tr-1"
    [answer] = typed(webhook_sink, CallUpdate, event="connect")
    assert not answer.call.user_initiated and answer.user == WA_ID and answer.call.sdp == SDP_ANSWER
    assert not answer.opens_service_window
    control(sandbox, f"/calls/{call_id}/terminate")
    assert typed(webhook_sink, CallUpdate, event="terminate")[0].call.status == "COMPLETED"
    used = client.get_call_permissions(WA_ID).actions[0].limits
    assert used is not None and used[0].current_usage == 1

    # The user declines the next call.
    second = client.connect_call(WA_ID, SDP_OFFER)
    control(sandbox, f"/calls/{second}/reject")
    assert typed(webhook_sink, CallStatusUpdate, status__status="REJECTED")[0].call_id == second


def test_a_user_who_declines_the_request_cannot_be_called(sandbox: SandboxHandle, client: Client) -> None:
    open_window(sandbox)
    client.send_call_permission_request(WA_ID, "May we call you?")
    control(sandbox, "/call_permissions", wa_id=WA_ID, response="reject")
    state = client.get_call_permissions(WA_ID)
    assert state.permission.status == "denied" and state.can("send_call_permission_request")
    with pytest.raises(errors.CallPermissionRequired):
        client.connect_call(WA_ID, SDP_OFFER)


def test_calling_settings_and_a_disabled_number(sandbox: SandboxHandle, client: Client) -> None:
    assert client.get_calling_settings().status == "ENABLED"
    hours = {"status": "ENABLED", "timezone_id": "Europe/Lisbon",
             "weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "0900", "close_time": "1700"}]}
    assert client.update_calling_settings(status="DISABLED", call_hours=hours) is True
    settings = client.get_calling_settings()
    assert settings.status == "DISABLED" and settings.call_hours == hours
    assert "disabled" in control(sandbox, "/calls", 400, **{"from": WA_ID})["error"]
    open_window(sandbox)
    client.send_call_permission_request(WA_ID, "May we call you?")
    control(sandbox, "/call_permissions", wa_id=WA_ID)
    with pytest.raises(errors.WhatsAppError) as info:
        client.connect_call(WA_ID, SDP_OFFER)
    assert info.value.code == 138000
    r = sandbox.http.post(f"/{sandbox.phone_number_id}/settings", json={"calling": {"status": "maybe"}})
    assert error_code(r) == 100 and "calling.status" in r.text


def test_call_analytics_count_the_simulated_calls(sandbox: SandboxHandle, client: Client) -> None:
    start = int(time.time()) - 60
    for n in range(3):
        placed = control(sandbox, "/calls", **{"from": f"1415555000{n}"})
        client.terminate_call(placed["id"])
    data = client.get_call_analytics(start, start + 86400, dimensions=["DIRECTION"])
    [point] = data["data"][0]["data_points"]
    assert (point["count"], point["direction"]) == (3, "USER_INITIATED")
    assert client.get_call_analytics(start - 7200, start - 3600) == {"data": [{"data_points": []}]}


def test_bad_call_requests_name_the_field(sandbox: SandboxHandle) -> None:
    path = f"/{sandbox.phone_number_id}/calls"
    cases = [
        ({"messaging_product": "whatsapp", "to": WA_ID}, 131008, "action"),
        ({"messaging_product": "whatsapp", "to": WA_ID, "action": "connect"}, 131008, "session"),
        ({"messaging_product": "whatsapp", "action": "accept", "call_id": "wacid.nope"}, 100, "call_id"),
        ({"messaging_product": "whatsapp", "action": "dial", "call_id": "x"}, 100, "action"),
    ]
    for body, code, word in cases:
        r = sandbox.http.post(path, json=body)
        assert error_code(r) == code and word in r.json()["error"]["error_data"]["details"], r.text
    assert sandbox.http.post(path, content=b"{").status_code == 400
    assert error_code(sandbox.http.get(f"/{sandbox.phone_number_id}/call_permissions")) == 131008


# --- groups --------------------------------------------------------------------------------------


def _new_group(sandbox: SandboxHandle, sink: WebhookSink, client: Client, **kwargs: Any) -> GroupLifecycleUpdate:
    request_id = client.create_group("Watch Enthusiasts", description="Timepieces", **kwargs)
    [created] = typed(sink, GroupLifecycleUpdate, group__request_id=request_id)
    return created


def test_a_group_end_to_end(sandbox: SandboxHandle, webhook_sink: WebhookSink, client: Client) -> None:
    sandbox.connect(webhook_sink)
    created = _new_group(sandbox, webhook_sink, client)
    gid = created.group.group_id
    assert created.group.succeeded and created.group.invite_link
    assert client.get_group_invite_link(gid) == created.group.invite_link
    assert [g.id for g in client.list_groups().groups] == [gid]

    control(sandbox, "/groups/join", wa_id=MEMBERS[0], invite_link=created.group.invite_link, profile_name="Ada")
    [joined] = typed(webhook_sink, GroupParticipantsUpdate, group__type="group_participants_add")
    assert joined.group.reason == "invite_link" and joined.group.added_participants[0].wa_id == MEMBERS[0]
    info = client.get_group(gid)
    assert info.total_participant_count == 1 and info.participants[0].wa_id == MEMBERS[0]

    wrote = control(sandbox, f"/groups/{gid}/messages", **{"from": MEMBERS[0], "text": "hello group"})
    [said] = typed(webhook_sink, MessageUpdate, message__id=wrote["id"])
    assert said.group_id == gid and said.message.text is not None and said.message.text.body == "hello group"

    sent = client.send_to_group(gid, Text("Welcome, Ada!"))
    assert sandbox.message(sent.wamid)["to"] == gid
    # Reactions and read receipts are not for groups, whatever the client is told.
    r = send(sandbox, {"recipient_type": "group", "to": gid, "type": "reaction",
                       "reaction": {"message_id": wrote["id"], "emoji": "\N{THUMBS UP SIGN}"}})
    assert error_code(r) == 131051 and "group" in r.json()["error"]["error_data"]["details"]
    with pytest.raises(errors.ValidationError):
        said.react("\N{THUMBS UP SIGN}")
    r = send(sandbox, {"status": "read", "message_id": wrote["id"]})
    assert error_code(r) == 131009

    assert client.update_group(gid, subject="Horology") is True
    [changed] = typed(webhook_sink, GroupSettingsUpdate)
    assert changed.group.group_subject is not None and changed.group.group_subject.text == "Horology"

    control(sandbox, f"/groups/{gid}/leave", wa_id=MEMBERS[0])
    [left] = typed(webhook_sink, GroupParticipantsUpdate, group__type="group_participants_remove")
    assert left.group.initiated_by == "participant"
    with pytest.raises(errors.WhatsAppError) as alone:
        client.send_to_group(gid, Text("anyone?"))
    assert alone.value.code == 131020

    assert client.delete_group(gid) is True
    assert typed(webhook_sink, GroupLifecycleUpdate, group__type="group_delete")[0].group.group_id == gid
    with pytest.raises(errors.GroupUnavailable):
        client.get_group_invite_link(gid)


def test_join_requests_links_and_the_participant_limit(
    sandbox: SandboxHandle, webhook_sink: WebhookSink, client: Client
) -> None:
    sandbox.connect(webhook_sink)
    created = _new_group(sandbox, webhook_sink, client, join_approval_mode="approval_required")
    gid, link = created.group.group_id, created.group.invite_link
    for wa_id in MEMBERS[:9]:
        control(sandbox, "/groups/join", wa_id=wa_id, invite_link=link)
    asked = typed(webhook_sink, GroupParticipantsUpdate, 9, group__type="group_join_request_created")
    requests = client.list_join_requests(gid)
    assert [r.wa_id for r in requests] == MEMBERS[:9] == [u.group.wa_id for u in asked]
    result = client.approve_join_requests(gid, [r.join_request_id for r in requests])
    assert len(result.approved_join_requests) == 8  # 8 participants at most
    assert [f.errors[0]["code"] for f in result.failed_join_requests] == [131204]
    assert client.get_group(gid).total_participant_count == 8
    rejected = client.reject_join_requests(gid, [requests[8].join_request_id])
    assert rejected.rejected_join_requests == [requests[8].join_request_id]

    assert client.remove_group_participants(gid, [MEMBERS[0], MEMBERS[9]]) is True
    removal = typed(webhook_sink, GroupParticipantsUpdate, group__type="group_participants_remove")[0]
    assert [p.wa_id for p in removal.group.removed_participants] == [MEMBERS[0]]
    assert [p.errors[0].code for p in removal.group.failed_participants] == [131212]

    new_link = client.create_group_invite_link(gid)
    assert new_link != link
    assert control(sandbox, "/groups/join", 404, wa_id=MEMBERS[9], invite_link=link)
    assert client.revoke_group_invite_link(gid) is True
    assert control(sandbox, "/groups/join", 404, wa_id=MEMBERS[9], invite_link=new_link)


def test_group_sends_follow_the_group_rules(sandbox: SandboxHandle, webhook_sink: WebhookSink, client: Client) -> None:
    sandbox.connect(webhook_sink)
    gid = _new_group(sandbox, webhook_sink, client).group.group_id
    unknown = {"recipient_type": "group", "to": "no-such-group", "text": {"body": "x"}}
    assert error_code(send(sandbox, unknown)) == 131041
    invite = client.get_group_invite_link(gid)
    control(sandbox, "/groups/join", wa_id=MEMBERS[1], invite_link=invite)
    # Nobody wrote yet: the group's window is closed, only templates go.
    assert error_code(send(sandbox, {"recipient_type": "group", "to": gid, "text": {"body": "x"}})) == 131047
    ok = send(sandbox, {"recipient_type": "group", "to": gid, "type": "template",
                        "template": {"name": "hello_world", "language": {"code": "en_US"}}})
    assert ok.status_code == 200, ok.text
    control(sandbox, f"/groups/{gid}/messages", **{"from": MEMBERS[1], "image": {"caption": "look"}})
    for body in (
        {"type": "interactive", "interactive": {"type": "button", "body": {"text": "b"}, "action": {
            "buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]}}},
        {"type": "location", "location": {"latitude": 1.0, "longitude": 2.0}},
    ):
        assert error_code(send(sandbox, {"recipient_type": "group", "to": gid, **body})) == 131051
    image = send(sandbox, {"recipient_type": "group", "to": gid, "type": "image",
                           "image": {"link": "https://example.com/a.jpg"}})
    assert image.status_code == 200, image.text
    control(sandbox, f"/groups/{gid}/suspend", suspended=True)
    assert typed(webhook_sink, GroupStatusUpdate)[0].group.suspended
    assert error_code(send(sandbox, {"recipient_type": "group", "to": gid, "text": {"body": "x"}})) == 131207


def test_bad_group_requests_name_the_field(sandbox: SandboxHandle) -> None:
    path = f"/{sandbox.phone_number_id}/groups"
    r = sandbox.http.post(path, json={"messaging_product": "whatsapp", "subject": "s" * 129})
    assert error_code(r) == 100 and "subject" in r.text
    r = sandbox.http.post(path, json={"messaging_product": "whatsapp"})
    assert error_code(r) == 131008 and "subject" in r.text
    r = sandbox.http.post(path, json={"messaging_product": "whatsapp", "subject": "ok", "join_approval_mode": "x"})
    assert error_code(r) == 100 and "join_approval_mode" in r.text
    assert error_code(sandbox.http.get(path, params={"limit": "0"})) == 100
    assert error_code(sandbox.http.get(path, params={"after": "%%%"})) == 131059


def test_the_groups_per_number_limit(sandbox: SandboxHandle, webhook_sink: WebhookSink, client: Client) -> None:
    from wacloud.sandbox._model import Group

    sandbox.connect(webhook_sink)
    state = sandbox.app.state
    for n in range(10_000):
        state.groups.groups[f"G{n}"] = Group(f"G{n}", sandbox.phone_number_id, f"g{n}", 0.0)
    request_id = client.create_group("One too many")
    [failed] = typed(webhook_sink, GroupLifecycleUpdate, group__request_id=request_id)
    assert not failed.group.succeeded and [e.code for e in failed.group.errors] == [131211]
    page = client.list_groups(limit=1024)
    assert len(page.groups) == 1024 and page.after
    assert client.list_groups(limit=1024, after=page.after).groups[0].id == "G1024"


def test_group_webhooks_match_metas_schema(
    sandbox: SandboxHandle, webhook_sink: WebhookSink, client: Client, openapi_spec: dict[str, Any]
) -> None:
    """Lifecycle, settings and member-message webhooks validate against Meta's OpenAPI ``WebhookPayload``.

    (The participants field is left out: the OpenAPI enum spells it ``group_participant_update`` with
    ``group_add_participants`` events, Meta's webhook reference ``group_participants_update`` with
    ``group_participants_add``; the sandbox and the typed parser follow the webhook reference.)"""
    sandbox.connect(webhook_sink)
    created = _new_group(sandbox, webhook_sink, client)
    gid = created.group.group_id
    control(sandbox, "/groups/join", wa_id=MEMBERS[0], invite_link=created.group.invite_link)
    control(sandbox, f"/groups/{gid}/messages", **{"from": MEMBERS[0], "text": "hi"})
    client.update_group(gid, description="About watches")
    client.delete_group(gid)
    typed(webhook_sink, GroupLifecycleUpdate, group__type="group_delete")
    validator = webhook_validator(openapi_spec)
    checked = 0
    for delivery in webhook_sink.accepted():
        field = delivery.json["entry"][0]["changes"][0]["field"]
        if field != "group_participants_update":
            assert not errors_of(validator, delivery.json), (field, errors_of(validator, delivery.json))
            checked += 1
    assert checked >= 4
