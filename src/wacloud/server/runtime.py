"""The parts one gateway process runs, built from :class:`~wacloud.config.Settings`.

Sandbox mode (no access token): an embedded emulator with generated credentials, reached by the
gateway's own client in-process, whose webhooks point back at the gateway's ``/webhook``. Live mode: the
client talks to Meta's Graph API with the configured token.
"""

from __future__ import annotations

import importlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from wacloud.config import GRAPH_URL, Settings
from wacloud.server.db import Database
from wacloud.server.history import History
from wacloud.server.keys import KeyStore
from wacloud.server.metrics import Metrics

log = logging.getLogger("wacloud.server")

#: The ids the embedded sandbox uses when none are configured.
SANDBOX_PHONE_NUMBER_ID = "100000000000001"
SANDBOX_WABA_ID = "200000000000001"
SANDBOX_PREFIX = "/sandbox"


@dataclass
class Credentials:
    """What the client and the webhook receiver use (generated in sandbox mode)."""

    token: str
    phone_number_id: str
    waba_id: str | None
    app_secret: str | None
    verify_token: str
    graph_url: str

    def __repr__(self) -> str:
        return (
            f"Credentials(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r}, "
            f"graph_url={self.graph_url!r}, token='***', app_secret='***', verify_token='***')"
        )


def sandbox_secret(db: Database | None, name: str, make: Callable[[], str]) -> str:
    """A generated sandbox credential, kept in the gateway database so it survives restarts."""
    if db is None:
        return make()
    db.execute("CREATE TABLE IF NOT EXISTS wacloud_gw_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO wacloud_gw_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, make()))
    return str(db.execute("SELECT value FROM wacloud_gw_meta WHERE name = ?", (name,))[0][0])


def credentials_for(settings: Settings, *, base_url: str, db: Database | None = None) -> Credentials:
    """Configured credentials or, for the embedded sandbox, generated ones (stable across restarts)."""
    if settings.sandbox_mode:
        return Credentials(
            token=sandbox_secret(db, "sandbox_token", lambda: "sbx_" + secrets.token_urlsafe(18)),
            phone_number_id=settings.phone_number_id or SANDBOX_PHONE_NUMBER_ID,
            waba_id=settings.waba_id or SANDBOX_WABA_ID,
            app_secret=(
                settings.app_secret.get_secret_value()
                if settings.app_secret
                else sandbox_secret(db, "sandbox_app_secret", lambda: secrets.token_hex(16))
            ),
            verify_token=(
                settings.verify_token.get_secret_value()
                if settings.verify_token
                else sandbox_secret(db, "sandbox_verify_token", lambda: secrets.token_urlsafe(12))
            ),
            graph_url=base_url + SANDBOX_PREFIX,
        )
    assert settings.access_token is not None and settings.phone_number_id is not None
    return Credentials(
        token=settings.access_token.get_secret_value(),
        phone_number_id=settings.phone_number_id,
        waba_id=settings.waba_id,
        app_secret=settings.app_secret.get_secret_value() if settings.app_secret else None,
        verify_token=settings.verify_token.get_secret_value() if settings.verify_token else "",
        graph_url=settings.graph_url or GRAPH_URL,
    )


def load_object(ref: str) -> Any:
    """Import ``module:attribute`` (e.g. a bot ``Application``), with a clear error."""
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeError(f"cannot import {module_name!r} (from --app {ref}): {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RuntimeError(f"{module_name!r} has no attribute {attr!r} (from --app {ref})") from None
    return obj


def _filtered_kwargs(cls: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Only the keyword arguments ``cls`` declares (dataclass or pydantic), so optional knobs degrade."""
    names: set[str] = set()
    if hasattr(cls, "model_fields"):
        names = set(cls.model_fields)
    elif hasattr(cls, "__dataclass_fields__"):
        names = set(cls.__dataclass_fields__)
    if not names:
        return values
    return {k: v for k, v in values.items() if k in names}


@dataclass
class Gateway:
    """Everything the routes need, on ``app.state.gateway``."""

    settings: Settings
    creds: Credentials
    base_url: str
    db: Database
    keys: KeyStore
    history: History
    metrics: Metrics
    sandbox_app: Any = None
    client: Any = None
    bot_client: Any = None
    store: Any = None
    outbox: Any = None
    bot: Any = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def webhook_url(self) -> str:
        """Where Meta (or the embedded sandbox) posts webhooks."""
        return (self.settings.public_url or self.base_url) + "/webhook"

    def build_sandbox(self) -> Any:
        """The embedded sandbox's ASGI app (sandbox mode only), posting webhooks to our ``/webhook``."""
        from wacloud.sandbox import create_app

        s, c = self.settings, self.creds
        options: dict[str, Any] = {
            "access_token": c.token,
            "phone_number_id": c.phone_number_id,
            "waba_id": c.waba_id,
            "app_secret": c.app_secret,
            "webhook_url": self.base_url + "/webhook",
            "mps": s.mps,
            # A second number in a second WABA, so several numbers work out of the box (issue 14).
            "extra_phone_numbers": [
                {"phone_number_id": "100000000000002", "display_phone_number": "15550000002",
                 "waba_id": "200000000000002"}
            ],
            # Unseeded, each start draws a fresh seed: the sandbox's id counters restart with the process,
            # and a fixed seed would hand out the wamids of the previous run again (the gateway's store
            # keeps those, so statuses and the conversation log would land on the old messages).
            "seed": s.sandbox_seed if s.sandbox_seed is not None else secrets.randbits(32),
        }
        self.sandbox_app = create_app(None, **{k: v for k, v in options.items() if v is not None})
        from wacloud.server.sandbox_mount import SandboxPersistence

        # Its state lives in our database, so a restart finds the same customers, windows and media.
        persistence = SandboxPersistence(self.db, self.sandbox_app.state)
        persistence.load()
        self.extras["sandbox_persistence"] = persistence
        return self.sandbox_app

    def build_client(self) -> Any:
        """The async Cloud API client; in sandbox mode it reaches the sandbox in-process."""
        transport: httpx.AsyncBaseTransport | None = None
        base = self.creds.graph_url
        if self.sandbox_app is not None:
            # In-process: no socket, and it works before uvicorn has bound its port.
            transport = httpx.ASGITransport(app=self.sandbox_app)
            base = "http://sandbox.local"
        options: dict[str, Any] = {
            "token": self.creds.token,
            "phone_number_id": self.creds.phone_number_id,
            "waba_id": self.creds.waba_id,
            "base_url": base,
            "version": self.settings.api_version,
            "transport": transport,
        }
        self.client = instrumented_client(self.metrics)(**options)
        # The bot's sends bypass the outbox: this client logs them in the conversation log itself.
        self.bot_client = logging_client(self.history)(**options)
        return self.client


def instrumented_client(metrics: Metrics) -> type[Any]:
    """An :class:`~wacloud.AsyncClient` subclass counting every send by outcome and error code."""
    from wacloud import errors
    from wacloud.client import AsyncClient

    class InstrumentedAsyncClient(AsyncClient):
        """Counts sends (``wacloud_sends``) and retryable failures (``wacloud_retries``)."""

        async def send_body(self, body: dict[str, Any], **kwargs: Any) -> Any:  # type: ignore[override]
            """Send, counting the outcome."""
            try:
                result = await super().send_body(body, **kwargs)
            except errors.WhatsAppError as exc:
                metrics.sends.labels(outcome="error", code=str(exc.code)).inc()
                if exc.retry in (errors.RetryClass.BACKOFF, errors.RetryClass.RECIPIENT_LATER):
                    metrics.retries.labels(code=str(exc.code)).inc()
                raise
            except errors.TransportError:
                metrics.sends.labels(outcome="transport_error", code="0").inc()
                metrics.retries.labels(code="transport").inc()
                raise
            metrics.sends.labels(outcome="accepted", code="0").inc()
            return result

    return InstrumentedAsyncClient


def logging_client(history: History) -> type[Any]:
    """An :class:`~wacloud.AsyncClient` subclass that logs every message it sends in ``history``."""
    from wacloud.client import AsyncClient
    from wacloud.client.core import Request, Response

    class LoggingAsyncClient(AsyncClient):
        """Logs each accepted send (wamid, recipient, body); a failing log never fails the send."""

        async def _send(self, request: Request) -> Response:
            """Send, then log an accepted message."""
            resp = await super()._send(request)
            body = request.json
            if request.method == "POST" and request.path.endswith("/messages") and resp.status_code == 200 \
                    and isinstance(body, dict) and "to" in body:
                answer = resp.json() or {}
                try:
                    wamid = answer["messages"][0]["id"]
                    wa_id = (answer.get("contacts") or [{}])[0].get("wa_id") or str(body["to"]).lstrip("+")
                    from wacloud.server.api import call

                    await call(history.record_sent, wa_id, wamid, body)
                except Exception:
                    log.warning("could not log a bot's message in the conversation log", exc_info=True)
            return resp

    return LoggingAsyncClient


def open_gateway(settings: Settings, *, base_url: str) -> Gateway:
    """The gateway's own parts (database, keys, history, metrics); engines are attached by the app."""
    db = Database(settings.database_url)
    return Gateway(
        settings=settings,
        creds=credentials_for(settings, base_url=base_url, db=db),
        base_url=base_url,
        db=db,
        keys=KeyStore(db, [k.get_secret_value() for k in settings.api_keys]),
        history=History(db),
        metrics=Metrics(),
    )
