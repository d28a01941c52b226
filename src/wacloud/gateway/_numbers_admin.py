"""Adding, changing and removing business numbers at run time: ``POST``/``PATCH``/``DELETE /v1/numbers``.

Admin keys only (the role check of :mod:`wacloud.gateway._auth` refuses agents and viewers with a 403), and
only a key for every number. A number added here gets a lane like a configured one (its own client with its
own token, outbox, pacing and workers, built by :meth:`Gateway.make_lane`), is kept in the gateway database
(:class:`~wacloud.gateway._number_store.NumberStore`) so it comes back after a restart, and its webhooks are
routed to it from the moment it is added. Before anything is kept the number is read from the Graph API
with its token, so a wrong token or id is refused at once. Numbers of the configuration file are changed in
the configuration, not here (409). The access token is never shown: answers say only whether one is set.

Another gateway process sharing the database serves a number added here from its next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from wacloud import errors
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError, whatsapp_error
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._calls import call_engine
from wacloud.gateway._keys import KeyInfo
from wacloud.gateway._number_config import NumberConfig, NumberSpec, display_digits
from wacloud.gateway._number_store import NumberStore
from wacloud.gateway._numbers import NumberLane
from wacloud.gateway._numbers_api import NumberPath, number_view, sending_lane
from wacloud.gateway._runtime import Gateway, sandbox_display
from wacloud.gateway._schemas import NumberOut
from wacloud.limits import UPGRADED_MPS

log = logging.getLogger("wacloud.gateway.numbers")

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["numbers"])

_CONFIGURED = ("is configured in the gateway's configuration ([[numbers]], WACLOUD_NUMBERS or the "
               "single-number settings): change it there")


class NumberPatch(BaseModel):
    """What ``PATCH /v1/numbers/{number}`` may change; a field left out stays as it is (``null`` clears
    ``name`` and ``max_mps``, and puts ``mps`` and the secrets back to the gateway-wide settings)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str | None = Field(default=None, max_length=128)
    mps: int | None = Field(default=None, ge=1, le=UPGRADED_MPS)
    max_mps: int | None = Field(default=None, ge=1, le=UPGRADED_MPS)
    access_token: SecretStr | None = None
    app_secret: SecretStr | None = None


class NumberRemoved(BaseModel):
    """A number no longer served; its jobs stay in the store (sent if the number is added again)."""

    phone_number_id: str
    removed: bool
    #: Its jobs still owed a send, kept.
    backlog: int


def _gw(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def _lock(request: Request) -> asyncio.Lock:
    """One change of the numbers at a time (per app)."""
    lock: asyncio.Lock | None = getattr(request.app.state, "numbers_lock", None)
    if lock is None:
        lock = request.app.state.numbers_lock = asyncio.Lock()
    return lock


def _store(gw: Gateway) -> NumberStore:
    if gw.number_store is None or len(gw.numbers) == 0:
        raise ApiError(503, "numbers cannot be changed in this process (no outbox)")
    return gw.number_store


def _every_number(key: KeyInfo) -> None:
    if key.numbers is not None:
        raise ApiError(403, "this API key is limited to some numbers; only a key for every number may add or "
                            "remove numbers")


def _stored_dict(config: NumberConfig) -> dict[str, Any]:
    """``config`` as plain values, secrets in clear (to build a changed copy; never shown)."""
    data: dict[str, Any] = config.model_dump(exclude_none=True)
    for name in ("access_token", "app_secret"):
        secret = getattr(config, name)
        if secret is not None:
            data[name] = secret.get_secret_value()
    return data


async def _verified(gw: Gateway, config: NumberConfig) -> NumberLane:
    """A new lane for ``config``, read from the Graph API with its own token (nothing kept on a refusal)."""
    spec = gw.fill_added(config)
    if spec.access_token is None:
        raise ApiError(422, "required: the gateway has no gateway-wide access token to use for this number",
                       field="access_token")
    lane = gw.make_lane(spec, source="api")
    try:
        await lane.check()
    except errors.WhatsAppError as exc:
        await _close(lane)
        reason = exc.detail.details or exc.detail.message or f"Graph error {exc.code}"
        if exc.retry is errors.RetryClass.AUTH or exc.code == 190:
            raise ApiError(422, f"Meta refused this number's access token: {reason}"[:300], field="access_token",
                           code=exc.code) from None
        if exc.code == 100:  # no such object, or one this token cannot reach
            raise ApiError(422, f"Meta does not give number {spec.phone_number_id} to this token: {reason}"[:300],
                           field="phone_number_id", code=exc.code) from None
        raise whatsapp_error(exc) from None
    except errors.TransportError as exc:
        await _close(lane)
        raise ApiError(502, f"the Cloud API could not be reached to check number {spec.phone_number_id}: "
                            f"{exc}"[:300]) from None
    return lane


async def _close(lane: NumberLane) -> None:
    for client in (lane.client, lane.bot_client):
        try:
            await client.aclose()
        except Exception:  # closing is best effort
            log.debug("closing a client of number %s failed", lane.phone_number_id, exc_info=True)


def _forget_gauges(gw: Gateway, pid: str) -> None:
    """A removed number's gauges go (they would otherwise show its last values forever)."""
    m = gw.metrics
    for gauge in (m.pacing_tokens, m.number_backlog, m.number_rate, m.number_paused):
        with contextlib.suppress(KeyError):
            gauge.remove(pid)


def _refresh_app_secrets(gw: Gateway) -> None:
    """The webhook receiver accepts the app secret of every number served now (several Meta apps)."""
    if gw.webhook_app is not None and gw.creds.app_secret:
        gw.webhook_app.receiver.set_other_app_secrets([n.spec.app_secret for n in gw.numbers if n.spec.app_secret])


@router.post("/numbers", response_model=NumberOut, status_code=201, summary="Add a business number (admin)")
async def add_number(
    request: Request,
    key: Authenticated,
    body: Annotated[NumberConfig, Body(description="The number: phone_number_id, waba_id, access_token "
                                                   "(default: the gateway's), app_secret, name, "
                                                   "display_phone_number, mps, max_mps")],
) -> dict[str, Any]:
    """Serve one more number from now on (and after restarts): its own token, outbox, pacing and workers."""
    _every_number(key)
    gw = _gw(request)
    store = _store(gw)
    async with _lock(request):
        pid = body.phone_number_id
        served = gw.numbers.get(pid)
        if served is not None:
            where = _CONFIGURED if served.source == "config" else "was added through the API already"
            raise ApiError(409, f"number {pid} {where}", field="phone_number_id")
        digits = display_digits(body.display_phone_number or "")
        if digits and gw.numbers.by_display(digits) is not None:
            raise ApiError(409, f"display number {body.display_phone_number} is another served number's",
                           field="display_phone_number")
        if gw.sandbox_app is not None:
            # Sandbox mode: the embedded sandbox serves the new number too (in its WABA, else the main one).
            spec = gw.fill_added(body)
            gw.sandbox_app.state.add_phone_number(pid, sandbox_display(spec), spec.waba_id)
        lane = await _verified(gw, body)
        if not await call_engine(store.add, body):
            await _close(lane)
            raise ApiError(409, f"number {pid} was added through the API already (by another process)",
                           field="phone_number_id")
        gw.numbers.add(lane)
        gw.workers.add(lane.workers)
        _refresh_app_secrets(gw)
    log.info("number %s added through the API (waba %s, %s mps)", pid, lane.spec.waba_id, lane.rate,
             extra={"phone_number_id": pid})
    return await number_view(lane)


@router.patch("/numbers/{number}", response_model=NumberOut, summary="Change a number added through the API (admin)")
async def update_number(request: Request, key: Authenticated, number: NumberPath, body: NumberPatch) -> dict[str, Any]:
    """Change a number's name, rate, ceiling or secrets; a new token is checked against the Graph API first
    and the number's workers restart on it (gracefully, its jobs wait in the store)."""
    gw = _gw(request)
    store = _store(gw)
    async with _lock(request):
        lane = sending_lane(gw, key, number, field="number")
        pid = lane.phone_number_id
        if lane.source != "api":
            raise ApiError(409, f"number {pid} {_CONFIGURED}", field="number")
        stored = await call_engine(store.get, pid)
        if stored is None:
            raise ApiError(404, f"number {pid} is no longer kept (removed by another process)", field="number")
        changes = {name: getattr(body, name) for name in body.model_fields_set}
        for name in ("access_token", "app_secret"):
            if isinstance(changes.get(name), SecretStr):
                changes[name] = changes[name].get_secret_value()
        try:
            config = NumberConfig.model_validate({**_stored_dict(stored), **changes})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ApiError(422, f"{first['msg']}", field=".".join(str(p) for p in first["loc"])) from None
        if {"access_token", "app_secret"} & body.model_fields_set:
            new = await _verified(gw, config)
            for attr in ("level", "quality", "quality_event", "display_phone_number", "verified_name"):
                setattr(new, attr, getattr(new, attr) or getattr(lane, attr))
            await call_engine(store.replace, config)
            gw.numbers.replace(new)
            await gw.workers.remove(lane.workers)
            gw.workers.add(new.workers)
            await _close(lane)
            lane = new
        else:
            await call_engine(store.replace, config)
            _rerate(lane, gw.fill_added(config))
        _refresh_app_secrets(gw)
    log.info("number %s changed through the API (%s)", pid, ", ".join(sorted(body.model_fields_set)) or "nothing",
             extra={"phone_number_id": pid})
    return await number_view(lane)


def _rerate(lane: NumberLane, spec: NumberSpec) -> None:
    """Take a changed spec (name, rate, ceiling) without a new client: pace to it, restarting the workers."""
    ceiling_changed = spec.max_mps != lane.spec.max_mps
    lane.spec = spec
    lane.outbox.pacing = dataclasses.replace(lane.outbox.pacing, max_mps=spec.max_mps)
    if not lane.set_level(None) and ceiling_changed:
        lane.workers.restart()


@router.delete("/numbers/{number}", response_model=NumberRemoved,
               summary="Remove a number added through the API (admin)")
async def remove_number(request: Request, key: Authenticated, number: NumberPath) -> dict[str, Any]:
    """Stop serving a number: its workers stop, its jobs stay in the store, its webhooks are kept apart
    (``GET /v1/webhooks/unrouted``). The last number and configured numbers cannot be removed (409)."""
    _every_number(key)
    gw = _gw(request)
    store = _store(gw)
    async with _lock(request):
        lane = sending_lane(gw, key, number, field="number")
        pid = lane.phone_number_id
        if len(gw.numbers) <= 1:
            raise ApiError(409, f"number {pid} is the only number this gateway serves: it cannot be removed",
                           field="number")
        if lane.source != "api" or lane is gw.numbers.default:
            raise ApiError(409, f"number {pid} {_CONFIGURED}", field="number")
        await call_engine(store.remove, pid)
        gw.numbers.remove(pid)
        _forget_gauges(gw, pid)
        await gw.workers.remove(lane.workers)
        await _close(lane)
        _refresh_app_secrets(gw)
        backlog, _ = await call_engine(lane.outbox.backlog)
    log.info("number %s removed through the API; %d jobs kept in the store", pid, backlog,
             extra={"phone_number_id": pid})
    return {"phone_number_id": pid, "removed": True, "backlog": int(backlog)}


__all__ = ["NumberPatch", "router"]
