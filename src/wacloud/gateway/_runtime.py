"""The parts one gateway process runs, built from :class:`~wacloud.gateway._settings.Settings`.

Sandbox mode (no access token): an embedded emulator with generated credentials, reached by the
gateway's own client in-process, whose webhooks point back at the gateway's ``/webhook``. Live mode: the
client talks to Meta's Graph API with the configured token.
"""

from __future__ import annotations

import importlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from wacloud.delivery import Outbox, Store, open_store
from wacloud.events import EventLog, EventSource, HeadWatcher, SubscriptionDispatcher, SubscriptionStore
from wacloud.events.relay import Relay
from wacloud.gateway._audit import AuditLog
from wacloud.gateway._bot import BotApp, as_bot
from wacloud.gateway._clients import InstrumentedAsyncClient, LoggingAsyncClient
from wacloud.gateway._db import Database
from wacloud.gateway._handover import Handover
from wacloud.gateway._history import History
from wacloud.gateway._keys import KeyStore
from wacloud.gateway._media_keeper import MediaKeeper
from wacloud.gateway._metrics import Metrics
from wacloud.gateway._number_config import NumberConfig, NumberSpec, display_digits, fill
from wacloud.gateway._number_log import NumberLog
from wacloud.gateway._number_store import NumberStore
from wacloud.gateway._numbers import NumberLane, Numbers
from wacloud.gateway._probe import DatabaseProbe
from wacloud.gateway._sandbox_mount import SandboxPersistence
from wacloud.gateway._secret_box import SecretBox
from wacloud.gateway._settings import GRAPH_URL, Settings
from wacloud.gateway._stop_words import StopWords
from wacloud.gateway._webhook_store import WebhookSqliteStore
from wacloud.gateway._workers import WorkerGroup, WorkerSupervisor
from wacloud.sandbox import SandboxApp
from wacloud.sandbox import create_sandbox_app as create_sandbox
from wacloud.webhooks import WebhookApp

log = logging.getLogger("wacloud.gateway.numbers")

#: The ids the embedded sandbox uses when none are configured.
SANDBOX_PHONE_NUMBER_ID = "100000000000001"
SANDBOX_WABA_ID = "200000000000001"
#: Sandbox mode serves two numbers in two WABAs, so several numbers work out of the box (issue 14).
SANDBOX_DISPLAY = "15550000001"
SANDBOX_SECOND = {"phone_number_id": "100000000000002", "display_phone_number": "15550000002",
                  "waba_id": "200000000000002", "name": "sandbox second number"}
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
        specs = settings.number_specs()
        return Credentials(
            token=sandbox_secret(db, "sandbox_token", lambda: "sbx_" + secrets.token_urlsafe(18)),
            phone_number_id=specs[0].phone_number_id if specs else SANDBOX_PHONE_NUMBER_ID,
            waba_id=(specs[0].waba_id if specs else None) or SANDBOX_WABA_ID,
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
    first = settings.number_specs()[0]
    assert first.access_token is not None
    return Credentials(
        token=first.access_token,
        phone_number_id=first.phone_number_id,
        waba_id=first.waba_id,
        app_secret=first.app_secret,
        verify_token=settings.verify_token.get_secret_value() if settings.verify_token else "",
        graph_url=settings.graph_url or GRAPH_URL,
    )


def load_object(ref: str) -> object:
    """Import ``module:attribute`` (e.g. a bot ``Application``), with a clear error."""
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RuntimeError(f"cannot import {module_name!r} (from --app {ref}): {exc}") from exc
    obj: object = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RuntimeError(f"{module_name!r} has no attribute {attr!r} (from --app {ref})") from None
    return obj


@dataclass
class Gateway:
    """Everything the routes need, on ``app.state.gateway``.

    The first fields are the gateway's own parts (always there); the engines (sandbox, clients, outbox,
    webhook app, bot) are attached by :func:`wacloud.gateway._app.attach_engines` and stay None in a
    process built with ``engines=False``.
    """

    settings: Settings
    creds: Credentials
    base_url: str
    db: Database
    keys: KeyStore
    history: History
    metrics: Metrics
    probe: DatabaseProbe
    #: Conversations and wamids per number; webhooks of numbers not served.
    number_log: NumberLog
    sandbox_app: SandboxApp | None = None
    sandbox_persistence: SandboxPersistence | None = None
    #: The outbox's client (counts sends for the metrics).
    client: InstrumentedAsyncClient | None = None
    #: The bot's client (logs its sends in the conversation log, as they bypass the outbox).
    bot_client: LoggingAsyncClient | None = None
    store: Store | None = None
    outbox: Outbox | None = None
    bot: BotApp | None = None
    webhook_app: WebhookApp | None = None
    #: The receiver's own SQLite store (short busy timeouts), closed at shutdown.
    webhook_store: WebhookSqliteStore | None = None
    #: Every number's workers (one supervisor per number).
    workers: WorkerGroup = field(default_factory=WorkerGroup)
    #: The business numbers served, one lane each (``outbox``/``client`` above are the first number's).
    numbers: Numbers = field(default_factory=Numbers)
    #: The event log (read side), its head watcher, the subscriptions and their delivery (with engines).
    events: EventLog | None = None
    event_watcher: HeadWatcher | None = None
    subscriptions: SubscriptionStore | None = None
    dispatcher: SubscriptionDispatcher | None = None
    events_db: Database | None = None
    #: Incoming media kept (media_dir or media_s3_bucket set); its queue writes the media events.
    media_keeper: MediaKeeper | None = None
    #: The event log the outputs read (set by the log's wiring); the RabbitMQ relay starts only with it.
    event_source: EventSource | None = None
    #: The RabbitMQ relay, while it runs (rabbitmq_url set).
    event_relay: Relay | None = None
    #: Set when the process shuts down: readiness answers 503 from then on.
    stopping: bool = False
    #: Who did what (API keys and console users); set by :func:`open_gateway`.
    audit: AuditLog | None = None
    #: Conversations a person took from the bot (the bot dispatch skips them); set by :func:`open_gateway`.
    handover: Handover | None = None
    #: Per-language opt-out keywords ("STOP"); set by :func:`open_gateway`.
    stop_words: StopWords | None = None
    #: The numbers added through the API (``POST /v1/numbers``); set by :func:`open_gateway`.
    number_store: NumberStore | None = None
    #: Seals the secrets kept in the database (``WACLOUD_SECRET_KEY``; none set: kept in clear).
    secret_box: SecretBox = field(default_factory=SecretBox)

    @property
    def webhook_url(self) -> str:
        """Where Meta (or the embedded sandbox) posts webhooks."""
        return (self.settings.public_url or self.base_url) + "/webhook"

    def build_sandbox(self) -> SandboxApp:
        """The embedded sandbox's ASGI app (sandbox mode only), posting webhooks to our ``/webhook``."""
        s, c = self.settings, self.creds
        first, *others = self.number_specs()
        # The numbers added through the API too (a configured one is served as configured).
        configured = {n.phone_number_id for n in (first, *others)}
        options: dict[str, Any] = {
            "access_token": c.token,
            "phone_number_id": first.phone_number_id,
            "display_phone_number": first.display_phone_number,
            "waba_id": first.waba_id,
            "app_secret": c.app_secret,
            "webhook_url": self.base_url + "/webhook",
            "mps": s.mps,
            "extra_phone_numbers": [
                {"phone_number_id": n.phone_number_id, "display_phone_number": sandbox_display(n),
                 "waba_id": n.waba_id or first.waba_id}
                for n in [*others, *(a for a in self.added_specs() if a.phone_number_id not in configured)]
            ],
            # Unseeded, each start draws a fresh seed: the sandbox's id counters restart with the process,
            # and a fixed seed would hand out the wamids of the previous run again (the gateway's store
            # keeps those, so statuses and the conversation log would land on the old messages).
            "seed": s.sandbox_seed if s.sandbox_seed is not None else secrets.randbits(32),
        }
        self.sandbox_app = create_sandbox(None, **{k: v for k, v in options.items() if v is not None})
        # Its state lives in our database, so a restart finds the same customers, windows and media.
        self.sandbox_persistence = SandboxPersistence(self.db, self.sandbox_app.state)
        self.sandbox_persistence.load()
        return self.sandbox_app

    def number_specs(self) -> list[NumberSpec]:
        """The numbers this gateway serves; in sandbox mode without configured numbers, the sandbox's two."""
        specs = self.settings.number_specs()
        if not self.settings.sandbox_mode:
            return specs
        c = self.creds
        if not specs:
            specs = [NumberSpec(phone_number_id=c.phone_number_id, waba_id=c.waba_id, access_token=None,
                                app_secret=None, name="sandbox", display_phone_number=SANDBOX_DISPLAY,
                                mps=self.settings.mps, max_mps=None)]
        if len(specs) == 1 and not self.settings.numbers:
            second = SANDBOX_SECOND
            specs.append(NumberSpec(phone_number_id=second["phone_number_id"], waba_id=second["waba_id"],
                                    access_token=None, app_secret=None, name=second["name"],
                                    display_phone_number=second["display_phone_number"], mps=self.settings.mps,
                                    max_mps=None))
        # One sandbox, one token: every number of the embedded sandbox uses the generated one.
        return [NumberSpec(**{**_fields(n), "access_token": c.token, "app_secret": c.app_secret}) for n in specs]

    def build_client(self) -> InstrumentedAsyncClient:
        """The Cloud API clients and outbox of every number; ``client``/``outbox`` are the first number's.

        The configured numbers come first, then those an admin added through the API (kept in the database;
        one also in the configuration is served as configured)."""
        if self.store is None:
            self.store = open_store(self.settings.database_url)
        specs = self.number_specs()
        for spec in specs:
            self.numbers.add(self.make_lane(spec))
        configured = {spec.phone_number_id for spec in specs}
        for added in self.added_specs():
            if added.phone_number_id not in configured:
                self.numbers.add(self.make_lane(added, source="api"))
        first = self.numbers.default
        assert first is not None
        if len(self.settings.numbers) <= 1:
            self.numbers.implicit = first.phone_number_id
        self.client, self.bot_client, self.outbox = first.client, first.bot_client, first.outbox
        self.workers = WorkerGroup([lane.workers for lane in self.numbers])
        return self.client

    def added_specs(self) -> list[NumberSpec]:
        """The numbers added through the API, with the gateway-wide defaults filled in (one left without a
        token, as the configuration no longer gives one, is logged and not served)."""
        if self.number_store is None:
            return []
        specs = [self.fill_added(n) for n in self.number_store.list()]
        for spec in specs:
            if spec.access_token is None:
                log.error("number %s (added through the API) has no access token and the configuration gives "
                          "none: not served; set one with PATCH /v1/numbers/%s", spec.phone_number_id,
                          spec.phone_number_id)
        return [spec for spec in specs if spec.access_token is not None]

    def fill_added(self, number: NumberConfig) -> NumberSpec:
        """A number added through the API with the gateway-wide defaults (in sandbox mode the embedded
        sandbox's token and secret: one sandbox, one token)."""
        s, c = self.settings, self.creds
        if s.sandbox_mode:
            return fill(number.model_copy(update={"access_token": None, "app_secret": None}), waba_id=c.waba_id,
                        access_token=c.token, app_secret=c.app_secret, mps=s.mps)
        return fill(number, waba_id=s.waba_id, mps=s.mps,
                    access_token=s.access_token.get_secret_value() if s.access_token else None,
                    app_secret=s.app_secret.get_secret_value() if s.app_secret else None)

    def make_lane(self, spec: NumberSpec, *, source: str = "config") -> NumberLane:
        """A number's lane: its own client (with its token), bot client, outbox and workers (not started)."""
        store = self.store
        if store is None:
            store = self.store = open_store(self.settings.database_url)
        transport: httpx.AsyncBaseTransport | None = None
        base = self.creds.graph_url
        if self.sandbox_app is not None:
            # In-process: no socket, and it works before uvicorn has bound its port.
            transport = httpx.ASGITransport(app=self.sandbox_app)
            base = "http://sandbox.local"
        options: dict[str, Any] = {
            "token": spec.access_token,
            "phone_number_id": spec.phone_number_id,
            "waba_id": spec.waba_id,
            "base_url": base,
            "version": self.settings.api_version,
            "transport": transport,
        }
        client = InstrumentedAsyncClient(metrics=self.metrics, **options)
        outbox = Outbox(store, client, mps=spec.rate_for(None), max_mps=spec.max_mps,
                        concurrency=self.settings.concurrency or spec.in_flight(),
                        worker_name=f"gw-{os.getpid()}-{spec.phone_number_id}",
                        portfolio=self.settings.portfolio, read_limits_every_s=self.settings.limits_refresh_s)
        return NumberLane(spec=spec, client=client, outbox=outbox, workers=WorkerSupervisor(outbox),
                          bot_client=LoggingAsyncClient(history=self.history, **options), source=source)

    def lane(self, phone_number_id: str | None) -> NumberLane | None:
        """The lane of a number this gateway serves (None for another number, or without engines)."""
        return self.numbers.get(phone_number_id)

    def attach_bot(self, bot: object) -> BotApp:
        """Run ``bot`` (an application or a plain ``fn(update)``) on every update; it answers with the
        gateway's bot client unless it has a client of its own."""
        app = as_bot(bot)
        if app.client is None:
            app.client = self.bot_client
        self.bot = app
        return app


def sandbox_display(spec: NumberSpec) -> str:
    """The display number of a number of the embedded sandbox: the configured one's digits, else one made
    from the id."""
    return display_digits(spec.display_phone_number or "") or f"1555{spec.phone_number_id[-7:]:0>7}"


def _fields(spec: NumberSpec) -> dict[str, Any]:
    return {f: getattr(spec, f) for f in NumberSpec.__slots__}


def open_gateway(settings: Settings, *, base_url: str) -> Gateway:
    """The gateway's own parts (database, keys, history, metrics); engines are attached by the app."""
    db = Database(settings.database_url)
    box = SecretBox(settings.secret_keys())
    numbers = NumberStore(db, box)
    numbers.protect()  # what an older key or no key left in clear is encrypted now (or a warning without a key)
    return Gateway(
        probe=DatabaseProbe(db),
        settings=settings,
        creds=credentials_for(settings, base_url=base_url, db=db),
        base_url=base_url,
        db=db,
        keys=KeyStore(db, [k.get_secret_value() for k in settings.api_keys]),
        history=History(db),
        number_log=NumberLog(db),
        metrics=Metrics(),
        audit=AuditLog(db),
        handover=Handover(db),
        stop_words=StopWords(db),
        number_store=numbers,
        secret_box=box,
    )
