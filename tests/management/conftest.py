"""Fixtures of the management tests."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

_PLACEHOLDERS = {
    "<TEMPLATE_NAME>": "flow_offer",
    "{{Flow-ID}}": "1234567890",
    "{{Flow-Name}}": "my_flow",
    "<SCREEN_ID>": "WELCOME",
}


def template_create_examples(openapi_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Example name → create body (placeholders replaced by valid values)."""
    post = openapi_spec["paths"]["/{Version}/{WABA-ID}/message_templates"]["post"]  # type: ignore[index]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    out: dict[str, dict[str, Any]] = {}
    for name, example in examples.items():
        text = json.dumps(example["value"])
        # Each "<TEMPLATE_NAME>" example gets its own valid name, derived from the example's title.
        text = text.replace("<TEMPLATE_NAME>", re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_"))
        for placeholder, value in _PLACEHOLDERS.items():
            text = text.replace(placeholder, value)
        out[name] = json.loads(text)
    return out


def normalized(body: dict[str, Any]) -> dict[str, Any]:
    """Upper-case component/button types (Meta accepts any case) so bodies compare equal."""
    body = json.loads(json.dumps(body))
    for comp in body.get("components", []):
        comp["type"] = comp["type"].upper()
        for button in comp.get("buttons", []):
            button["type"] = button["type"].upper()
    return body


@pytest.fixture(scope="session")
def template_examples(openapi_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The spec's template-create examples, placeholders filled in."""
    return template_create_examples(openapi_spec)


@pytest.fixture(scope="session")
def normalize() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The body normaliser (component/button types upper-cased)."""
    return normalized


@dataclass
class Box:
    """A running sandbox: its base URL, its in-process state, and clients for it."""

    base_url: str
    app: Any
    control: httpx.Client

    @property
    def state(self) -> Any:
        """The sandbox state (for settings the control API does not expose)."""
        return self.app.state

    @property
    def cfg(self) -> Any:
        """The sandbox configuration."""
        return self.app.state.config

    @property
    def mgmt(self) -> Any:
        """The sandbox's management state (renewed after a reset)."""
        from wacloud.sandbox._state import management_state

        return management_state(self.app.state)

    def client(self, **kw: Any) -> Any:
        """A blocking wacloud client for this sandbox."""
        from wacloud import Client

        return Client(
            token=self.cfg.access_token,
            phone_number_id=self.cfg.phone_number_id,
            waba_id=self.cfg.waba_id,
            base_url=self.base_url,
            app_id=SANDBOX_APP_ID,
            **kw,
        )

    def async_client(self) -> Any:
        """An asyncio wacloud client for this sandbox."""
        from wacloud import AsyncClient

        return AsyncClient(
            token=self.cfg.access_token,
            phone_number_id=self.cfg.phone_number_id,
            waba_id=self.cfg.waba_id,
            base_url=self.base_url,
            app_id=SANDBOX_APP_ID,
        )

    def graph(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A raw Graph call (bypassing our client's local checks)."""
        headers = {"Authorization": f"Bearer {self.cfg.access_token}", **kw.pop("headers", {})}
        return httpx.request(method, f"{self.base_url}/v23.0/{path.lstrip('/')}", headers=headers, **kw)

    def open_window(self, wa_id: str) -> None:
        """The customer sends a message, opening the 24 h window."""
        self.control.post("/_sandbox/inbound", json={"from": wa_id, "text": "hi"}).raise_for_status()


SANDBOX_APP_ID = "1000000000000001"


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Box]:
    """The sandbox app served by uvicorn on a loopback port, for the whole module."""
    from wacloud.sandbox import ServerThread, create_sandbox_app

    app = create_sandbox_app(template_review_s=None)
    server = ServerThread(app)
    server.start()
    control = httpx.Client(base_url=server.base_url)
    try:
        yield Box(server.base_url, app, control)
    finally:
        control.close()
        server.stop()


@pytest.fixture()
def box(sandbox_server: Box) -> Box:
    """The module's sandbox, reset before each test."""
    sandbox_server.control.post("/_sandbox/reset").raise_for_status()
    return sandbox_server


@dataclass
class Gateway:
    """A running sandbox-mode gateway: its URL, an API-key client, and the app."""

    url: str
    http: httpx.Client
    app: Any

    @property
    def sandbox_state(self) -> Any:
        """The embedded sandbox's state."""
        return self.app.state.gateway.sandbox_app.state


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The gateway in sandbox mode, served by uvicorn on loopback, with one API key."""
    import os

    from wacloud.gateway._app import create_app
    from wacloud.gateway._settings import load_settings
    from wacloud.sandbox import ServerThread, free_port

    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
                mp.delenv(name)
        port = free_port()
        db = tmp_path_factory.mktemp("gw") / "wacloud.db"
        app = create_app(
            load_settings(
                database_url=f"sqlite:///{db}",
                port=port,
                app_secret="mgmt-secret-0123456",
                verify_token="mgmt-verify-token",
                workers=False,
            )
        )
    _, key = app.state.gateway.keys.create("management-tests")
    server = ServerThread(app, port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=20)
    try:
        yield Gateway(url, http, app)
    finally:
        http.close()
        server.stop()
