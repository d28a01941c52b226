"""``wacloud templates|profile|qr|block``: the CLI against a running sandbox-mode gateway over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from management.helpers import good_definition, mutate
from wacloud.cli import app

runner = CliRunner()


def run(gateway: Any, *args: str) -> Any:
    """Invoke the CLI with the gateway's URL and API key."""
    key = gateway.http.headers["Authorization"].removeprefix("Bearer ")
    return runner.invoke(app, [*args, "--gateway", gateway.url, "--api-key", key])


def test_templates_commands(gateway: Any, tmp_path: Path) -> None:
    body = mutate(good_definition(), ["name"], "cli_promo")
    path = tmp_path / "tpl.json"
    path.write_text(json.dumps(body))
    created = run(gateway, "templates", "create", str(path), "--json")
    assert created.exit_code == 0, created.output
    assert json.loads(created.output)["id"]
    listed = run(gateway, "templates", "list", "--name", "cli_promo", "--json")
    assert [t["name"] for t in json.loads(listed.output)["data"]] == ["cli_promo"]
    human = run(gateway, "templates", "list", "--name", "cli_promo")
    assert "cli_promo" in human.output and human.exit_code == 0
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(mutate(body, ["components", 2, "text"], "Bye {{1}}")))
    refused = run(gateway, "templates", "create", str(broken), "--json")
    assert refused.exit_code == 2
    assert json.loads(refused.output)["subcode"] == 2388073
    deleted = run(gateway, "templates", "delete", "cli_promo")
    assert deleted.exit_code == 0 and "deleted" in deleted.output
    assert json.loads(run(gateway, "templates", "list", "--name", "cli_promo", "--json").output)["data"] == []


def test_profile_commands(gateway: Any) -> None:
    out = run(
        gateway,
        "profile",
        "set",
        "--about",
        "CLI bakery",
        "--website",
        "https://a.example",
        "--website",
        "https://b.example",
    )
    assert out.exit_code == 0, out.output
    got = json.loads(run(gateway, "profile", "get", "--json").output)
    assert got["about"] == "CLI bakery" and got["websites"] == ["https://a.example", "https://b.example"]
    assert "CLI bakery" in run(gateway, "profile", "get").output
    assert run(gateway, "profile", "set").exit_code == 2
    bad = run(gateway, "profile", "set", "--vertical", "BAKERY", "--json")
    assert bad.exit_code == 2


def test_qr_commands(gateway: Any) -> None:
    created = run(gateway, "qr", "create", "Hello from the CLI", "--image", "svg", "--json")
    assert created.exit_code == 0, created.output
    code = json.loads(created.output)["code"]
    assert code in run(gateway, "qr", "list").output
    assert run(gateway, "qr", "delete", code).exit_code == 0
    assert run(gateway, "qr", "delete", code).exit_code == 2  # Graph's 100: no such object
    assert run(gateway, "qr", "create", "x" * 141).exit_code == 2


def test_block_commands(gateway: Any) -> None:
    gateway.http.post("/sandbox/_sandbox/inbound", json={"from": "15550007777", "text": "hi"})
    added = run(gateway, "block", "add", "15550007777")
    assert added.exit_code == 0 and "15550007777" in added.output
    assert "15550007777" in run(gateway, "block", "list").output
    partial = run(gateway, "block", "add", "15550006666")
    assert partial.exit_code == 1 and "24 hours" in partial.output
    removed = run(gateway, "block", "remove", "15550007777", "--json")
    assert removed.exit_code == 0 and json.loads(removed.output)["removed_users"][0]["wa_id"] == "15550007777"


def test_missing_api_key_and_unreachable_gateway(gateway: Any) -> None:
    assert runner.invoke(app, ["qr", "list", "--gateway", gateway.url]).exit_code == 2
    unreachable = runner.invoke(app, ["qr", "list", "--gateway", "http://127.0.0.1:9", "--api-key", "k"])
    assert unreachable.exit_code == 3
    wrong = runner.invoke(app, ["qr", "list", "--gateway", gateway.url, "--api-key", "wrong"])
    assert wrong.exit_code == 4


def test_templates_check_offline(tmp_path: Path) -> None:
    good, bad, junk = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "junk.json"
    good.write_text(json.dumps(good_definition()))
    bad.write_text(json.dumps(mutate(good_definition(), ["components", 1, "text"], "Shop {{1}} {{3}} now")))
    junk.write_text("{nope")
    ok = runner.invoke(app, ["templates", "check", str(good)])
    assert ok.exit_code == 0 and "looks valid" in ok.output
    refused = runner.invoke(app, ["templates", "check", str(bad), "--json"])
    assert refused.exit_code == 2 and json.loads(refused.output)["field"] == "components[1].text"
    assert runner.invoke(app, ["templates", "check", str(junk)]).exit_code == 2
