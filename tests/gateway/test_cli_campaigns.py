"""Campaigns checked against their template (CLI, CSV and POST /v1/campaigns); bad rows; waits that end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from wacloud.cli import app
from wacloud.cli.output import Exit

from .conftest import LiveGateway

runner = CliRunner()


def run(live: LiveGateway | None, *args: str, **env: str) -> Any:
    base = {"WACLOUD_GATEWAY_URL": live.url, "WACLOUD_API_KEY": live.key} if live else {}
    return runner.invoke(app, list(args), env={**base, **env}, catch_exceptions=False)


def control(live: LiveGateway, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The embedded sandbox's control API (with the gateway's key, which it may require)."""
    resp = live.http.post(f"{live.sandbox}/_sandbox/{path}", json=body)
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def rich_template(live: LiveGateway, name: str) -> None:
    """An APPROVED template with an image header, named body variables, a dynamic URL and a copy-code button."""
    control(live, "templates", {
        "name": name,
        "language": "en_US",
        "category": "MARKETING",
        "parameter_format": "NAMED",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U="]}},
            {"type": "BODY", "text": "Hi {{first_name}}, your code is ready.",
             "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Ana"}]}},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Track", "url": "https://example.com/t/{{1}}",
                 "example": ["https://example.com/t/abc"]},
                {"type": "COPY_CODE", "example": "SAVE10"},
            ]},
        ],
    })


def jobs_of(live: LiveGateway, campaign: str) -> list[dict[str, Any]]:
    resp = live.http.get("/v1/jobs", params={"campaign": campaign, "limit": 100})
    assert resp.status_code == 200, resp.text
    jobs: list[dict[str, Any]] = resp.json()["jobs"]
    return [j for j in jobs if j.get("campaign_id") == campaign]


def test_broadcast_fills_header_buttons_and_named_params_and_ignores_extra_columns(
    live: LiveGateway, tmp_path: Path
) -> None:
    rich_template(live, "cmp_rich")
    f = tmp_path / "crm.csv"
    f.write_text("phone,first_name,email,button.0,button.1\n"
                 "+15557100001,Ana,ana@example.com,trk-1,SAVE10\n"
                 "+15557100002,Bo,bo@example.com,trk-2,SAVE20\n")
    res = run(live, "broadcast", "-t", "cmp_rich", "-r", str(f), "--id", "rich-1",
              "--param", "header.image=https://example.com/banner.png", "--until", "delivered", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["failed_by_code"] == {} and out["total"] == 2
    assert any("'email'" in w for w in out["warnings"])  # the CRM column is ignored, with a warning
    (job,) = [j for j in jobs_of(live, "rich-1") if j["to"] == "15557100001"]
    body = live.http.get("/v1/conversations/15557100001/messages").json()["messages"][-1]["body"]
    comps = {c["type"] + str(c.get("index", "")): c for c in body["template"]["components"]}
    assert comps["header"]["parameters"] == [{"type": "image", "image": {"link": "https://example.com/banner.png"}}]
    assert comps["body"]["parameters"] == [{"type": "text", "parameter_name": "first_name", "text": "Ana"}]
    assert comps["button0"]["parameters"] == [{"type": "text", "text": "trk-1"}]
    assert comps["button1"]["parameters"] == [{"type": "coupon_code", "coupon_code": "SAVE10"}]
    assert job["state"] in ("delivered", "read")


def test_a_missing_column_or_unknown_template_refuses_the_campaign_before_queueing(
    live: LiveGateway, tmp_path: Path
) -> None:
    rich_template(live, "cmp_rich")
    f = tmp_path / "short.csv"
    f.write_text("phone,first_name\n+15557200001,Ana\n")
    res = run(live, "broadcast", "-t", "cmp_rich", "-r", str(f), "--id", "short-1", "--json")
    assert res.exit_code == Exit.USAGE, res.output
    assert "header.image" in res.output and "button.0" in res.output
    assert jobs_of(live, "short-1") == []
    res = run(live, "broadcast", "-t", "no_such_template", "-r", str(f), "--id", "short-2", "--json")
    assert res.exit_code == Exit.USAGE and "no_such_template" in res.output
    assert jobs_of(live, "short-2") == []
    # The API: the same check, and header/button values for everyone in "values".
    resp = live.http.post("/v1/campaigns", json={"template": "cmp_rich", "id": "api-1",
                                                 "recipients": [{"to": "+15557200002", "named": {"first_name": "C"}}]})
    assert resp.status_code == 422 and "header.image" in resp.json()["error"]["reason"]
    resp = live.http.post("/v1/campaigns", json={
        "template": "cmp_rich", "id": "api-1",
        "values": {"header.image": "4490001", "button.1": "CODE"},
        "recipients": [{"to": "+15557200002", "named": {"first_name": "C"}, "values": {"button.0": "x"}}],
    })
    assert resp.status_code == 202, resp.text
    assert resp.json()["total"] == 1 and resp.json()["invalid"] == []


def test_broadcast_reports_bad_rows_by_line_and_column_and_sends_the_rest(live: LiveGateway, tmp_path: Path) -> None:
    live.template("cmp_hello", "Hello {{1}}!", positional=1)
    f = tmp_path / "mixed.csv"
    f.write_text("phone,1\n"
                 "6505550101,Ana\n"  # line 2: national number, needs --default-region
                 "not-a-number,Bo\n"  # line 3: bad number
                 "+15557300003,\n"  # line 4: empty parameter
                 "+15557300004,Dee\n")
    res = run(live, "broadcast", "-t", "cmp_hello", "-r", str(f), "--id", "mixed-1", "--default-region", "US")
    assert res.exit_code == Exit.FAILED, res.output
    assert f"{f}:3: column 'phone'" in res.output
    assert f"{f}:4: column '1'" in res.output
    assert ":2:" not in res.output and ":5:" not in res.output
    assert sorted(j["to"] for j in jobs_of(live, "mixed-1")) == ["15557300004", "16505550101"]


def test_send_wait_times_out_with_a_message_and_broadcast_notices_a_stall(live: LiveGateway, tmp_path: Path) -> None:
    control(live, "customers", {"wa_id": "15557400001", "read_receipts": False})
    live.inject("15557400001", text="hi")
    live.template("cmp_plain", "Plain news.")
    f = tmp_path / "one.csv"
    f.write_text("to\n+15557400001\n")
    res = run(live, "broadcast", "-t", "cmp_plain", "-r", str(f), "--until", "read", "--stall", "1", "--json")
    assert res.exit_code == Exit.TIMEOUT, res.output
    assert "stalled" in json.loads(res.stdout)["stopped"]
    control(live, "config", {"sent_after_s": None, "delivered_after_s": None, "read_after_s": None})
    try:
        res = run(live, "send", "text", "+15557400001", "no status ever", "--wait", "--timeout", "1")
        assert res.exit_code == Exit.TIMEOUT, res.output
        assert "waited 1 s and the message is still" in res.output
    finally:
        control(live, "config", {"sent_after_s": 0.0, "delivered_after_s": 0.05, "read_after_s": 0.1})


def test_status_watch_that_times_out_says_so(live: LiveGateway) -> None:
    live.inject("15557500001", text="hi")
    control(live, "config", {"sent_after_s": None, "delivered_after_s": None, "read_after_s": None})
    try:
        sent = run(live, "send", "text", "+15557500001", "quiet", "--json")
        job = json.loads(sent.stdout)
        res = run(live, "status", job["id"], "--watch", "--timeout", "1", "--json")
        assert res.exit_code == Exit.TIMEOUT, res.output
        out = json.loads(res.stdout)
        assert out["ok"] is False and "watched 1 s" in out["error"] and out["job"]["id"] == job["id"]
    finally:
        control(live, "config", {"sent_after_s": 0.0, "delivered_after_s": 0.05, "read_after_s": 0.1})
