"""``wacloud calls|groups|business|templates library…``: the CLI against a running sandbox-mode gateway."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from coverage.conftest import SDP_ANSWER, SDP_OFFER, control, control_get
from gateway.conftest import LiveGateway, wait_for
from wacloud.cli import app

runner = CliRunner()


def run(live: LiveGateway, *args: str) -> Any:
    """Invoke the CLI with the gateway's URL and API key."""
    return runner.invoke(app, [*args, "--gateway", live.url, "--api-key", live.key])


def out(live: LiveGateway, *args: str) -> Any:
    """Run with ``--json``, check the exit code and decode the output."""
    result = run(live, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_calls_commands(live: LiveGateway, tmp_path: Path) -> None:
    answer = tmp_path / "answer.sdp"
    answer.write_text(SDP_ANSWER)
    offer = tmp_path / "offer.sdp"
    offer.write_text(SDP_OFFER)
    placed = control(live, "/calls", **{"from": "15550303001", "sdp": SDP_OFFER})
    assert out(live, "calls", "pre-accept", placed["id"], "--sdp", str(answer)) == {"success": True}
    assert out(live, "calls", "accept", placed["id"], "--sdp", str(answer)) == {"success": True}
    assert control_get(live, f"/calls/{placed['id']}")["state"] == "ongoing"
    ended = run(live, "calls", "terminate", placed["id"])
    assert ended.exit_code == 0 and "terminate" in ended.output
    assert run(live, "calls", "terminate", placed["id"]).exit_code == 2  # Graph's 100: the call is over
    other = control(live, "/calls", **{"from": "15550303002"})
    assert out(live, "calls", "reject", other["id"]) == {"success": True}

    user = "15550303003"
    live.inject(user, text="hi")
    refused = run(live, "calls", "connect", user, "--sdp", str(offer), "--check-permission", "--json")
    assert refused.exit_code == 1 and json.loads(refused.output)["detail"]["code"] == 138006
    assert "denied" in run(live, "calls", "permission", user).output
    asked = out(live, "calls", "permission", user, "--ask", "May we call you?")
    assert asked["wamid"]
    control(live, "/call_permissions", wa_id=user, response="accept")
    wait_for(lambda: out(live, "calls", "permission", user)["can_call"], 10, "the permission")
    call_id = out(live, "calls", "connect", user, "--sdp", str(offer))["call_id"]
    assert call_id.startswith("wacid.")
    assert out(live, "calls", "terminate", call_id) == {"success": True}

    assert out(live, "calls", "settings")["status"] == "ENABLED"
    assert out(live, "calls", "settings", "--icon", "disable_all") == {"success": True}
    assert out(live, "calls", "settings")["call_icon_visibility"] == "DISABLE_ALL"
    bad = tmp_path / "hours.json"
    bad.write_text("{not json")
    assert run(live, "calls", "settings", "--hours", str(bad)).exit_code == 2


def test_groups_commands(live: LiveGateway) -> None:
    made = run(live, "groups", "create", "CLI Club", "--description", "from the CLI")
    assert made.exit_code == 0, made.output

    def group_id() -> str | None:
        found = [g["id"] for g in out(live, "groups", "list")["groups"] if g["subject"] == "CLI Club"]
        return found[0] if found else None

    gid: str = wait_for(group_id, 10, "the group")
    assert "CLI Club" in run(live, "groups", "list").output
    link = out(live, "groups", "link", gid)["invite_link"]
    control(live, "/groups/join", wa_id="15550303010", invite_link=link)
    info = run(live, "groups", "info", gid)
    assert info.exit_code == 0 and "15550303010" in info.output
    assert out(live, "groups", "send", gid, "--template", "hello_world")["group_id"] == gid
    assert run(live, "groups", "send", gid).exit_code == 2  # nothing to send
    assert run(live, "groups", "send", gid, "--text", "a", "--template", "b").exit_code == 2
    assert out(live, "groups", "remove", gid, "15550303010") == {"success": True}
    new = out(live, "groups", "link", gid, "--new")["invite_link"]
    assert new != link
    assert out(live, "groups", "link", gid, "--revoke") == {"success": True}
    assert out(live, "groups", "delete", gid) == {"success": True}

    out(live, "groups", "create", "CLI Approval", "--approval")
    gid = wait_for(lambda: next((g["id"] for g in out(live, "groups", "list")["groups"]
                                 if g["subject"] == "CLI Approval"), None), 10, "the approval group")
    link = out(live, "groups", "link", gid)["invite_link"]
    for wa_id in ("15550303011", "15550303012"):
        control(live, "/groups/join", wa_id=wa_id, invite_link=link)
    ids = [r["join_request_id"] for r in out(live, "groups", "requests", gid)["data"]]
    assert len(ids) == 2
    assert "approved" in run(live, "groups", "approve", gid, ids[0]).output
    assert out(live, "groups", "reject", gid, ids[1])["rejected_join_requests"] == [ids[1]]
    assert run(live, "groups", "create", "x" * 200).exit_code == 2


def test_business_commands(live: LiveGateway) -> None:
    assert out(live, "business", "username", "cli_bakery")["username"] == "cli_bakery"
    assert "cli_bakery" in run(live, "business", "username").output
    assert run(live, "business", "username", "ab").exit_code == 2
    assert out(live, "business", "username", "--release") == {"success": True}
    assert out(live, "business", "display-name", "CLI Bakery") == {"success": True}
    assert out(live, "business", "display-name")["new_display_name"] == "CLI Bakery"
    assert out(live, "business", "automation", "--prompt", "Hours?", "--command", "menu=See the menu",
               "--welcome") == {"success": True}
    shown = run(live, "business", "automation")
    assert "Hours?" in shown.output and "/menu" in shown.output
    assert run(live, "business", "automation", "--command", "no-equals-sign").exit_code == 2
    assert out(live, "business", "commerce", "--no-cart") == {"success": True}
    assert out(live, "business", "commerce")["is_cart_enabled"] is False
    assert out(live, "business", "coexistence")["coexistence"] is False
    assert out(live, "business", "coexistence", "--contacts") == {"contacts": []}


def test_template_library_and_ops_commands(live: LiveGateway) -> None:
    found = out(live, "templates", "library", "--search", "order")
    assert "delivery_update_1" in [t["name"] for t in found["data"]]
    assert "delivery_update_1" in run(live, "templates", "library").output
    made = out(live, "templates", "from-library", "cli_delivery", "delivery_update_1", "--url",
               "https://shop.example/track")
    tid = made["id"]
    assert out(live, "templates", "archive", tid) == {"success": True}
    assert run(live, "templates", "archive", tid).exit_code == 2  # already archived
    assert out(live, "templates", "unarchive", tid) == {"success": True}
    assert run(live, "templates", "unpause", tid).exit_code == 2  # not paused
    other = out(live, "templates", "from-library", "cli_delivery_two", "delivery_update_1", "--url",
                "https://shop.example/t2")["id"]
    compared = out(live, "templates", "compare", tid, other, "--days", "7")
    assert {m["metric"] for m in compared["data"]} >= {"BLOCK_RATE"}
    assert run(live, "templates", "compare", tid, other, "--days", "10").exit_code == 2
    assert run(live, "templates", "migrate", "999").exit_code == 2
