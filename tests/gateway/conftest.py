"""Fixtures: a real gateway (sandbox mode) served by uvicorn on loopback, in a thread."""

from __future__ import annotations

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

APP_SECRET = "gw-test-app-secret-0123456789"
VERIFY_TOKEN = "gw-test-verify-token-42"


@dataclass
class LiveGateway:
    """A running gateway: its URL, an API key, an authenticated client and the parts behind it."""

    url: str
    key: str
    http: httpx.Client
    app: Any

    @property
    def gw(self) -> Any:
        return self.app.state.gateway

    @property
    def sandbox(self) -> str:
        return f"{self.url}/sandbox"

    @property
    def control_headers(self) -> dict[str, str]:
        """The embedded sandbox's control API needs the gateway's API key."""
        return {"Authorization": f"Bearer {self.key}"}

    def inject(self, wa_id: str, **message: Any) -> dict[str, Any]:
        """The customer ``wa_id`` sends a message (through the sandbox's control API)."""
        resp = httpx.post(f"{self.sandbox}/_sandbox/inbound", json={"from": wa_id, **message}, timeout=10,
                          headers=self.control_headers)
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()
        return data

    def template(self, name: str, text: str, *, named: list[str] | None = None, positional: int = 0) -> None:
        """Make an APPROVED template in the sandbox (control API), with named or positional variables."""
        body: dict[str, Any] = {"type": "BODY", "text": text}
        tpl: dict[str, Any] = {"name": name, "language": "en_US", "category": "UTILITY", "components": [body]}
        if named:
            tpl["parameter_format"] = "NAMED"
            body["example"] = {"body_text_named_params": [{"param_name": n, "example": "x"} for n in named]}
        elif positional:
            body["example"] = {"body_text": [["x"] * positional]}
        resp = httpx.post(f"{self.sandbox}/_sandbox/templates", json=tpl, timeout=10, headers=self.control_headers)
        assert resp.status_code == 200, resp.text

    def wait_job(self, job_id: str, states: set[str], timeout: float = 15.0) -> dict[str, Any]:
        """Poll the job until it reaches one of ``states``."""
        return wait_for(lambda: _job_in(self.http, job_id, states), timeout, f"job {job_id} to reach {states}")


def _job_in(http: httpx.Client, job_id: str, states: set[str]) -> dict[str, Any] | None:
    job: dict[str, Any] = http.get(f"/v1/jobs/{job_id}").json()
    return job if job["state"] in states else None


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


@pytest.fixture(autouse=True)
def _no_wacloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they pass, never the developer's WACLOUD_* environment."""
    import os

    for name in list(os.environ):
        if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
            monkeypatch.delenv(name)


def start_gateway(
    db: Path, *, prepare: Callable[[Any], None] | None = None, **overrides: Any
) -> tuple[ServerThread, LiveGateway]:
    """Create and start a sandbox-mode gateway on a free loopback port."""
    port = free_port()
    settings = load_settings(
        database_url=overrides.pop("database_url", f"sqlite:///{db}"),
        port=port,
        app_secret=APP_SECRET,
        verify_token=VERIFY_TOKEN,
        **overrides,
    )
    app = create_app(settings)
    _, key = app.state.gateway.keys.create("tests")
    if prepare is not None:
        prepare(app)
    server = ServerThread(app, port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=20)
    return server, LiveGateway(url=url, key=key, http=http, app=app)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """One gateway shared by a test module (its own database file)."""
    with pytest.MonkeyPatch.context() as mp:
        import os

        for name in list(os.environ):
            if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
                mp.delenv(name)
        server, gateway = start_gateway(tmp_path_factory.mktemp("gw") / "wacloud.db")
    try:
        yield gateway
    finally:
        gateway.http.close()
        server.stop()
