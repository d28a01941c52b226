"""``/v1/numbers`` (the business numbers served) and ``/v1/webhooks/unrouted`` (webhooks of numbers not
served), and the helpers the other routes use to pick a number: ``from`` and ``?number=``."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated, require_number
from wacloud.gateway._calls import call_engine
from wacloud.gateway._keys import KeyInfo
from wacloud.gateway._numbers import NumberLane, UnknownNumber
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._schemas import NumberList, NumberOut, UnroutedList

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

#: ``?number=``: a phone number id or a display number.
NumberQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=64, pattern=r"^\+?[0-9 ()\-.]+$",
          description="only this business number (phone number id or display number)"),
]


def _gw(request: Request) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


def sending_lane(gw: Gateway, key: KeyInfo, sender: str | None, *, field: str = "from") -> NumberLane:
    """The number a request sends from: its ``from`` (optional with one number, or when the key may use
    only one); 422 naming ``field`` when unknown or ambiguous, 403 when the key may not use it."""
    if sender is None and key.numbers is not None and len(key.numbers) == 1:
        sender = key.numbers[0]
    if len(gw.numbers) == 0:
        raise ApiError(503, "the outbox is not available in this process")
    try:
        lane = gw.numbers.resolve(sender)
    except UnknownNumber as exc:
        raise ApiError(422, exc.reason, field=field) from None
    require_number(key, lane.phone_number_id, field=field)
    return lane


def lane_for(gw: Gateway, key: KeyInfo, number: str | None, *, waba: bool = False) -> NumberLane:
    """The number a management or media call acts for: ``?number=`` (checked against the key), else the
    implicit number, else the key's only number; for a WABA-wide call (``waba``: templates) any number
    when every number the key may use is in one WABA. Otherwise 422 asking for ``number``."""
    if number is not None or len(gw.numbers) == 0:
        return sending_lane(gw, key, number, field="number")
    usable = [lane for lane in gw.numbers if key.may_use(lane.phone_number_id)]
    implicit = gw.numbers.get(gw.numbers.implicit)
    if implicit is not None and implicit in usable:
        return implicit
    if not usable:
        raise ApiError(403, "this API key may use none of the numbers this gateway serves", field="number")
    if len(usable) == 1 or (waba and len({lane.spec.waba_id for lane in usable}) == 1):
        return usable[0]
    raise ApiError(422, f"this gateway serves {len(usable)} numbers; say which one with ?number= "
                        f"(one of {', '.join(lane.phone_number_id for lane in usable)})", field="number")


def filter_numbers(gw: Gateway, key: KeyInfo, number: str | None) -> list[str] | None:
    """The phone number ids a listing shows: ``?number=`` (checked), else the key's numbers (None: all)."""
    if number is None:
        return list(key.numbers) if key.numbers is not None else None
    return [sending_lane(gw, key, number, field="number").phone_number_id]


async def number_view(lane: NumberLane) -> dict[str, Any]:
    """One number as ``GET /v1/numbers`` shows it."""
    outbox = lane.outbox
    backlog, _ = await call_engine(outbox.backlog)
    paused = await call_engine(outbox.store.paused, lane.phone_number_id, time.time())
    return {
        "phone_number_id": lane.phone_number_id,
        "waba_id": lane.spec.waba_id,
        "name": lane.spec.name,
        "display_phone_number": lane.display,
        "verified_name": lane.verified_name,
        "rate": lane.rate,
        "throughput_level": lane.level,
        "paused": paused is not None,
        "paused_until": paused[0] if paused is not None else None,
        "pause_reason": paused[1] if paused is not None else None,
        "quality": lane.quality,
        "quality_event": lane.quality_event,
        "backlog": int(backlog),
        "workers": lane.workers.state,
        "source": lane.source,
        # Whether one is set, never the token itself.
        "access_token_set": lane.spec.access_token is not None,
        "app_secret_set": lane.spec.app_secret is not None,
    }


@router.get("/numbers", response_model=NumberList, tags=["numbers"], summary="The business numbers served")
async def list_numbers(request: Request, key: Authenticated) -> dict[str, Any]:
    """Each number the calling key may use: ids, name, rate, pause state, quality and backlog."""
    lanes = [lane for lane in _gw(request).numbers if key.may_use(lane.phone_number_id)]
    return {"numbers": [await number_view(lane) for lane in lanes]}


NumberPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^\+?[0-9 ()\-.]+$")]


@router.post("/numbers/{number}/pause", response_model=NumberOut, tags=["numbers"], summary="Pause one number")
async def pause_number(
    request: Request,
    key: Authenticated,
    number: NumberPath,
    seconds: Annotated[float, Query(gt=0, le=30 * 24 * 3600, description="how long")] = 3600,
) -> dict[str, Any]:
    """Stop sending from this number (every worker sharing the store); its jobs wait, other numbers go on."""
    lane = sending_lane(_gw(request), key, number, field="number")
    await call_engine(lane.outbox.pause, seconds, "paused through the API")
    return await number_view(lane)


@router.post("/numbers/{number}/resume", response_model=NumberOut, tags=["numbers"], summary="Resume one number")
async def resume_number(request: Request, key: Authenticated, number: NumberPath) -> dict[str, Any]:
    """Lift this number's pause (an auth pause too, once its token is fixed)."""
    lane = sending_lane(_gw(request), key, number, field="number")
    await call_engine(lane.outbox.resume)
    # A running worker keeps the pause it read until it ends: restart the number's workers (gracefully).
    lane.workers.restart()
    return await number_view(lane)


@router.get(
    "/webhooks/unrouted",
    response_model=UnroutedList,
    tags=["numbers"],
    summary="Webhooks for numbers this gateway does not serve (kept apart)",
)
async def unrouted(
    request: Request,
    key: Authenticated,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    phone_number_id: Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[0-9]+$")] = None,
) -> dict[str, Any]:
    """Updates whose ``metadata.phone_number_id`` (or display number) names no number served, newest first."""
    if key.numbers is not None:
        # They belong to no number, so only a key for every number sees them.
        raise ApiError(403, "this API key is limited to some numbers; unrouted webhooks belong to none")
    log = _gw(request).number_log
    found = await call_engine(log.unrouted, limit=limit, phone_number_id=phone_number_id)
    return {"updates": [u.as_dict() for u in found], "counts": await call_engine(log.unrouted_count)}


__all__ = ["NumberPath", "NumberQuery", "filter_numbers", "lane_for", "number_view", "router", "sending_lane"]
