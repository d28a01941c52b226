"""Calling and Groups API operations: the exact Graph request each one builds, and the local rules.

Requests go over real HTTP to a recording server on loopback (tests/client/recorder.py); both the
blocking and the asyncio client run every case.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from wacloud import AsyncClient, Client, errors
from wacloud.errors import CallPermissionRequired, GroupUnavailable, RateLimited, ValidationError
from wacloud.messages import Image, Location, Reaction, ReplyButtons, SendRequest, Template, Text

from .recorder import Recorder, serve

TOKEN = "EAAG-calls-groups-token"
PHONE_ID = "436666719526789"
WABA_ID = "366634483210360"
GROUP = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"
CALL_ID = "wacid.HBgLMTIxODU1NTI4MjgVAgARGCAyODRQIAFRoA"
SDP = "v=0\r\no=- 3626166318745852955 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    with serve(recorder) as url:
        yield recorder, url


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, server: tuple[Recorder, str]) -> Iterator[Any]:
    recorder, url = server
    recorder.seen.clear()
    recorder.answers.clear()
    cls = Client if request.param == "sync" else AsyncClient
    client = cls(token=TOKEN, phone_number_id=PHONE_ID, waba_id=WABA_ID, base_url=url, version="v25.0")
    client.recorder = recorder  # type: ignore[attr-defined]
    yield client
    if isinstance(client, Client):
        client.close()


async def run(api: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    result = getattr(api, name)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def rec(api: Any) -> Recorder:
    recorder: Recorder = api.recorder
    return recorder


# --- calls ---------------------------------------------------------------------------------------


async def test_connect_sends_the_offer_and_returns_the_call_id(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/calls", {"messaging_product": "whatsapp", "calls": [{"id": CALL_ID}]})
    call_id = await run(api, "connect_call", "+1 408 555 1234", SDP, biz_opaque_callback_data="track-1")
    assert call_id == CALL_ID
    seen = rec(api).last
    assert (seen.method, seen.path) == ("POST", f"{PHONE_ID}/calls")
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.json() == {"messaging_product": "whatsapp", "to": "+14085551234", "action": "connect",
                           "session": {"sdp_type": "offer", "sdp": SDP}, "biz_opaque_callback_data": "track-1"}


@pytest.mark.parametrize(("name", "action", "with_sdp"), [
    ("pre_accept_call", "pre_accept", True), ("accept_call", "accept", True),
    ("reject_call", "reject", False), ("terminate_call", "terminate", False),
])
async def test_call_actions_name_the_call_id(api: Any, name: str, action: str, with_sdp: bool) -> None:
    args = (CALL_ID, SDP) if with_sdp else (CALL_ID,)
    assert await run(api, name, *args) is True
    body = rec(api).last.json()
    expected: dict[str, Any] = {"messaging_product": "whatsapp", "call_id": CALL_ID, "action": action}
    if with_sdp:
        expected["session"] = {"sdp_type": "answer", "sdp": SDP}
    assert body == expected and rec(api).last.path == f"{PHONE_ID}/calls"


async def test_a_call_without_permission_is_a_typed_error(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/calls", {"error": {
        "message": "No approved call permission", "type": "OAuthException", "code": 138006,
        "fbtrace_id": "T1"}}, status=400)
    with pytest.raises(CallPermissionRequired) as info:
        await run(api, "connect_call", "14085551234", SDP)
    assert info.value.code == 138006


async def test_connect_can_check_the_permission_first(api: Any) -> None:
    rec(api).answer("GET", f"{PHONE_ID}/call_permissions", {
        "messaging_product": "whatsapp", "permission": {"status": "pending"},
        "actions": [{"action_name": "start_call", "can_perform_action": False}]})
    with pytest.raises(CallPermissionRequired) as info:
        await run(api, "connect_call", "+14085551234", SDP, check_permission=True)
    assert info.value.code == 138006 and "pending" in str(info.value)
    assert [(s.method, s.path) for s in rec(api).seen] == [("GET", f"{PHONE_ID}/call_permissions")]

    rec(api).answer("GET", f"{PHONE_ID}/call_permissions", {
        "messaging_product": "whatsapp", "permission": {"status": "granted"},
        "actions": [{"action_name": "start_call", "can_perform_action": True}]})
    rec(api).answer("POST", f"{PHONE_ID}/calls", {"messaging_product": "whatsapp", "calls": [{"id": CALL_ID}]})
    assert await run(api, "connect_call", "+14085551234", SDP, check_permission=True) == CALL_ID
    assert [(s.method, s.path) for s in rec(api).seen[1:]] == [
        ("GET", f"{PHONE_ID}/call_permissions"), ("POST", f"{PHONE_ID}/calls")]


@pytest.mark.parametrize(("call", "field"), [
    (("connect_call", "14085551234", "  "), "session.sdp"),
    (("accept_call", "", SDP), "call_id"),
    (("connect_call", "14085551234", SDP), "biz_opaque_callback_data"),
])
async def test_call_arguments_are_checked_before_sending(api: Any, call: tuple[Any, ...], field: str) -> None:
    kwargs = {"biz_opaque_callback_data": "x" * 513} if field == "biz_opaque_callback_data" else {}
    with pytest.raises(ValidationError) as info:
        await run(api, *call, **kwargs)
    assert info.value.field == field and rec(api).seen == []


async def test_call_permission_state(api: Any) -> None:
    rec(api).answer("GET", f"{PHONE_ID}/call_permissions", {
        "messaging_product": "whatsapp", "permission": {"status": "granted", "expiration_time": 1735689600},
        "actions": [{"action_name": "start_call", "can_perform_action": True, "limits": [
            {"time_period": "24h", "current_usage": 5, "max_allowed": 100, "limit_expiration_time": 1735689600}]},
            {"action_name": "send_call_permission_request", "can_perform_action": False}]})
    state = await run(api, "get_call_permissions", "+14085551234")
    seen = rec(api).last
    assert (seen.method, seen.path, seen.query) == ("GET", f"{PHONE_ID}/call_permissions",
                                                    {"user_wa_id": "14085551234"})
    assert state.permission.status == "granted" and state.can_call
    assert not state.can("send_call_permission_request")
    assert state.actions[0].limits is not None and state.actions[0].limits[0].max_allowed == 100


async def test_call_permission_request_is_an_interactive_message(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", {"messaging_product": "whatsapp",
                                                     "contacts": [{"input": "+14085551234", "wa_id": "14085551234"}],
                                                     "messages": [{"id": "wamid.PERM"}]})
    sent = await run(api, "send_call_permission_request", "+14085551234", "May we call you about your order?")
    assert sent.wamid == "wamid.PERM"
    body = rec(api).last.json()
    assert body["type"] == "interactive" and body["to"] == "+14085551234"
    assert body["interactive"]["type"] == "call_permission_request"
    assert body["interactive"]["body"] == {"text": "May we call you about your order?"}
    assert body["interactive"]["action"] == {"name": "call_permission_request"}


async def test_calling_settings_read_and_update(api: Any) -> None:
    rec(api).answer("GET", f"{PHONE_ID}/settings", {"calling": {
        "status": "ENABLED", "call_icon_visibility": "DEFAULT", "callback_permission_status": "ENABLED",
        "sip": {"status": "DISABLED"}}, "storage_configuration": {"status": "default"}})
    settings = await run(api, "get_calling_settings", include_sip_credentials=True)
    assert rec(api).last.query == {"include_sip_credentials": "true"}
    assert (settings.status, settings.call_icon_visibility, settings.callback_permission_status) == (
        "ENABLED", "DEFAULT", "ENABLED")

    hours = {"status": "enabled", "timezone_id": "America/Manaus",
             "weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "0400", "close_time": "1020"}],
             "holiday_schedule": [{"date": "2026-01-01", "start_time": "0000", "end_time": "2359"}]}
    assert await run(api, "update_calling_settings", status="enabled", call_icon_visibility="DEFAULT",
                     callback_permission_status="DISABLED", call_hours=hours,
                     sip={"status": "ENABLED", "servers": [{"hostname": "sip.example.com", "port": 5061}]}) is True
    seen = rec(api).last
    assert (seen.method, seen.path) == ("POST", f"{PHONE_ID}/settings")
    assert seen.json() == {"calling": {
        "status": "ENABLED", "call_icon_visibility": "DEFAULT", "callback_permission_status": "DISABLED",
        "call_hours": {**hours, "status": "ENABLED"},
        "sip": {"status": "ENABLED", "servers": [{"hostname": "sip.example.com", "port": 5061}]}}}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({}, "calling"),
    ({"status": "on"}, "calling.status"),
    ({"call_icon_visibility": "visible-ish"}, "calling.call_icon_visibility"),
    ({"call_hours": {"status": "ENABLED"}}, "calling.call_hours.timezone_id"),
    ({"call_hours": {"weekly_operating_hours": [{"day_of_week": "FUNDAY", "open_time": "0900",
                                                 "close_time": "1700"}]}},
     "calling.call_hours.weekly_operating_hours[0].day_of_week"),
    ({"call_hours": {"weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "1700",
                                                 "close_time": "0900"}]}},
     "calling.call_hours.weekly_operating_hours[0].close_time"),
    ({"call_hours": {"holiday_schedule": [{"date": "1/1/2026", "start_time": "0000", "end_time": "2359"}]}},
     "calling.call_hours.holiday_schedule[0].date"),
    ({"sip": {"status": "ENABLED", "servers": [{"port": 5060}]}}, "calling.sip.servers[0].hostname"),
])
async def test_calling_settings_are_checked_before_sending(api: Any, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        await run(api, "update_calling_settings", **kwargs)
    assert info.value.field == field and rec(api).seen == []


async def test_call_analytics_request(api: Any) -> None:
    rec(api).answer("GET", WABA_ID, {"call_analytics": {"data": [{"data_points": [{"start": 1, "end": 2}]}]},
                                     "id": WABA_ID})
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC)
    data = await run(api, "get_call_analytics", start, end, phone_numbers=["13175551399"],
                     dimensions=["DIRECTION"])
    assert data == {"data": [{"data_points": [{"start": 1, "end": 2}]}]}
    fields = rec(api).last.query["fields"]
    assert fields == (f"call_analytics.start({int(start.timestamp())}).end({int(end.timestamp())})"
                      '.granularity(DAILY).phone_numbers(["13175551399"]).dimensions(["DIRECTION"])')
    with pytest.raises(ValidationError) as info:
        await run(api, "get_call_analytics", end, start)
    assert info.value.field == "end"


# --- groups --------------------------------------------------------------------------------------


async def test_create_group(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/groups", {"messaging_product": "whatsapp", "request_id": "REQ1"})
    assert await run(api, "create_group", "  New Purchase Inquiry ", description="Options for this year",
                     join_approval_mode="approval_required") == "REQ1"
    assert rec(api).last.json() == {"messaging_product": "whatsapp", "subject": "New Purchase Inquiry",
                                    "description": "Options for this year",
                                    "join_approval_mode": "approval_required"}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"subject": "   "}, "subject"),
    ({"subject": "s" * 129}, "subject"),
    ({"subject": "ok", "description": "d" * 2049}, "description"),
    ({"subject": "ok", "join_approval_mode": "sometimes"}, "join_approval_mode"),
])
async def test_create_group_checks_its_fields(api: Any, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        await run(api, "create_group", **kwargs)
    assert info.value.field == field and rec(api).seen == []


async def test_list_and_get_groups(api: Any) -> None:
    rec(api).answer("GET", f"{PHONE_ID}/groups", {
        "data": {"groups": [{"id": GROUP, "subject": "Watches", "created_at": "1749196895"}]},
        "paging": {"cursors": {"after": "AFTER1"}, "next": "https://graph.facebook.com/next"}})
    page = await run(api, "list_groups", limit=10)
    assert rec(api).last.query == {"limit": "10"}
    assert [g.id for g in page.groups] == [GROUP] and page.after == "AFTER1"
    with pytest.raises(ValidationError):
        await run(api, "list_groups", limit=1025)

    rec(api).answer("GET", GROUP, {"id": GROUP, "messaging_product": "whatsapp", "subject": "Watches",
                                   "join_approval_mode": "auto_approve", "suspended": False,
                                   "participants": [{"wa_id": "16505551234"}], "total_participant_count": 1})
    info = await run(api, "get_group", GROUP)
    seen = rec(api).last
    assert (seen.method, seen.path) == ("GET", GROUP)
    assert seen.query["fields"].split(",")[:3] == ["subject", "description", "participants"]
    assert info.total_participant_count == 1 and info.participants[0].wa_id == "16505551234"


async def test_group_settings_photo_and_delete(api: Any) -> None:
    assert await run(api, "update_group", GROUP, subject="Watch Enthusiasts", description="Timepieces") is True
    seen = rec(api).last
    assert (seen.method, seen.path) == ("POST", GROUP)
    assert seen.json() == {"messaging_product": "whatsapp", "subject": "Watch Enthusiasts",
                           "description": "Timepieces"}

    assert await run(api, "set_group_photo", GROUP, JPEG) is True
    seen = rec(api).last
    assert seen.headers["content-type"].startswith("multipart/form-data")
    assert b'name="messaging_product"' in seen.body and b'name="file"; filename="group.jpg"' in seen.body
    assert JPEG in seen.body

    assert await run(api, "delete_group", GROUP) is True
    assert (rec(api).last.method, rec(api).last.path) == ("DELETE", GROUP)


@pytest.mark.parametrize(("call", "field"), [
    (("update_group", GROUP), "group"),
    (("set_group_photo", GROUP, b"\x89PNG\r\n\x1a\n"), "file"),
    (("set_group_photo", GROUP, b"\xff\xd8\xff" + b"\x00" * (5 * 1024 * 1024)), "file"),
    (("delete_group", ""), "group_id"),
    (("delete_group", "a/b"), "group_id"),
])
async def test_group_calls_are_checked_before_sending(api: Any, call: tuple[Any, ...], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        await run(api, *call)
    assert info.value.field == field and rec(api).seen == []


async def test_invite_links(api: Any) -> None:
    rec(api).answer("GET", f"{GROUP}/invite_link", {"messaging_product": "whatsapp",
                                                    "invite_link": "https://chat.whatsapp.com/OLD"})
    rec(api).answer("POST", f"{GROUP}/invite_link", {"messaging_product": "whatsapp",
                                                     "invite_link": "https://chat.whatsapp.com/NEW"})
    rec(api).answer("DELETE", f"{GROUP}/invite_link", {"messaging_product": "whatsapp", "success": "true"})
    assert await run(api, "get_group_invite_link", GROUP) == "https://chat.whatsapp.com/OLD"
    assert await run(api, "create_group_invite_link", GROUP) == "https://chat.whatsapp.com/NEW"
    assert rec(api).last.json() == {"messaging_product": "whatsapp"}
    assert await run(api, "revoke_group_invite_link", GROUP) is True
    assert [(s.method, s.path) for s in rec(api).seen] == [
        ("GET", f"{GROUP}/invite_link"), ("POST", f"{GROUP}/invite_link"), ("DELETE", f"{GROUP}/invite_link")]


async def test_join_requests(api: Any) -> None:
    rec(api).answer("GET", f"{GROUP}/join_requests", {"data": [
        {"join_request_id": "JR1", "wa_id": "16505551234", "creation_timestamp": 1755548877}]})
    rec(api).answer("POST", f"{GROUP}/join_requests", {"messaging_product": "whatsapp",
                                                       "approved_join_requests": ["JR1"],
                                                       "failed_join_requests": [{"join_request_id": "JR2",
                                                                                 "errors": [{"code": 131212}]}]})
    rec(api).answer("DELETE", f"{GROUP}/join_requests", {"messaging_product": "whatsapp",
                                                         "rejected_join_requests": ["JR3"]})
    requests = await run(api, "list_join_requests", GROUP)
    assert [(r.join_request_id, r.wa_id) for r in requests] == [("JR1", "16505551234")]
    approved = await run(api, "approve_join_requests", GROUP, ["JR1", "JR2"])
    assert rec(api).last.json() == {"messaging_product": "whatsapp", "join_requests": ["JR1", "JR2"]}
    assert approved.approved_join_requests == ["JR1"] and approved.failed_join_requests[0].join_request_id == "JR2"
    rejected = await run(api, "reject_join_requests", GROUP, "JR3")
    assert (rec(api).last.method, rec(api).last.json()["join_requests"]) == ("DELETE", ["JR3"])
    assert rejected.rejected_join_requests == ["JR3"]
    with pytest.raises(ValidationError):
        await run(api, "approve_join_requests", GROUP, ["JR1", "JR1"])


async def test_remove_participants(api: Any) -> None:
    assert await run(api, "remove_group_participants", GROUP, ["+16505551234", "16505551235"]) is True
    seen = rec(api).last
    assert (seen.method, seen.path) == ("DELETE", f"{GROUP}/participants")
    assert seen.json() == {"messaging_product": "whatsapp",
                           "participants": [{"user": "+16505551234"}, {"user": "16505551235"}]}
    with pytest.raises(ValidationError) as info:
        await run(api, "remove_group_participants", GROUP, [f"1650555{i:04d}" for i in range(9)])
    assert (info.value.field, info.value.size, info.value.limit) == ("participants", 9, 8)
    with pytest.raises(ValidationError):
        await run(api, "remove_group_participants", GROUP, [])


async def test_group_errors_are_typed(api: Any) -> None:
    rec(api).answer("GET", f"{GROUP}/invite_link", {"error": {"message": "Group unknown", "code": 131041,
                                                              "fbtrace_id": "T2"}}, status=400)
    with pytest.raises(GroupUnavailable):
        await run(api, "get_group_invite_link", GROUP)
    rec(api).answer("DELETE", GROUP, {"error": {"message": "Group Rate Limit Hit", "code": 131208,
                                                "fbtrace_id": "T3"}}, status=429)
    with pytest.raises(RateLimited):
        await run(api, "delete_group", GROUP)


# --- sending to a group --------------------------------------------------------------------------


async def test_send_to_a_group_uses_the_group_recipient_type(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", {"messaging_product": "whatsapp",
                                                     "contacts": [{"input": GROUP}],
                                                     "messages": [{"id": "wamid.G1"}]})
    sent = await run(api, "send_to_group", GROUP, Text("hello group"))
    assert sent.wamid == "wamid.G1"
    assert rec(api).last.json() == {"messaging_product": "whatsapp", "recipient_type": "group", "to": GROUP,
                                    "type": "text", "text": {"body": "hello group"}}
    await run(api, "send", GROUP, Image(link="https://example.com/a.jpg"), recipient_type="group")
    assert rec(api).last.json()["recipient_type"] == "group"


@pytest.mark.parametrize(("message", "field"), [
    (ReplyButtons(body="Pick one", buttons=[("a", "A")]), "interactive"),
    (Reaction(message_id="wamid.X", emoji="👍"), "reaction"),
    (Location(latitude=1.0, longitude=2.0), "location"),
    (Template("otp", "en_US", body=["123456"], buttons=[{"type": "button", "sub_type": "url", "index": "0",
                                                         "parameters": [{"type": "text", "text": "123456"}]},
                                                        {"type": "button", "sub_type": "copy_code", "index": "1",
                                                         "parameters": [{"type": "coupon_code",
                                                                         "coupon_code": "123456"}]}]),
     "template.components[2].sub_type"),
])
async def test_group_sends_refuse_what_groups_do_not_take(api: Any, message: Any, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        await run(api, "send_to_group", GROUP, message)
    assert info.value.field == field and "group" in info.value.reason
    assert rec(api).seen == []


def test_the_group_rule_also_guards_raw_bodies() -> None:
    with pytest.raises(ValidationError) as info:
        SendRequest(GROUP, ReplyButtons(body="b", buttons=[("a", "A")]), recipient_type="group")
    assert info.value.field == "interactive"
    ok = SendRequest(GROUP, Template("order_ready", "en_US", body=["Ada"]), recipient_type="group")
    assert ok.to_graph()["to"] == GROUP
    assert errors.lookup(131204) is not None and errors.lookup(131204).http_status == 400  # type: ignore[union-attr]


async def test_an_authentication_template_is_refused_for_a_group(api: Any) -> None:
    api.template_cache.put("login_code", [{"name": "login_code", "language": "en_US", "category": "AUTHENTICATION",
                                           "status": "APPROVED", "components": []}])
    otp = Template("login_code", "en_US", body=["123456"], buttons=[
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "123456"}]}])
    with pytest.raises(ValidationError) as info:
        await run(api, "send_to_group", GROUP, otp)
    assert info.value.field == "template.category" and rec(api).seen == []
