"""Sandbox mode: the embedded sandbox's control API is the gateway's (API key), and its state survives a
restart of the gateway (kept in the gateway's database)."""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import wacloud
from gateway.conftest import LiveGateway, start_gateway


def test_control_api_needs_the_gateway_api_key(tmp_path: Path) -> None:
    server, live = start_gateway(tmp_path / "wacloud.db")
    try:
        control = f"{live.sandbox}/_sandbox"
        before = httpx.get(f"{control}/config", headers={"Authorization": f"Bearer {live.key}"}).json()
        attacks = [
            ("POST", "/config", {"webhook_url": "http://attacker.example/hook"}),
            ("POST", "/reset", None),
            ("POST", "/faults", {"error_500_rate": 1}),
            ("POST", "/verify-webhook", {"verify_token": "x", "url": "http://127.0.0.1:1/"}),
            ("GET", "/", None),
            ("GET", "/customers", None),
        ]
        for headers in ({}, {"Authorization": "Bearer wk_not-a-key"}, {"X-API-Key": "nope"}):
            for method, path, body in attacks:
                r = httpx.request(method, control + path, json=body, headers=headers)
                assert r.status_code == 401, (method, path, headers, r.text)
                assert r.json()["error"]["reason"] and live.key not in r.text
        for headers in ({"Authorization": f"Bearer {live.key}"}, {"X-API-Key": live.key}):
            assert httpx.get(f"{control}/faults", headers=headers).status_code == 200
        after = httpx.get(f"{control}/config", headers={"X-API-Key": live.key}).json()
        assert after["webhook_url"] == before["webhook_url"] == f"{live.url}/webhook"
        assert httpx.get(f"{control}/faults", headers={"X-API-Key": live.key}).json()["error_500_rate"] == 0
        # The Graph API part keeps its own token (the gateway's client uses it), not the API key.
        graph = httpx.get(f"{live.sandbox}/{live.gw.creds.phone_number_id}/whatsapp_business_profile",
                          headers={"Authorization": f"Bearer {live.gw.creds.token}"})
        assert graph.status_code == 200, graph.text
    finally:
        live.http.close()
        server.stop()


def _graph(live: LiveGateway) -> httpx.Client:
    """A client on the embedded sandbox's Graph API, with the sandbox's token."""
    return httpx.Client(base_url=live.sandbox, headers={"Authorization": f"Bearer {live.gw.creds.token}"},
                        timeout=10)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A real SQLite file, or a fresh schema of the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'wacloud.db'}"
        return
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        pytest.skip('WACLOUD_TEST_PG_DSN is not set (run: eval "$(bash .ci/postgres.sh)")')
    import psycopg

    schema = "sbx_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_sandbox_state_survives_a_gateway_restart(tmp_path: Path, database_url: str) -> None:
    db = tmp_path / "wacloud.db"
    customer = "15557770001"
    server, live = start_gateway(db, database_url=database_url)
    try:
        pnid = live.gw.creds.phone_number_id
        live.inject(customer, text="hi, I wrote five minutes ago")
        live.template("order_ready", "Your order {{1}} is ready", positional=1)
        with _graph(live) as graph:
            media = graph.post(f"/{pnid}/media", data={"messaging_product": "whatsapp", "type": "image/jpeg"},
                               files={"file": ("a.jpg", b"\xff\xd8\xff\xe0" + b"1" * 64, "image/jpeg")})
            media_id = media.json()["id"]
            profile = graph.post(f"/{pnid}/whatsapp_business_profile",
                                 json={"messaging_product": "whatsapp", "about": "Open 9 to 5"})
            assert profile.status_code == 200, profile.text
            qr = graph.post(f"/{pnid}/message_qrdls", json={"prefilled_message": "Where is my order?"})
            code = qr.json()["code"]
        first_wamids = {m["id"] for m in httpx.get(
            f"{live.sandbox}/_sandbox/customers/{customer}/messages", headers={"X-API-Key": live.key}
        ).json()["sent"]}
    finally:
        live.http.close()
        server.stop()

    server, live = start_gateway(db, database_url=database_url)  # a new app on the same database: the restart
    try:
        sent = live.http.post("/v1/messages", json={"to": f"+{customer}", "type": "text",
                                                    "text": {"body": "Thanks for writing!"}})
        assert sent.status_code == 202, sent.text
        job = live.wait_job(sent.json()["id"], {"delivered", "read", "failed"})
        assert job["state"] != "failed", job  # no 131047: the sandbox remembers the open window
        with _graph(live) as graph:
            assert graph.get(f"/{media_id}").json()["id"] == media_id
            about = graph.get(f"/{pnid}/whatsapp_business_profile").json()["data"][0]["about"]
            assert about == "Open 9 to 5"
            assert graph.get(f"/{pnid}/message_qrdls/{code}").json()["data"][0]["code"] == code
        templates = httpx.get(f"{live.sandbox}/_sandbox/templates", headers={"X-API-Key": live.key}).json()
        assert "order_ready" in {t["name"] for t in templates["templates"]}
        # New messages get new ids, never one of the previous run's.
        again = live.inject(customer, text="me again")["id"]
        assert again not in first_wamids
    finally:
        live.http.close()
        server.stop()


def test_banner_shows_webhook_secrets_and_a_command_the_user_can_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from wacloud.cli.serve import banner, startup_info
    from wacloud.gateway._app import create_app
    from wacloud.gateway._settings import load_settings

    caplog.set_level(logging.DEBUG)
    app = create_app(load_settings(database_url=f"sqlite:///{tmp_path / 'wacloud.db'}", port=8080))
    gw = app.state.gateway
    creds = gw.creds
    # A virtualenv's script, not on PATH (the README installs into .venv without activating it).
    venv_script = str(tmp_path / ".venv" / "bin" / "wacloud")
    monkeypatch.setattr(sys, "argv", [venv_script, "serve"])
    text = banner(startup_info(gw, "wk_example"))
    assert creds.verify_token in text and creds.app_secret is not None and creds.app_secret in text
    assert f"{venv_script} send template" in text and f"{venv_script} keys create" in text
    assert not [line for line in text.splitlines() if line.strip().startswith("wacloud ")]
    assert "Authorization: Bearer $WACLOUD_API_KEY" in text.split("/_sandbox/inbound")[1].splitlines()[0]
    # Run as `python -m wacloud`: the banner says so.
    monkeypatch.setattr(sys, "argv", [str(Path(wacloud.__file__).parent / "__main__.py"), "serve"])
    assert f"{sys.executable} -m wacloud send text" in banner(startup_info(gw, None))
    # Shown on the terminal, never in the log.
    for record in caplog.records:
        assert creds.verify_token not in record.getMessage() and creds.app_secret not in record.getMessage()


def test_unreadable_saved_sandbox_state_is_set_aside_not_fatal(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from wacloud.gateway._app import create_app
    from wacloud.gateway._settings import load_settings

    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'wacloud.db'}", port=8080)
    db = create_app(settings).state.gateway.db
    db.execute("INSERT INTO wacloud_gw_sandbox (name, value) VALUES ('core', '{damaged')")
    caplog.set_level(logging.ERROR, logger="wacloud.gateway")
    app = create_app(settings)  # the restart: it starts, with a fresh sandbox
    assert app.state.gateway.sandbox_app.state.customers == {}
    assert any("was not restored" in r.getMessage() for r in caplog.records)
    names = [row[0] for row in db.execute("SELECT name FROM wacloud_gw_sandbox")]
    assert any(n.startswith("unreadable-") and n.endswith(":core") for n in names) and "core" not in names


def test_sandbox_mode_starts_with_two_numbers_in_two_wabas(tmp_path: Path) -> None:
    server, live = start_gateway(tmp_path / "wacloud.db")
    try:
        info = httpx.get(f"{live.sandbox}/_sandbox/", headers={"X-API-Key": live.key}).json()
        wabas = info["phone_number_wabas"]
        assert len(wabas) == 2 and wabas[live.gw.creds.phone_number_id] == live.gw.creds.waba_id
        [(second, other_waba)] = [(p, w) for p, w in wabas.items() if p != live.gw.creds.phone_number_id]
        assert other_waba != live.gw.creds.waba_id
        with _graph(live) as graph:
            assert graph.get(f"/{second}").status_code == 200
            assert [n["id"] for n in graph.get(f"/{other_waba}/phone_numbers").json()["data"]] == [second]
    finally:
        live.http.close()
        server.stop()
