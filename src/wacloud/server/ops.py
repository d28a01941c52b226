"""Operations endpoints: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics`` (Prometheus)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from wacloud.server.api import call
from wacloud.server.db import PROBE_TIMEOUT_S
from wacloud.server.runtime import Gateway
from wacloud.server.schemas import Health

router = APIRouter(tags=["operations"])
log = logging.getLogger("wacloud.server")

#: The probe's answer is awaited at most this long (a PostgreSQL server that does not answer at all).
PROBE_WAIT_S = PROBE_TIMEOUT_S + 1.0


async def _database(gw: Gateway) -> str:
    """``ok`` when a write commits within seconds, else why not (the reason itself goes to the log).

    A write, not a ``SELECT 1``: a locked or read-only database answers reads while every write fails.
    One probe at a time: while one hangs, the next readiness call says so instead of adding threads.
    """
    probe: asyncio.Task[Any] | None = gw.extras.get("db_probe")
    if probe is None or probe.done():
        probe = asyncio.ensure_future(call(gw.db.check_writable, PROBE_TIMEOUT_S))
        probe.add_done_callback(lambda t: t.cancelled() or t.exception())  # a late failure is not "unretrieved"
        gw.extras["db_probe"] = probe
    try:
        await asyncio.wait_for(asyncio.shield(probe), PROBE_WAIT_S)
        state = "ok"
    except TimeoutError:
        state, reason = "unresponsive", f"no answer within {PROBE_WAIT_S:.0f} s"
    except Exception as exc:
        state, reason = "not writable", f"{type(exc).__name__}: {exc}"
    if state != gw.extras.get("db_state", "ok"):
        if state == "ok":
            log.info("readiness: the database accepts writes again")
        else:
            log.warning("readiness: the database is %s (%s)", state, reason)
    gw.extras["db_state"] = state
    return state


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz(request: Request) -> dict[str, Any]:
    """Always 200 while the event loop runs."""
    gw: Gateway = request.app.state.gateway
    return {"status": "ok", "mode": "sandbox" if gw.settings.sandbox_mode else "live", "checks": {}}


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: database, outbox and workers are up",
    responses={503: {"model": Health}},
)
async def readyz(request: Request) -> Any:
    """200 when the store answers and the parts this process runs are up, else 503 with the failing check."""
    gw: Gateway = request.app.state.gateway
    checks: dict[str, str] = {"database": await _database(gw)}
    checks["outbox"] = "ok" if gw.outbox is not None else "missing"
    if gw.settings.workers:
        task = gw.extras.get("worker_task")
        if task is None or task.done():
            checks["workers"] = "stopped"
        else:
            checks["workers"] = "ok" if gw.extras.get("workers_up") else "restarting"
    if gw.settings.sandbox_mode:
        checks["sandbox"] = "ok" if gw.sandbox_app is not None else "missing"
    if gw.settings.api:
        checks["webhook"] = "ok" if gw.extras.get("webhook_app") is not None else "missing"
    ok = all(v == "ok" for v in checks.values()) and not gw.extras.get("stopping")
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": checks,
        "mode": "sandbox" if gw.settings.sandbox_mode else "live",
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    """Sends by outcome and code, queue depth, pacing tokens, webhook latency, retries."""
    gw: Gateway = request.app.state.gateway
    body = await call(gw.metrics.render)
    return Response(content=body, media_type=gw.metrics.content_type)
