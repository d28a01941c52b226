"""`keys` and `doctor` never create a database; `doctor` checks the API key and the gateway it names;
`webhook replay` and `--gateway` take the gateway's URL as users write it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from wacloud.cli import app
from wacloud.cli.output import Exit

from .conftest import APP_SECRET, LiveGateway

runner = CliRunner()


def run(*args: str, **env: str) -> Any:
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def checks_of(output: str) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["state"], c["detail"]) for c in json.loads(output)["checks"]}


def test_keys_and_doctor_in_another_directory_create_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    res = run("keys", "create", "--name", "ci", "--json")
    assert res.exit_code == Exit.USAGE, res.output
    assert "no database" in res.output and str(tmp_path / "wacloud.db") in res.output
    assert run("keys", "list").exit_code == Exit.USAGE
    doc = run("doctor", "--gateway", "http://127.0.0.1:9", "--json")
    assert checks_of(doc.stdout)["store"][0] == "skip"
    assert not (tmp_path / "wacloud.db").exists()
    cfg = tmp_path / "wacloud.toml"
    cfg.write_text('database_url = "sqlite:///data/gw.db"\n')
    run("doctor", "--config", str(cfg), "--gateway", "http://127.0.0.1:9", "--json")
    assert not (tmp_path / "data").exists()


def test_doctor_checks_the_api_key_and_that_the_store_is_the_running_gateways(
    live: LiveGateway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = live.gw.settings.database_url
    good = run("doctor", "--gateway", live.url, "--json", WACLOUD_DATABASE_URL=db, WACLOUD_API_KEY=live.key)
    assert checks_of(good.stdout)["api key"][0] == "ok", good.output
    assert good.exit_code == 0, good.output
    bad = run("doctor", "--gateway", live.url, "--json", WACLOUD_DATABASE_URL=db, WACLOUD_API_KEY="wk_wrong")
    assert bad.exit_code == Exit.FAILED
    state, detail = checks_of(bad.stdout)["api key"]
    assert state == "fail" and "refused" in detail and "wk_wrong" not in bad.output
    # A config whose database is not there, while a gateway answers: not "ok" on both counts.
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "wacloud.toml"
    cfg.write_text('database_url = "sqlite:///elsewhere/gw.db"\n')
    odd = run("doctor", "--config", str(cfg), "--gateway", live.url, "--json", WACLOUD_API_KEY=live.key)
    assert odd.exit_code == Exit.FAILED
    assert checks_of(odd.stdout)["store"][0] == "fail"
    assert not (tmp_path / "elsewhere").exists()


def test_webhook_replay_uses_the_gateway_url_and_gateway_urls_are_forgiving(
    live: LiveGateway, tmp_path: Path
) -> None:
    f = tmp_path / "empty.json"
    f.write_text(json.dumps({"object": "whatsapp_business_account", "entry": []}))
    res = run("webhook", "replay", str(f), "--app-secret", APP_SECRET, "--json", WACLOUD_GATEWAY_URL=live.url)
    assert res.exit_code == 0, res.output
    host = live.url.removeprefix("http://")
    for url in (f"{live.url}/v1", f"{live.url}/v1/", host):
        got = run("status", "nope-job", "--json", WACLOUD_GATEWAY_URL=url, WACLOUD_API_KEY=live.key)
        assert got.exit_code == Exit.NOT_FOUND, (url, got.output)
    odd = run("status", "x", "--json", WACLOUD_GATEWAY_URL="ftp://host/x", WACLOUD_API_KEY=live.key)
    assert odd.exit_code == Exit.USAGE and "http" in odd.output


def test_doctor_with_a_live_configuration_does_not_pass_a_sandbox_gateway(live: LiveGateway, tmp_path: Path) -> None:
    cfg = tmp_path / "live.toml"
    cfg.write_text(
        f'access_token = "{live.gw.creds.token}"\nphone_number_id = "{live.gw.creds.phone_number_id}"\n'
        f'graph_url = "{live.sandbox}"\napp_secret = "{APP_SECRET}"\nverify_token = "x-verify"\n'
        f'database_url = "{live.gw.settings.database_url}"\n'
    )
    doc = run("doctor", "--config", str(cfg), "--gateway", live.url, "--json", WACLOUD_API_KEY=live.key)
    checks = checks_of(doc.stdout)
    assert checks["configuration"] == ("ok", "valid, live mode")
    state, detail = checks["gateway"]
    assert state == "fail" and "sandbox mode" in detail, checks
    assert doc.exit_code == Exit.FAILED
