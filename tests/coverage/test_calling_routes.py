"""The gateway's calling routes against the embedded sandbox over HTTP: a user calls and the business
answers, a business call needs the user's permission, settings and analytics, and bad input is a 4xx."""

from __future__ import annotations

import time

from coverage.conftest import SDP_ANSWER, SDP_OFFER, control, control_get
from gateway.conftest import LiveGateway, wait_for

USER = "15550101001"


def test_a_user_call_is_accepted_and_ended_through_the_gateway(live: LiveGateway) -> None:
    http = live.http
    placed = control(live, "/calls", **{"from": USER, "sdp": SDP_OFFER})
    call_id = placed["id"]
    assert http.post(f"/v1/calls/{call_id}/pre_accept", json={"sdp": SDP_ANSWER}).json() == {"success": True}
    accepted = http.post(f"/v1/calls/{call_id}/accept", json={"sdp": SDP_ANSWER, "biz_opaque_callback_data": "c-1"})
    assert accepted.status_code == 200, accepted.text
    assert control_get(live, f"/calls/{call_id}")["state"] == "ongoing"
    assert http.post(f"/v1/calls/{call_id}/terminate").json() == {"success": True}
    again = http.post(f"/v1/calls/{call_id}/terminate")  # an ended call takes no more actions
    assert again.status_code == 400 and again.json()["error"]["code"] == 100


def test_a_user_call_is_rejected(live: LiveGateway) -> None:
    placed = control(live, "/calls", **{"from": "15550101002"})
    assert live.http.post(f"/v1/calls/{placed['id']}/reject").json() == {"success": True}
    assert control_get(live, f"/calls/{placed['id']}")["state"] != "ongoing"


def test_a_business_call_needs_permission_end_to_end(live: LiveGateway) -> None:
    http = live.http
    user = "15550101003"
    live.inject(user, text="hello")  # opens the window, so the permission request may go
    refused = http.post("/v1/calls", json={"to": user, "sdp": SDP_OFFER, "check_permission": True})
    assert refused.status_code == 409 and refused.json()["error"]["field"] == "to"
    assert refused.json()["error"]["code"] == 138006
    state = http.get(f"/v1/calls/permissions/{user}").json()
    assert state["can_call"] is False and state["permission"]["status"] == "denied"
    asked = http.post("/v1/calls/permissions", json={"to": user, "body": "May we call you about your order?"})
    assert asked.status_code == 201, asked.text
    wamid = asked.json()["wamid"]
    # The request is in the conversation log as an outgoing message.
    log = http.get(f"/v1/conversations/{user}/messages").json()
    assert any(m["wamid"] == wamid and m["direction"] == "out" for m in log["messages"]), log
    assert http.get(f"/v1/calls/permissions/{user}").json()["permission"]["status"] == "pending"
    control(live, "/call_permissions", wa_id=user, response="accept")
    assert wait_for(lambda: http.get(f"/v1/calls/permissions/{user}").json()["can_call"], 10, "the permission")
    placed = http.post("/v1/calls", json={"to": user, "sdp": SDP_OFFER, "biz_opaque_callback_data": "tr-1"})
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["call_id"]
    assert call_id.startswith("wacid.")
    control(live, f"/calls/{call_id}/accept", sdp=SDP_ANSWER)
    assert control_get(live, f"/calls/{call_id}")["state"] == "ongoing"
    assert http.post(f"/v1/calls/{call_id}/terminate").json() == {"success": True}


def test_calling_settings_and_analytics(live: LiveGateway) -> None:
    http = live.http
    assert http.get("/v1/calls/settings").json()["status"] == "ENABLED"
    hours = {"status": "ENABLED", "timezone_id": "Europe/Lisbon",
             "weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "0900", "close_time": "1700"}]}
    assert http.patch("/v1/calls/settings", json={"call_hours": hours}).json() == {"success": True}
    assert http.get("/v1/calls/settings").json()["call_hours"] == hours
    bad_hours = {**hours, "weekly_operating_hours": [{"day_of_week": "MONDAY", "open_time": "1700",
                                                      "close_time": "0900"}]}
    bad = http.patch("/v1/calls/settings", json={"call_hours": bad_hours})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "calling.call_hours.weekly_operating_hours[0]" \
        ".close_time"
    assert http.patch("/v1/calls/settings", json={}).json()["error"]["field"] == "calling"
    assert http.patch("/v1/calls/settings", json={"status": "MAYBE"}).json()["error"]["field"] == "status"
    start = int(time.time()) - 3600
    data = http.get("/v1/calls/analytics", params={"start": start, "end": start + 86400}).json()
    assert data["data"][0]["data_points"], data
    backwards = http.get("/v1/calls/analytics", params={"start": start, "end": start - 1})
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "end"


def test_bad_call_requests_name_the_field(live: LiveGateway) -> None:
    http = live.http
    cases = [
        (http.post("/v1/calls", json={"to": USER}), "sdp"),
        (http.post("/v1/calls", json={"to": USER, "sdp": "   "}), "session.sdp"),
        (http.post("/v1/calls", json={"to": USER, "sdp": SDP_OFFER, "video": True}), "video"),
        (http.post("/v1/calls/wacid.x/accept", json={}), "sdp"),
        (http.post("/v1/calls/permissions", json={"to": USER, "body": ""}), "body"),
        (http.get("/v1/calls/permissions/%20"), "wa_id"),
    ]
    for resp, field in cases:
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["field"] == field, resp.text
    unknown = http.post("/v1/calls/wacid.nope/accept", json={"sdp": SDP_ANSWER})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == 100
    assert httpx_no_key(live).status_code == 401


def httpx_no_key(live: LiveGateway) -> object:
    """The same route without the API key."""
    import httpx

    return httpx.post(f"{live.url}/v1/calls/wacid.x/reject", timeout=10)
