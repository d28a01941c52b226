"""Operations endpoints: ``/healthz`` (alive), ``/readyz`` (can serve), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from wacloud.gateway._calls import call_engine
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz(request: Request) -> Health:
    """Always 200 while the event loop runs."""
    gw: Gateway = request.app.state.gateway
    return Health(status="ok", mode="sandbox" if gw.settings.sandbox_mode else "live", checks={})


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness: database, outbox and workers are up",
    responses={503: {"model": Health}},
)
async def readyz(request: Request) -> JSONResponse:
    """200 when the store answers and the parts this process runs are up, else 503 with the failing check."""
    gw: Gateway = request.app.state.gateway
    checks: dict[str, str] = {"database": await gw.probe.check()}
    checks["outbox"] = "ok" if gw.outbox is not None else "missing"
    if gw.settings.workers:
        checks["workers"] = gw.workers.state
    if gw.settings.sandbox_mode:
        checks["sandbox"] = "ok" if gw.sandbox_app is not None else "missing"
    if gw.settings.api:
        checks["webhook"] = "ok" if gw.webhook_app is not None else "missing"
    ok = all(v == "ok" for v in checks.values()) and not gw.stopping
    body = Health(
        status="ok" if ok else "unavailable", checks=checks, mode="sandbox" if gw.settings.sandbox_mode else "live"
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request, number: str | None = None) -> Response:
    """Sends by outcome and code, queue depth, pacing tokens, webhook latency, retries; per-number series
    (label ``phone_number_id``) of one number only with ``?number=<phone number id>``."""
    gw: Gateway = request.app.state.gateway
    body = await call_engine(gw.metrics.render)
    if number is not None:
        label = f'phone_number_id="{number}"'.encode()
        body = b"".join(line for line in body.splitlines(keepends=True)
                        if line.startswith(b"#") or label in line)
    return Response(content=body, media_type=gw.metrics.content_type)
