"""Fixtures: a sandbox over HTTP serving two numbers in two WABAs, and a live-mode gateway for both."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud.gateway._app import create_app
from wacloud.gateway._settings import load_settings
from wacloud.sandbox import ServerThread, free_port
from wacloud.sandbox.testing import SandboxHandle, run_sandbox
from wacloud.webhooks import signature

APP_SECRET = "numbers-test-app-secret-0123"
VERIFY_TOKEN = "numbers-verify-token"
TOKEN = "numbers-test-token"
A = {"phone_number_id": "300000000000001", "display_phone_number": "15550001001", "waba_id": "400000000000001"}
B = {"phone_number_id": "300000000000002", "display_phone_number": "15550001002", "waba_id": "400000000000002"}
HELLO = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
#: The sandbox allows more than the gateway paces to, so every measured rate is the gateway's own.
SANDBOX_MPS = 50


@dataclass
class TwoNumbers:
    """A running gateway serving A and B, the sandbox behind it and an admin key."""

    url: str
    http: httpx.Client
    app: Any
    sandbox: SandboxHandle

    @property
    def gw(self) -> Any:
        return self.app.state.gateway

    def send(self, sender: str, to: str) -> dict[str, Any]:
        """Queue the ``hello_world`` template (no window needed) from ``sender``; the job."""
        resp = self.http.post("/v1/messages", json={"from": sender, "to": to, **HELLO})
        assert resp.status_code == 202, resp.text
        job: dict[str, Any] = resp.json()
        return job

    def post_webhook(self, value: dict[str, Any], *, field: str = "messages", waba: str = "1",
                     secret: str = APP_SECRET) -> httpx.Response:
        """POST a webhook signed with ``secret`` to the gateway, as Meta would."""
        body = {"object": "whatsapp_business_account",
                "entry": [{"id": waba, "changes": [{"field": field, "value": value}]}]}
        raw = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", signature.HEADER: signature.sign(raw, secret)}
        return httpx.post(f"{self.url}/webhook", content=raw, headers=headers, timeout=20)

    def accepted_at(self, phone_number_id: str) -> list[float]:
        """When the sandbox accepted each message of one number (its log), in order."""
        return [a["at"] for a in self.sandbox.log() if a["phone_number_id"] == phone_number_id and a["code"] == 0]


def wait_for(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    """Call ``probe`` until it returns something truthy (bounded; fails with ``what``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a schema of its own on the test PostgreSQL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'gw.db'}"
        return
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        pytest.skip("WACLOUD_TEST_PG_DSN is not set")
    import psycopg

    schema = f"numbers_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    try:
        yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(autouse=True)
def _no_wacloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they pass, never the developer's WACLOUD_* environment."""
    for name in list(os.environ):
        if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
            monkeypatch.delenv(name)


def start_two_numbers(tmp_path: Path, numbers: list[dict[str, Any]], *, bot: object = None,
                      **overrides: Any) -> Iterator[TwoNumbers]:
    """Sandbox (A and B, two WABAs) and a live-mode gateway configured with ``numbers`` ([[numbers]] tables)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with run_sandbox(access_token=TOKEN, app_secret=APP_SECRET, mps=SANDBOX_MPS, webhook_url=f"{url}/webhook",
                     phone_numbers=[A, B], delivered_after_s=0.05, read_after_s=None) as sbx:
        settings = load_settings(
            database_url=overrides.pop("database_url", f"sqlite:///{tmp_path / 'gw.db'}"), port=port,
            access_token=TOKEN, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, graph_url=sbx.base_url,
            numbers=numbers, **overrides,
        )
        app = create_app(settings, bot=bot)
        _, key = app.state.gateway.keys.create("admin")
        server = ServerThread(app, port=port)
        server.start()
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=20)
        try:
            yield TwoNumbers(url=url, http=http, app=app, sandbox=sbx)
        finally:
            http.close()
            server.stop()
