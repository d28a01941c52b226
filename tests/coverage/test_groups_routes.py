"""The gateway's group routes against the embedded sandbox over HTTP: a group end to end (create, link,
members join and write, send, join requests, remove, revoke, delete) and bad input answered with a 4xx."""

from __future__ import annotations

from typing import Any

from coverage.conftest import control, control_get
from gateway.conftest import LiveGateway, wait_for

MEMBERS = [f"1650666{i:04d}" for i in range(10)]


def _create(live: LiveGateway, subject: str, **extra: Any) -> str:
    """Create a group and wait for its id (it arrives by the lifecycle webhook; the list shows it)."""
    made = live.http.post("/v1/groups", json={"subject": subject, **extra})
    assert made.status_code == 202, made.text
    assert made.json()["request_id"]

    def found() -> str | None:
        groups = live.http.get("/v1/groups").json()["groups"]
        return next((g["id"] for g in groups if g["subject"] == subject), None)

    gid: str = wait_for(found, 10, f"group {subject}")
    return gid


def test_a_group_end_to_end_through_the_gateway(live: LiveGateway) -> None:
    http = live.http
    gid = _create(live, "Watch Enthusiasts", description="Timepieces")
    link = http.get(f"/v1/groups/{gid}/invite_link").json()["invite_link"]
    assert link.startswith("https://chat.whatsapp.com/")
    control(live, "/groups/join", wa_id=MEMBERS[0], invite_link=link, profile_name="Ada")
    info = http.get(f"/v1/groups/{gid}").json()
    assert info["subject"] == "Watch Enthusiasts" and info["total_participant_count"] == 1
    assert [p["wa_id"] for p in info["participants"]] == [MEMBERS[0]]
    # Nobody wrote yet: only a template goes (Meta's 131047, passed on as a 4xx with its code).
    closed = http.post(f"/v1/groups/{gid}/messages", json={"type": "text", "text": {"body": "hi all"}})
    assert closed.status_code == 400 and closed.json()["error"]["code"] == 131047
    tpl = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    assert http.post(f"/v1/groups/{gid}/messages", json=tpl).status_code == 201
    control(live, f"/groups/{gid}/messages", **{"from": MEMBERS[0], "text": "hello group"})
    sent = http.post(f"/v1/groups/{gid}/messages", json={"type": "text", "text": {"body": "Welcome, Ada!"}})
    assert sent.status_code == 201, sent.text
    assert sent.json()["group_id"] == gid
    delivered = control_get(live, f"/messages/{sent.json()['wamid']}")
    assert delivered["to"] == gid
    assert http.patch(f"/v1/groups/{gid}", json={"subject": "Horology"}).json() == {"success": True}
    assert http.get(f"/v1/groups/{gid}").json()["subject"] == "Horology"
    assert http.post(f"/v1/groups/{gid}/participants/remove",
                     json={"participants": [MEMBERS[0]]}).json() == {"success": True}
    wait_for(lambda: http.get(f"/v1/groups/{gid}").json()["total_participant_count"] == 0, 10, "the removal")
    new_link = http.post(f"/v1/groups/{gid}/invite_link").json()["invite_link"]
    assert new_link != link
    control(live, "/groups/join", 404, wa_id=MEMBERS[1], invite_link=link)
    assert http.delete(f"/v1/groups/{gid}/invite_link").json() == {"success": True}
    control(live, "/groups/join", 404, wa_id=MEMBERS[1], invite_link=new_link)
    assert http.delete(f"/v1/groups/{gid}").json() == {"success": True}
    gone = http.get(f"/v1/groups/{gid}/invite_link")
    assert 400 <= gone.status_code < 500, gone.text


def test_join_requests_through_the_gateway(live: LiveGateway) -> None:
    http = live.http
    gid = _create(live, "Approval Club", join_approval_mode="approval_required")
    link = http.get(f"/v1/groups/{gid}/invite_link").json()["invite_link"]
    for wa_id in MEMBERS[:9]:
        control(live, "/groups/join", wa_id=wa_id, invite_link=link)
    requests = http.get(f"/v1/groups/{gid}/join_requests").json()["data"]
    assert [r["wa_id"] for r in requests] == MEMBERS[:9]
    ids = [r["join_request_id"] for r in requests]
    approved = http.post(f"/v1/groups/{gid}/join_requests/approve", json={"join_requests": ids[:8]}).json()
    assert len(approved["approved_join_requests"]) == 8
    rejected = http.post(f"/v1/groups/{gid}/join_requests/reject", json={"join_requests": ids[8:]}).json()
    assert rejected["rejected_join_requests"] == ids[8:]
    assert http.get(f"/v1/groups/{gid}").json()["total_participant_count"] == 8
    assert http.get(f"/v1/groups/{gid}/join_requests").json()["data"] == []


def test_bad_group_requests_name_the_field(live: LiveGateway) -> None:
    http = live.http
    gid = _create(live, "Rules")
    cases = [
        (http.post("/v1/groups", json={"subject": "s" * 129}), "subject"),
        (http.post("/v1/groups", json={"subject": "ok", "join_approval_mode": "maybe"}), "join_approval_mode"),
        (http.post("/v1/groups", json={"subject": "ok", "members": []}), "members"),
        (http.patch(f"/v1/groups/{gid}", json={}), "group"),
        (http.post(f"/v1/groups/{gid}/participants/remove", json={"participants": MEMBERS[:9]}), "participants"),
        (http.post(f"/v1/groups/{gid}/join_requests/approve", json={"join_requests": []}), "join_requests"),
        (http.post(f"/v1/groups/{gid}/messages", json={"type": "reaction", "reaction": {}}), "type"),
        (http.post(f"/v1/groups/{gid}/messages", json={"type": "interactive", "interactive": {}}), "type"),
        (http.post(f"/v1/groups/{gid}/messages", json={"type": "text", "text": {"body": ""}}), "text.body"),
        (http.post(f"/v1/groups/{gid}/messages", json={"type": "text", "text": {"body": "x"}, "to": "1"}), "to"),
        (http.post(f"/v1/groups/{gid}/messages", json=[1]), None),
        (http.get("/v1/groups", params={"limit": 0}), "limit"),
    ]
    for resp, field in cases:
        assert resp.status_code == 422, resp.text
        if field is not None:
            assert resp.json()["error"]["field"] == field, resp.text
    unknown = http.get("/v1/groups/no-such-group")
    assert 400 <= unknown.status_code < 500, unknown.text
