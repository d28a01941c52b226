"""Operations endpoints: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from wacloud.server.api import call
from wacloud.server.runtime import Gateway
from wacloud.server.schemas import Health

router = APIRouter(tags=["operations"])


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
    checks: dict[str, str] = {"database": "ok" if await call(gw.db.ping) else "unreachable"}
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
