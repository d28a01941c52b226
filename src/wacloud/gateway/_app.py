"""``create_app(settings)``: the gateway as one FastAPI app.

Routes: ``/v1/...`` (HTTP API, API key required), ``/webhook`` (Meta's webhooks, signature-checked),
``/sandbox`` (the embedded emulator, sandbox mode only), ``/healthz``, ``/readyz``, ``/metrics``,
``/docs`` and ``/openapi.json``. The lifespan runs the mounted apps' lifespans and the delivery workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

import wacloud.gateway._api as api
import wacloud.gateway._audit as audit
import wacloud.gateway._calling_routes as calling_routes
import wacloud.gateway._campaign_ops as campaign_ops
import wacloud.gateway._coexistence as coexistence
import wacloud.gateway._coexistence_routes as coexistence_routes
import wacloud.gateway._contacts_routes as contacts_routes
import wacloud.gateway._events_routes as events_routes
import wacloud.gateway._events_wiring as events_wiring
import wacloud.gateway._groups_routes as groups_routes
import wacloud.gateway._identity_routes as identity_routes
import wacloud.gateway._kept_media as kept_media
import wacloud.gateway._management as management
import wacloud.gateway._media_routes as media_routes
import wacloud.gateway._numbers_admin as numbers_admin
import wacloud.gateway._numbers_api as numbers_api
import wacloud.gateway._ops as ops
import wacloud.gateway._subscriptions as subscriptions
from wacloud import __version__
from wacloud.client import AsyncClient
from wacloud.delivery import StoreError, open_store
from wacloud.gateway._api_errors import ApiError, error_response
from wacloud.gateway._db import DatabaseUnavailable
from wacloud.gateway._docs import mount_docs
from wacloud.gateway._metrics import Metrics
from wacloud.gateway._outputs import attach_outputs, run_outputs
from wacloud.gateway._runtime import SANDBOX_PREFIX, Gateway, load_object, open_gateway
from wacloud.gateway._sandbox_mount import ControlGuard
from wacloud.gateway._settings import Settings
from wacloud.gateway._strict import known_query_only
from wacloud.gateway._webhook import build_webhook_app
from wacloud.gateway.console import mount_console

log = logging.getLogger("wacloud.gateway")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DESCRIPTION = """The wacloud gateway: send WhatsApp messages of any type through a durable, paced outbox,
follow each job's status, read conversations, run template campaigns, upload media and manage templates.

Every `/v1` call needs an API key: `Authorization: Bearer <key>`. Errors are `{"error": {"reason", "field"}}`.
"""


class _Observe:
    """ASGI middleware: API request counts by route and status, webhook answer latency."""

    def __init__(self, app: ASGIApp, gw: Gateway) -> None:
        self.app = app
        self.gw = gw

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            """Note the status, pass the message on."""
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            path: str = scope.get("path", "")
            m = self.gw.metrics
            if path.startswith("/webhook"):
                if scope.get("method") == "POST":
                    m.webhook_latency.labels(status=str(status)).observe(time.perf_counter() - started)
            elif path.startswith("/v1"):
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                m.api_requests.labels(method=scope.get("method", ""), route=route, status=str(status)).inc()


@contextlib.asynccontextmanager
async def asgi_lifespan(app: ASGIApp) -> AsyncIterator[None]:
    """Run an ASGI app's lifespan protocol (mounted apps' lifespans are not run by their parent)."""
    to_app: asyncio.Queue[Message] = asyncio.Queue()
    from_app: asyncio.Queue[Message] = asyncio.Queue()
    scope: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def run() -> None:
        """Drive the app's lifespan coroutine."""
        try:
            await app(scope, to_app.get, from_app.put)
        except Exception as exc:  # an app without lifespan support may raise on the scope type
            await from_app.put({"type": "lifespan.unsupported", "message": repr(exc)})

    task = asyncio.create_task(run())
    await to_app.put({"type": "lifespan.startup"})
    reply = await from_app.get()
    if reply["type"] == "lifespan.startup.failed":
        raise RuntimeError(f"mounted app failed to start: {reply.get('message', '')}")
    supported = reply["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        if supported:
            await to_app.put({"type": "lifespan.shutdown"})
            with contextlib.suppress(Exception):
                await asyncio.wait_for(from_app.get(), timeout=10)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


def attach_engines(gw: Gateway, *, bot: object = None) -> None:
    """Build the sandbox (sandbox mode), the clients, the outbox, the workers and the webhook app for ``gw``."""
    if gw.settings.sandbox_mode:
        gw.build_sandbox()
    gw.store = open_store(gw.settings.database_url)
    gw.build_client()
    if bot is None and gw.settings.app:
        bot = load_object(gw.settings.app)
    if bot is not None:
        gw.attach_bot(bot)
    build_webhook_app(gw)
    events_wiring.attach_events(gw)
    attach_outputs(gw)
    events_wiring.connect_outputs(gw)
    gw.metrics.on_scrape(GaugeRefresher(gw))


class GaugeRefresher:
    """The scrape hook: jobs by state, failures by code, queue depth and pacing from the store."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def __call__(self, m: Metrics) -> None:
        """Set the gauges from the store."""
        gw = self.gw
        outbox = gw.outbox
        if outbox is None:
            return
        summary = outbox.summary()
        m.jobs.clear()
        for state, n in summary.by_state.items():
            m.jobs.labels(state=str(state)).set(n)
        m.failed_jobs.clear()
        for code, n in summary.failed_by_code.items():
            m.failed_jobs.labels(code=str(code)).set(n)
        depth, _ = outbox.backlog()
        m.queue_depth.set(depth)
        m.pacing_tokens.labels(phone_number_id=outbox.phone_number_id).set(outbox.free_slots())
        refresh_numbers(gw, m)
        m.held_jobs.clear()
        for reason, n in outbox.campaigns.limits()["held"].items():
            m.held_jobs.labels(reason=reason).set(n)
        m.cost.clear()
        for row in outbox.campaigns.costs("category"):
            m.cost.labels(category=row.key).set(row.cost)
        if gw.webhook_app is not None:
            stats = gw.webhook_app.receiver.stats
            m.webhook_payloads.labels(outcome="processed").set(stats.processed)
            m.webhook_payloads.labels(outcome="retried").set(stats.retried)
            m.webhook_payloads.labels(outcome="dead_lettered").set(stats.dead_lettered)


def refresh_numbers(gw: Gateway, m: Metrics) -> None:
    """Per-number gauges: rate, backlog, pause state, jobs by state (label ``phone_number_id``)."""
    now = time.time()
    m.number_jobs.clear()
    for lane in gw.numbers:
        pid = lane.phone_number_id
        m.number_rate.labels(phone_number_id=pid).set(lane.rate)
        m.number_backlog.labels(phone_number_id=pid).set(lane.outbox.backlog()[0])
        m.number_paused.labels(phone_number_id=pid).set(1 if lane.outbox.store.paused(pid, now) else 0)
        for state, n in lane.outbox.summary().by_state.items():
            m.number_jobs.labels(phone_number_id=pid, state=str(state)).set(n)
        if lane is not gw.numbers.default:
            m.pacing_tokens.labels(phone_number_id=pid).set(lane.outbox.free_slots())


def create_app(
    settings: Settings, *, base_url: str | None = None, bot: object = None, engines: bool = True
) -> FastAPI:
    """The gateway app. ``base_url`` is where it is reached (default ``http://host:port``); ``bot`` an
    ``Application`` (else ``settings.app``); ``engines=False`` builds only the gateway's own parts."""
    gw = open_gateway(settings, base_url=base_url or f"http://{settings.host}:{settings.port}")
    if engines:
        attach_engines(gw, bot=bot)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Start the mounted apps and the workers; stop them in reverse order."""
        async with contextlib.AsyncExitStack() as stack:
            for sub in (gw.sandbox_app, gw.webhook_app):
                if sub is not None:
                    await stack.enter_async_context(asgi_lifespan(sub))
            persistence = gw.sandbox_persistence
            if persistence is not None:
                saving = asyncio.create_task(persistence.run(), name="wacloud-sandbox-state")
                stack.push_async_callback(persistence.stop, saving)
            if gw.numbers:
                # Each number paces to its throughput level (a failed read keeps the configured rate).
                await asyncio.gather(*(lane.read_level() for lane in gw.numbers))
            # Before the workers start: a coexistence number is paced at 20 msg/s from the first send.
            app.state.coexistence = await coexistence.apply_coexistence_pacing(gw)
            if settings.workers and gw.outbox is not None:
                gw.workers.start()
                stack.push_async_callback(gw.workers.stop)
            await events_wiring.start_events(gw, stack)
            await stack.enter_async_context(run_outputs(gw))
            log.info(
                "gateway started",
                extra={"mode": "sandbox" if settings.sandbox_mode else "live", "workers": settings.workers},
            )
            try:
                yield
            finally:
                gw.stopping = True
                log.info("gateway stopping")
        if gw.webhook_store is not None:
            with contextlib.suppress(Exception):
                gw.webhook_store.close()
        clients: list[AsyncClient | None] = [c for lane in gw.numbers for c in (lane.client, lane.bot_client)]
        for client in clients or [gw.client, gw.bot_client]:
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        gw.db.close()

    app = FastAPI(
        title="wacloud gateway",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by mount_docs, from the installed Swagger UI rather than a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.gateway = gw
    mount_docs(app)
    _install_error_handlers(app)
    app.include_router(ops.router)
    if settings.api:
        app.include_router(api.router, dependencies=_STRICT)
        app.include_router(kept_media.router, dependencies=_STRICT)  # before /v1/media/{media_id}/...
        app.include_router(campaign_ops.router, dependencies=_STRICT)
        app.include_router(media_routes.router, dependencies=_STRICT)
        app.include_router(management.router, dependencies=_STRICT)
        app.include_router(contacts_routes.router, dependencies=_STRICT)
        app.include_router(numbers_api.router, dependencies=_STRICT)
        app.include_router(numbers_admin.router, dependencies=_STRICT)
        app.include_router(events_routes.router, dependencies=_STRICT)
        app.include_router(subscriptions.router, dependencies=_STRICT)
        app.include_router(audit.router, dependencies=_STRICT)
        for router in (calling_routes.router, groups_routes.router, identity_routes.router,
                       identity_routes.templates_router, coexistence_routes.router):
            app.include_router(router, dependencies=_STRICT)
        mount_console(app)  # the web console at /console (and / redirects there)
    webhook_app = gw.webhook_app
    if webhook_app is not None and settings.api:
        # Exact paths, not a Mount: Meta posts to the URL as configured, and a redirect would lose the POST.
        # First in the table: the busiest route is matched at once, not after every /v1 route's pattern
        # (routing was ~7 % of the gateway's CPU under a campaign's status webhooks).
        for n, path in enumerate(("/webhook", "/webhook/")):
            app.router.routes.insert(n, Route(path, webhook_app, include_in_schema=False))
    if gw.sandbox_app is not None:
        app.mount(SANDBOX_PREFIX, ControlGuard(gw.sandbox_app, gw.keys))
    app.add_middleware(_Observe, gw=gw)
    if gw.audit is not None:
        app.add_middleware(audit.AuditRecorder, log=gw.audit)  # who changed what through /v1
    return app


#: On every ``/v1`` route: an unknown query parameter is a 422 naming it, not silently ignored.
_STRICT = [Depends(known_query_only)]


def _install_error_handlers(app: FastAPI) -> None:
    """Every error is ``{"error": {"reason", "field"?}}``; nothing internal leaks into an answer."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.body)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error_response(exc.status_code, {"reason": str(exc.detail)})
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = exc.errors()
        first = errs[0] if errs else {}
        loc = [str(p) for p in first.get("loc", ())]
        field = ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc) or None
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errs[:5]
        )
        return error_response(422, {"reason": reasons or "invalid request", "field": field})

    @app.exception_handler(StoreError)
    @app.exception_handler(DatabaseUnavailable)
    async def _store_down(request: Request, exc: Exception) -> JSONResponse:
        log.error("store error on %s %s: %s", request.method, request.url.path, exc)
        response = error_response(503, {"reason": "the database is unavailable; retry shortly"})
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, {"reason": "internal error; see the gateway's log"})
