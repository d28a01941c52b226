"""Calling and Groups API operations: what they do against the sandbox, the exact Graph request each one
builds, and the local rules.

Behaviour runs against the sandbox over real HTTP (the ``live`` fixture, its simulated customers and group
members driven through the control API). Request shapes and answers the sandbox does not produce (a group
rate limit) use a recording server on loopback (tests/client/recorder.py). Both the blocking and the
asyncio client run every case.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from wacloud import Client, errors
from wacloud.errors import CallPermissionRequired, GroupUnavailable, RateLimited, ValidationError
from wacloud.messages import Image, Location, Reaction, ReplyButtons, SendRequest, Template, Text

from .recorder import Recorder, client_for, rec, run, serve

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
    client = client_for(request.param, *server, token=TOKEN, phone_number_id=PHONE_ID, waba_id=WABA_ID)
    yield client
    if isinstance(client, Client):
        client.close()


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


async def test_a_group_rate_limit_is_typed(api: Any) -> None:
    rec(api).answer("DELETE", GROUP, {"error": {"message": "Group Rate Limit Hit", "code": 131208,
                                                "fbtrace_id": "T3"}}, status=429)
    with pytest.raises(RateLimited):
        await run(api, "delete_group", GROUP)


# --- sending to a group --------------------------------------------------------------------------


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


# --- against the sandbox -------------------------------------------------------------------------

USER = "16505551234"
MEMBERS = [f"1415555{i:04d}" for i in range(3)]


def control(live: Any, method: str, path: str, status: int = 200, **body: Any) -> Any:
    """A control-API call on the sandbox behind ``live`` (the simulated users)."""
    r = live.sandbox.control.request(method, path, json=body if method != "GET" else None)
    assert r.status_code == status, r.text
    return r.json()


async def _permission_granted(live: Any) -> None:
    live.sandbox.inject(USER, text="hi")  # the window is open: the request may be sent
    sent = await live.call("send_call_permission_request", f"+{USER}", "May we call you about your order?")
    assert live.sandbox.message(sent.wamid)["body"]["interactive"]["type"] == "call_permission_request"
    control(live, "POST", "/call_permissions", wa_id=USER, response="accept")


async def test_sandbox_a_call_without_permission_is_a_typed_error(live: Any) -> None:
    with pytest.raises(CallPermissionRequired) as info:
        await live.call("connect_call", f"+{USER}", SDP)
    assert info.value.code == 138006
    assert control(live, "GET", "/calls") == {"calls": []}


async def test_sandbox_connect_can_check_the_permission_first(live: Any) -> None:
    live.sandbox.inject(USER, text="hi")
    await live.call("send_call_permission_request", USER, "May we call you?")
    with pytest.raises(CallPermissionRequired) as info:
        await live.call("connect_call", f"+{USER}", SDP, check_permission=True)
    assert info.value.code == 138006 and "pending" in str(info.value)
    assert control(live, "GET", "/calls") == {"calls": []}  # refused before any call was placed

    control(live, "POST", "/call_permissions", wa_id=USER)
    call_id = await live.call("connect_call", f"+{USER}", SDP, check_permission=True, biz_opaque_callback_data="t")
    placed = control(live, "GET", f"/calls/{call_id}")
    assert (placed["direction"], placed["wa_id"], placed["offer_sdp"]) == ("BUSINESS_INITIATED", USER, SDP)


async def test_sandbox_call_permission_state(live: Any) -> None:
    state = await live.call("get_call_permissions", f"+{USER}")
    assert state.permission.status == "denied" and not state.can_call
    await _permission_granted(live)
    state = await live.call("get_call_permissions", f"+{USER}")
    assert state.permission.status == "granted" and state.can_call and state.permission.expiration_time
    assert not state.can("send_call_permission_request")
    limits = state.actions[0].limits
    assert limits is not None and (limits[0].current_usage, limits[0].max_allowed) == (0, 100)


async def test_sandbox_call_actions_drive_the_call(live: Any) -> None:
    for name, args, state in [("pre_accept_call", (SDP,), "pre_accepted"), ("accept_call", (SDP,), "ongoing"),
                              ("terminate_call", (), "ended")]:
        if name == "pre_accept_call":
            call_id = control(live, "POST", "/calls", **{"from": USER, "sdp": SDP})["id"]
        assert await live.call(name, call_id, *args) is True
        assert control(live, "GET", f"/calls/{call_id}")["state"] == state
    rejected = control(live, "POST", "/calls", **{"from": USER})["id"]
    assert await live.call("reject_call", rejected) is True
    assert control(live, "GET", f"/calls/{rejected}")["outcome"] == "REJECTED"
    with pytest.raises(errors.WhatsAppError) as info:
        await live.call("accept_call", rejected, SDP)
    assert info.value.code == 100


async def test_sandbox_calling_settings_read_and_update(live: Any) -> None:
    settings = await live.call("get_calling_settings", include_sip_credentials=True)
    assert (settings.status, settings.call_icon_visibility) == ("ENABLED", "DEFAULT")
    hours = {"status": "enabled", "timezone_id": "America/Manaus",
             "weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "0400", "close_time": "1020"}],
             "holiday_schedule": [{"date": "2026-01-01", "start_time": "0000", "end_time": "2359"}]}
    assert await live.call("update_calling_settings", status="enabled", call_icon_visibility="DISABLE_ALL",
                           callback_permission_status="ENABLED", call_hours=hours,
                           sip={"status": "DISABLED", "servers": [{"hostname": "sip.example.com"}]}) is True
    settings = await live.call("get_calling_settings")
    assert (settings.status, settings.call_icon_visibility, settings.callback_permission_status) == (
        "ENABLED", "DISABLE_ALL", "ENABLED")
    assert settings.call_hours == {**hours, "status": "ENABLED"}


async def test_sandbox_call_analytics(live: Any) -> None:
    for user in MEMBERS[:2]:
        await live.call("terminate_call", control(live, "POST", "/calls", **{"from": user})["id"])
    now = datetime.now(UTC)
    data = await live.call("get_call_analytics", int(now.timestamp()) - 3600, int(now.timestamp()) + 3600,
                           granularity="HALF_HOUR", phone_numbers=[live.sandbox.display_phone_number])
    assert sum(p["count"] for p in data["data"][0]["data_points"]) == 2


async def _group(live: Any, **kwargs: Any) -> str:
    request_id = await live.call("create_group", "  New Purchase Inquiry ", description="Options", **kwargs)
    assert request_id
    [group] = control(live, "GET", "/groups")["groups"]
    assert group["subject"] == "New Purchase Inquiry"  # trimmed, as Meta does
    gid: str = group["id"]
    return gid


async def test_sandbox_list_and_get_groups(live: Any) -> None:
    gid = await _group(live)
    page = await live.call("list_groups", limit=10)
    assert [g.id for g in page.groups] == [gid] and page.after is None
    link = await live.call("get_group_invite_link", gid)
    control(live, "POST", "/groups/join", wa_id=MEMBERS[0], invite_link=link)
    info = await live.call("get_group", gid)
    assert (info.id, info.subject, info.description) == (gid, "New Purchase Inquiry", "Options")
    assert info.total_participant_count == 1 and info.participants[0].wa_id == MEMBERS[0]
    assert info.join_approval_mode == "auto_approve" and info.suspended is False


async def test_sandbox_group_settings_photo_and_delete(live: Any) -> None:
    gid = await _group(live)
    assert await live.call("update_group", gid, subject="Watch Enthusiasts", description="Timepieces") is True
    assert (await live.call("get_group", gid)).subject == "Watch Enthusiasts"
    assert await live.call("set_group_photo", gid, JPEG) is True
    assert await live.call("delete_group", gid) is True
    with pytest.raises(GroupUnavailable) as info:
        await live.call("get_group_invite_link", gid)
    assert info.value.code == 131041


async def test_sandbox_invite_links(live: Any) -> None:
    gid = await _group(live)
    first = await live.call("get_group_invite_link", gid)
    assert first.startswith("https://chat.whatsapp.com/") and await live.call("get_group_invite_link", gid) == first
    second = await live.call("create_group_invite_link", gid)
    assert second != first
    control(live, "POST", "/groups/join", 404, wa_id=MEMBERS[0], invite_link=first)  # the old link is dead
    assert await live.call("revoke_group_invite_link", gid) is True
    control(live, "POST", "/groups/join", 404, wa_id=MEMBERS[0], invite_link=second)


async def test_sandbox_join_requests(live: Any) -> None:
    gid = await _group(live, join_approval_mode="approval_required")
    link = await live.call("get_group_invite_link", gid)
    for user in MEMBERS:
        control(live, "POST", "/groups/join", wa_id=user, invite_link=link)
    requests = await live.call("list_join_requests", gid)
    assert [r.wa_id for r in requests] == MEMBERS and all(r.creation_timestamp for r in requests)
    ids = [r.join_request_id for r in requests]
    approved = await live.call("approve_join_requests", gid, [ids[0], "no-such-request"])
    assert approved.approved_join_requests == [ids[0]]
    assert [f.join_request_id for f in approved.failed_join_requests] == ["no-such-request"]
    rejected = await live.call("reject_join_requests", gid, ids[1])
    assert rejected.rejected_join_requests == [ids[1]]
    assert [r.join_request_id for r in await live.call("list_join_requests", gid)] == [ids[2]]
    assert [p.wa_id for p in (await live.call("get_group", gid)).participants] == [MEMBERS[0]]


async def test_sandbox_remove_participants(live: Any) -> None:
    gid = await _group(live)
    link = await live.call("get_group_invite_link", gid)
    for user in MEMBERS[:2]:
        control(live, "POST", "/groups/join", wa_id=user, invite_link=link)
    assert await live.call("remove_group_participants", gid, [f"+{MEMBERS[0]}", MEMBERS[2]]) is True
    assert [p.wa_id for p in (await live.call("get_group", gid)).participants] == [MEMBERS[1]]


async def test_sandbox_send_to_a_group(live: Any) -> None:
    gid = await _group(live)
    control(live, "POST", "/groups/join", wa_id=MEMBERS[0], invite_link=await live.call("get_group_invite_link", gid))
    control(live, "POST", f"/groups/{gid}/messages", **{"from": MEMBERS[0], "text": "hello"})
    sent = await live.call("send_to_group", gid, Text("hello group"))
    body = live.sandbox.message(sent.wamid)["body"]
    assert body == {"messaging_product": "whatsapp", "recipient_type": "group", "to": gid,
                    "type": "text", "text": {"body": "hello group"}}
    image = await live.call("send", gid, Image(link="https://example.com/a.jpg"), recipient_type="group")
    assert live.sandbox.message(image.wamid)["type"] == "image"
    template = await live.call("send_to_group", gid, Template("hello_world", "en_US"))
    assert live.sandbox.message(template.wamid)["type"] == "template"
    with pytest.raises(GroupUnavailable):
        await live.call("send_to_group", "bm8tc3VjaC1ncm91cA", Text("hello"))
