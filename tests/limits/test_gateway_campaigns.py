"""Campaign operations through the gateway's HTTP API and the CLI: dry run, budget, list, pause, resume,
cancel, export, costs, limits and the rate card (a real sandbox-mode gateway on loopback)."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.gateway.conftest import LiveGateway, start_gateway, wait_for
from typer.testing import CliRunner

from wacloud.cli import app as cli

runner = CliRunner()
NUMBERS = [f"+1650666{i:04d}" for i in range(12)]


@pytest.fixture
def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveGateway]:
    import os

    for name in list(os.environ):
        if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN",):
            monkeypatch.delenv(name)
    server, gateway = start_gateway(tmp_path / "wacloud.db")
    try:
        yield gateway
    finally:
        gateway.http.close()
        server.stop()


def _template(live: LiveGateway) -> None:
    resp = live.http.post(f"{live.sandbox}/_sandbox/templates", json={
        "name": "promo_gw", "language": "en_US", "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Sale today."}]})
    assert resp.status_code == 200, resp.text


def _cli(live: LiveGateway, *args: str) -> Any:
    env = {"WACLOUD_GATEWAY_URL": live.url, "WACLOUD_API_KEY": live.key}
    return runner.invoke(cli, list(args), env=env, catch_exceptions=False)


def test_dry_run_budget_pause_resume_cancel_export_and_costs(live: LiveGateway, tmp_path: Path) -> None:
    _template(live)
    body = {"template": "promo_gw", "recipients": [{"to": n} for n in [*NUMBERS, "not a number"]],
            "id": "gw-budget", "category": "marketing", "budget": 0.1, "skip_invalid": True}
    dry = live.http.post("/v1/campaigns", params={"dry_run": "true"}, json=body)
    assert dry.status_code == 202, dry.text
    d = dry.json()
    assert d["dry_run"] and d["recipients"]["new"] == 12 and d["recipients"]["invalid"] == 1
    assert d["held"] == {"budget": 8} and d["sendable"] == 4 and abs(d["estimated_cost"] - 0.1) < 1e-9
    assert d["template"]["status"] == "APPROVED" and d["duration_s"] > 0
    assert live.http.get("/v1/campaigns").json()["campaigns"] == []  # nothing was queued
    started = live.http.post("/v1/campaigns", json=body)
    assert started.status_code == 202, started.text
    found = wait_for(lambda: (lambda c: c if c.get("held", {}).get("budget") == 8 and
                              c["states"].get("held") == 8 and sum(c["states"].values()) == 12 and
                              c["states"].get("queued", 0) == 0 else None)(
        live.http.get("/v1/campaigns/gw-budget").json()), 20, "the budget hold")
    assert found["budget"] == 0.1 and found["eta_s"] is None and found["state"] == "active"
    listed = live.http.get("/v1/campaigns").json()["campaigns"]
    assert [c["id"] for c in listed] == ["gw-budget"] and listed[0]["held"] == {"budget": 8}
    assert live.http.post("/v1/campaigns/gw-budget/pause").json()["state"] == "paused"
    assert live.http.post("/v1/campaigns/nope/pause").status_code == 404
    assert live.http.post("/v1/campaigns/gw-budget/resume").json()["state"] == "active"
    cancelled = live.http.post("/v1/campaigns/gw-budget/cancel").json()
    assert cancelled["state"] == "cancelled" and cancelled["states"].get("held", 0) == 0
    assert live.http.post("/v1/campaigns/gw-budget/resume").status_code == 409
    # Prices come with the sent statuses, which may still be on their way: no row yet is "not yet".
    wait_for(lambda: ((rows := live.http.get("/v1/costs", params={"group_by": "campaign"}).json()["rows"])
             and rows[0]["billable"] == 4) or None, 20, "pricing of the 4 sent")
    costs = live.http.get("/v1/costs", params={"group_by": "category"}).json()
    assert costs["rows"][0]["key"] == "marketing" and abs(costs["total"] - 0.1) < 1e-9
    assert live.http.get("/v1/costs", params={"group_by": "nope"}).status_code == 422
    assert live.http.get("/v1/costs", params={"group_by": "day"}).json()["rows"][0]["key"] == time.strftime(
        "%Y-%m-%d", time.gmtime())
    export = live.http.get("/v1/campaigns/gw-budget/export")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert export.headers["content-type"].startswith("text/csv") and len(rows) == 12
    assert list(rows[0]) == ["recipient", "state", "wamid", "code", "detail", "cost"]
    assert sorted(r["state"] for r in rows).count("failed") == 8
    assert {r["detail"] for r in rows if r["state"] == "failed"} == {"campaign cancelled"}
    # The CLI, through the same API.
    out = _cli(live, "campaigns", "list")
    assert out.exit_code == 0 and "gw-budget" in out.stdout and "cancelled" in out.stdout
    target = tmp_path / "out.csv"
    assert _cli(live, "campaigns", "export", "gw-budget", "--out", str(target)).exit_code == 0
    assert len(target.read_text().splitlines()) == 13
    card = tmp_path / "card.csv"
    card.write_text("Market,Currency,Marketing,Utility,Authentication\nNorth America,USD,0.05,0.01,0.01\n"
                    "Other,USD,0.07,0.01,0.01\n")
    loaded = _cli(live, "ratecard", "load", str(card), "--as-of", "2027-01-01")
    assert loaded.exit_code == 0, loaded.stdout
    assert live.gw.outbox.rate_card.rate("marketing", "16506660000") == 0.05
    bad = tmp_path / "bad.csv"
    bad.write_text("Market,Marketing\nNorth America,cheap\n")
    assert _cli(live, "ratecard", "load", str(bad)).exit_code != 0
    limits = live.http.get("/v1/limits").json()
    assert limits["reached_24h"] == 4 and limits["portfolio"] == "default"
    recipients = tmp_path / "r.csv"
    recipients.write_text("to\n" + "\n".join(NUMBERS[:3]) + "\n")
    dry_cli = _cli(live, "broadcast", "-t", "promo_gw", "-r", str(recipients), "--category", "marketing",
                   "--dry-run", "--json")
    assert dry_cli.exit_code == 0, dry_cli.stdout
    assert '"dry_run": true' in dry_cli.stdout and '"in_window": 0' in dry_cli.stdout
    assert len(live.http.get("/v1/campaigns").json()["campaigns"]) == 1  # the dry run queued nothing
    metrics = live.http.get("/metrics").text
    assert 'wacloud_cost{category="marketing"}' in metrics
    dry_cli = _cli(live, "campaigns", "pause", "gw-budget")
    assert dry_cli.exit_code != 0  # a cancelled campaign cannot be paused


def test_a_scheduled_campaign_is_rescheduled_and_its_budget_changed(live: LiveGateway) -> None:
    _template(live)
    later = time.time() + 3600
    body = {"template": "promo_gw", "recipients": [{"to": n} for n in NUMBERS[:3]], "id": "gw-later",
            "category": "marketing", "start_at": later}
    assert live.http.post("/v1/campaigns", json=body).status_code == 202
    wait_for(lambda: live.http.get("/v1/campaigns/gw-later").json()["states"].get("queued") == 3 or None, 20,
             "the campaign queued")
    # Two hours later, then a budget: each is a campaign.progress event.
    moved = live.http.patch("/v1/campaigns/gw-later", json={"start_at": later + 3600, "budget": 0.5})
    assert moved.status_code == 200, moved.text
    assert abs(moved.json()["start_at"] - (later + 3600)) < 1e-3 and moved.json()["budget"] == 0.5
    jobs = live.http.get("/v1/jobs", params={"campaign": "gw-later"}).json()["jobs"]
    stored = [live.gw.outbox.job(j["id"]) for j in jobs]
    assert len(stored) == 3 and all(j is not None and abs(j.not_before - (later + 3600)) < 1e-3 for j in stored)
    refused = [live.http.patch("/v1/campaigns/gw-later", json=b) for b in (
        {"start_at": "soon"}, {"budget": -1}, {}, {"when": 1})]
    assert [r.status_code for r in refused] == [422, 422, 422, 422]
    assert live.http.patch("/v1/campaigns/nope", json={"budget": 1}).status_code == 404
    # The CLI: start now (it goes), then a started campaign can no longer be moved (409 naming the campaign).
    now = _cli(live, "campaigns", "set", "gw-later", "--start-at", "now", "--no-budget", "--json")
    assert now.exit_code == 0, now.stdout
    wait_for(lambda: live.http.get("/v1/campaigns/gw-later").json()["states"].get("queued", 0) == 0 or None, 20,
             "sent once moved to now")
    late = live.http.patch("/v1/campaigns/gw-later", json={"start_at": later})
    assert late.status_code == 409 and late.json()["error"]["field"] == "campaign_id"
    assert "has started" in late.json()["error"]["reason"]
    assert _cli(live, "campaigns", "set", "gw-later").exit_code != 0  # nothing to change
    page = live.http.get("/v1/events", params={"types": "campaign.progress", "limit": 1000}).json()
    steps = [e["data"] for e in page["events"]]
    assert [s["step"] for s in steps if s["campaign"] == "gw-later"][:5] == [
        "queued", "rescheduled", "budget", "rescheduled", "budget"]
