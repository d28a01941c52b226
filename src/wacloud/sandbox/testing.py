"""Test helpers: ``run_sandbox()`` (the sandbox on a free loopback port, in a thread), a webhook sink,
and the pytest fixtures ``sandbox`` and ``webhook_sink``.

Enable them with ``pytest_plugins = ["wacloud.sandbox.testing"]``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

from wacloud._deprecation import renamed
from wacloud.sandbox._app import SandboxApp, create_sandbox_app
from wacloud.sandbox._config import SandboxConfig
from wacloud.sandbox._runner import ServerThread
from wacloud.webhooks.signature import HEADER, verify

if TYPE_CHECKING:
    from wacloud.client import AsyncClient, Client


class SandboxHandle:
    """A running sandbox: its URLs and ids, a control client, and helpers for the control API."""

    def __init__(self, app: SandboxApp, server: ServerThread) -> None:
        self.app = app
        self._server = server
        cfg = app.state.initial
        self.base_url = server.base_url
        self.version = cfg.default_version
        self.graph_url = f"{self.base_url}/{self.version}"
        self.token = cfg.access_token
        self.phone_number_id = cfg.phone_number_id
        self.display_phone_number = cfg.display_phone_number
        self.waba_id = cfg.waba_id
        self.app_secret = cfg.app_secret
        self.control = httpx.Client(base_url=f"{self.base_url}/_sandbox", timeout=30.0)
        self.http = httpx.Client(
            base_url=self.graph_url, timeout=30.0, headers={"Authorization": f"Bearer {self.token}"}
        )

    def __repr__(self) -> str:
        return f"SandboxHandle(base_url={self.base_url!r}, phone_number_id={self.phone_number_id!r})"

    # --- clients --------------------------------------------------------------------------------

    def client(self, **kwargs: Any) -> Client:
        """A ``wacloud.Client`` pointed at this sandbox."""
        from wacloud.client import Client

        return Client(**self._client_args(kwargs))

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """A ``wacloud.AsyncClient`` pointed at this sandbox."""
        from wacloud.client import AsyncClient

        return AsyncClient(**self._client_args(kwargs))

    def _client_args(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        args: dict[str, Any] = {
            "token": self.token,
            "phone_number_id": self.phone_number_id,
            "waba_id": self.waba_id,
            "base_url": self.base_url,
            "version": self.version,
        }
        args.update(kwargs)
        return args

    # --- control API helpers -----------------------------------------------------------------

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(f"sandbox control call failed: {response.status_code} {response.text}")
        return response.json()

    def reset(self) -> None:
        """Forget everything (customers, messages, faults, config changes)."""
        self._ok(self.control.post("/reset"))

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change run-time settings (webhook_url, mps, delays…)."""
        result: dict[str, Any] = self._ok(self.control.post("/config", json=settings))
        return result

    def connect(self, sink: WebhookSink) -> None:
        """Send this sandbox's webhooks to ``sink`` (signed with the sink's app secret)."""
        self.configure(webhook_url=sink.url, app_secret=sink.app_secret)

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Set fault rates (see ``Faults``)."""
        if "codes" in faults:
            faults["codes"] = {str(k): v for k, v in faults["codes"].items()}
        result: dict[str, Any] = self._ok(self.control.post("/faults", json=faults))
        return result

    def add_customer(self, wa_id: str, **fields: Any) -> dict[str, Any]:
        """Create or replace a customer."""
        result: dict[str, Any] = self._ok(self.control.post("/customers", json={"wa_id": wa_id, **fields}))
        return result

    def update_customer(self, wa_id: str, **fields: Any) -> dict[str, Any]:
        """Change a customer's fields."""
        result: dict[str, Any] = self._ok(self.control.patch(f"/customers/{wa_id}", json=fields))
        return result

    def inject(self, wa_id: str, **message: Any) -> dict[str, Any]:
        """The customer ``wa_id`` sends a message (e.g. ``text="hi"``); returns ``{"id", "payload"}``."""
        result: dict[str, Any] = self._ok(self.control.post("/inbound", json={"from": wa_id, **message}))
        return result

    def received(self, wa_id: str) -> list[dict[str, Any]]:
        """What the customer received, with status history."""
        result: list[dict[str, Any]] = self._ok(self.control.get(f"/customers/{wa_id}/messages"))["received"]
        return result

    def message(self, wamid: str) -> dict[str, Any]:
        """One sent message with its status history."""
        result: dict[str, Any] = self._ok(self.control.get(f"/messages/{wamid}"))
        return result

    def stats(self) -> dict[str, Any]:
        """Counters (attempts, accepted, errors by code, accepted per recipient, webhooks)."""
        result: dict[str, Any] = self._ok(self.control.get("/stats"))
        return result

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        """Every send attempt and its outcome."""
        result: list[dict[str, Any]] = self._ok(self.control.get("/log", params={"since": since}))["attempts"]
        return result

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward (statuses due by then are emitted)."""
        self._ok(self.control.post("/clock/advance", json={"seconds": seconds}))

    def freeze(self) -> None:
        """Stop the sandbox clock (only ``advance`` moves it)."""
        self._ok(self.control.post("/clock/freeze"))

    def set_template_status(self, template_id: str, status: str, reason: str | None = None) -> dict[str, Any]:
        """Approve, reject, pause or disable a template."""
        result: dict[str, Any] = self._ok(
            self.control.post(f"/templates/{template_id}/status", json={"status": status, "reason": reason})
        )
        return result

    def put_template(self, template: dict[str, Any], status: str = "APPROVED") -> dict[str, Any]:
        """Create or replace a template directly (approved unless told otherwise)."""
        result: dict[str, Any] = self._ok(self.control.post("/templates", json={**template, "status": status}))
        return result

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every status due by now is emitted and every queued webhook is delivered (or
        given up); with a running clock, also what falls due within the next 2 seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self._ok(self.control.get("/"))
            waiting = info["due_callbacks"] if info["frozen"] else info["due_soon_callbacks"]
            if info["pending_webhooks"] == 0 and waiting == 0:
                return
            time.sleep(0.01)
        raise AssertionError("the sandbox did not become idle")

    def close(self) -> None:
        """Close the helper clients."""
        self.control.close()
        self.http.close()


@contextmanager
def run_sandbox(config: SandboxConfig | None = None, **settings: Any) -> Iterator[SandboxHandle]:
    """Start a sandbox on a free loopback port in a thread; stop it on exit."""
    app = create_sandbox_app(config, **settings)
    server = ServerThread(app)
    server.start()
    handle = SandboxHandle(app, server)
    try:
        yield handle
    finally:
        handle.close()
        server.stop()


# --- webhook sink ---------------------------------------------------------------------------------


@dataclass
class ReceivedWebhook:
    """One webhook POST the sink received."""

    body: bytes
    headers: dict[str, str]
    signature_ok: bool
    json: Any = None
    answered: int = 200


@dataclass
class WebhookSink:
    """A loopback HTTP server that records signed webhook POSTs and checks their signatures."""

    app_secret: str = field(default=SandboxConfig().app_secret, repr=False)
    deliveries: list[ReceivedWebhook] = field(default_factory=list, repr=False)
    _answers: list[int] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    def start(self) -> None:
        """Listen on a free loopback port."""
        sink = self

        class Handler(BaseHTTPRequestHandler):
            """Answers POSTs (scripted statuses, 200 by default)."""

            def do_POST(self) -> None:
                """Record one webhook."""
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                ok = verify(body, self.headers.get(HEADER), sink.app_secret)
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                with sink._lock:
                    status = sink._answers.pop(0) if sink._answers else 200
                    sink.deliveries.append(ReceivedWebhook(body, dict(self.headers.items()), ok, parsed, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet."""
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True).start()

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        """Where to POST."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def clear(self) -> None:
        """Forget what was received and any scripted answers."""
        with self._lock:
            self.deliveries.clear()
            self._answers.clear()

    def answer(self, *statuses: int) -> None:
        """Answer the next POSTs with these HTTP statuses (then 200 again)."""
        with self._lock:
            self._answers.extend(statuses)

    def accepted(self) -> list[ReceivedWebhook]:
        """Deliveries answered 200."""
        with self._lock:
            return [d for d in self.deliveries if d.answered == 200]

    def changes(self, field_name: str = "messages") -> list[dict[str, Any]]:
        """Every ``change.value`` of ``field_name`` in deliveries answered 200."""
        out = []
        for d in self.accepted():
            for entry in (d.json or {}).get("entry", []):
                for change in entry.get("changes", []):
                    if change.get("field") == field_name:
                        out.append(change["value"])
        return out

    def statuses(self, wamid: str | None = None) -> list[dict[str, Any]]:
        """Every status object received (for one message when ``wamid`` is given)."""
        return [s for v in self.changes() for s in v.get("statuses", []) if wamid is None or s["id"] == wamid]

    def messages(self) -> list[dict[str, Any]]:
        """Every inbound message object received."""
        return [m for v in self.changes() for m in v.get("messages", [])]

    def wait_for(self, predicate: Callable[[WebhookSink], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate(self)`` holds (raises AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.005)
        raise AssertionError(f"webhook sink: condition not met; got {len(self.deliveries)} deliveries")

    def wait_statuses(self, wamid: str, *wanted: str, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until ``wamid`` has all ``wanted`` statuses; return its status objects."""
        self.wait_for(lambda s: set(wanted) <= {x["status"] for x in s.statuses(wamid)}, timeout)
        return self.statuses(wamid)


@contextmanager
def run_webhook_sink(app_secret: str | None = None) -> Iterator[WebhookSink]:
    """A webhook sink for the duration of the block."""
    sink = WebhookSink(app_secret=app_secret or SandboxConfig().app_secret)
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


# --- pytest fixtures --------------------------------------------------------------------------------
# Only with pytest installed: run_sandbox() and the sink also serve plain scripts on a base install.
try:
    import pytest
except ImportError:
    _HAVE_PYTEST = False
else:
    _HAVE_PYTEST = True

if _HAVE_PYTEST:

    @pytest.fixture(scope="session")
    def _wacloud_sandbox_server() -> Iterator[SandboxHandle]:
        with run_sandbox() as handle:
            yield handle

    @pytest.fixture
    def sandbox(_wacloud_sandbox_server: SandboxHandle, request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
        """A running sandbox with fresh state (one server per session, reset before each test)."""
        _wacloud_sandbox_server.reset()
        if "webhook_sink" in request.fixturenames:
            # Whatever order the fixtures ran in, the sink starts empty after the reset.
            request.getfixturevalue("webhook_sink").clear()
        yield _wacloud_sandbox_server

    @pytest.fixture(scope="session")
    def _wacloud_webhook_sink_server() -> Iterator[WebhookSink]:
        with run_webhook_sink() as sink:
            yield sink

    @pytest.fixture
    def webhook_sink(_wacloud_webhook_sink_server: WebhookSink) -> Iterator[WebhookSink]:
        """A loopback webhook receiver (signatures checked with the sandbox's default app secret), emptied
        before each test; ``sandbox.connect(webhook_sink)`` points the sandbox at it."""
        _wacloud_webhook_sink_server.clear()
        _wacloud_webhook_sink_server.app_secret = SandboxConfig().app_secret
        yield _wacloud_webhook_sink_server


#: Old names kept for one release: ``Delivery`` read like the :mod:`wacloud.delivery` engine.
_RENAMED = {"Delivery": "ReceivedWebhook"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals().__getitem__)
