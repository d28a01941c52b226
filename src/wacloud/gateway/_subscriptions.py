"""``/v1/subscriptions``: push the event log to a URL (Standard Webhooks), and watch how delivery goes.

Create (the answer holds the signing secret, shown only then), list, show (counters, the last attempt, the
next retry, recent attempts, dead letters), delete, pause, resume, and replay from a position, a time, or
the dead letters.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

import anyio.to_thread
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from wacloud.events import EventLog, SubscriptionDispatcher, SubscriptionStore
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._events_routes import event_types
from wacloud.gateway._events_schemas import (
    ReplayOut,
    SubscriptionCreated,
    SubscriptionDeleted,
    SubscriptionDetail,
    SubscriptionList,
    SubscriptionOut,
)
from wacloud.gateway._runtime import Gateway

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["subscriptions"])

SubId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]


class SubscriptionIn(BaseModel):
    """A new subscription: where to POST, and which events (all when a filter is absent)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2000, description="http(s) URL that receives the events")
    types: list[str] | None = Field(default=None, max_length=64, description="event types (docs/events.md)")
    numbers: list[str] | None = Field(default=None, max_length=256, description="phone number ids (or waba:<id>)")
    start: int | str | None = Field(default=None, description='"now" (default), "oldest", or a position')


class ReplayIn(BaseModel):
    """Where to deliver from again: ``from`` a position (exclusive) or an ISO time, or the dead letters."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: int | str | None = Field(default=None, alias="from", description="a position, or an ISO 8601 time")
    dead_letters: bool = Field(default=False, description="deliver the dead-lettered events again")


def _parts(gw: Gateway) -> tuple[SubscriptionStore, EventLog, SubscriptionDispatcher | None]:
    if gw.subscriptions is None or gw.events is None:
        raise ApiError(503, "subscriptions are not available in this process")
    return gw.subscriptions, gw.events, gw.dispatcher


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(422, "url must be an http:// or https:// URL with a host", field="url")
    return url.strip()


async def _cursor_of(events: EventLog, value: int | str | None, field: str, *, default_now: bool) -> int:
    """A cursor from a position, ``now``/``oldest``, or an ISO time (events at or after it come next)."""
    if value is None:
        value = "now" if default_now else None
    if isinstance(value, bool) or value is None:
        raise ApiError(422, "give a position (integer) or an ISO 8601 time", field=field)
    if isinstance(value, int):
        if value < 0:
            raise ApiError(422, "a position is 0 or more", field=field)
        return value
    text = value.strip()
    if text == "now":
        return int(await anyio.to_thread.run_sync(events.head))
    if text == "oldest":
        return 0
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, f"{text[:40]!r} is neither a position, now, oldest nor an ISO 8601 time",
                       field=field) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(await anyio.to_thread.run_sync(events.position_before, when.timestamp()))


async def _found(store: SubscriptionStore, sub_id: str) -> Any:
    sub = await anyio.to_thread.run_sync(store.get, sub_id)
    if sub is None:
        raise ApiError(404, f"no subscription {sub_id!r}", field="id")
    return sub


def _poke(dispatcher: SubscriptionDispatcher | None) -> None:
    if dispatcher is not None:
        dispatcher.poke()


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated,
             summary="Subscribe a URL to events (answers with its secret)")
async def create_subscription(request: Request, _: Authenticated, body: SubscriptionIn) -> dict[str, Any]:
    """A new subscription; ``secret`` (``whsec_…``) verifies the deliveries and is shown only here."""
    store, events, dispatcher = _parts(request.app.state.gateway)
    url = _check_url(body.url)
    types = event_types(",".join(body.types), field="types") if body.types else None
    numbers = [n.strip() for n in body.numbers if n.strip()] if body.numbers else None
    cursor = await _cursor_of(events, body.start, "start", default_now=True)
    sub = await anyio.to_thread.run_sync(lambda: store.create(url, types=types, numbers=numbers, cursor=cursor))
    _poke(dispatcher)
    return sub.as_json(with_secret=True)


@router.get("/subscriptions", response_model=SubscriptionList,
             summary="Every subscription and how its delivery goes")
async def list_subscriptions(request: Request, _: Authenticated) -> dict[str, Any]:
    """All subscriptions, oldest first (no secrets)."""
    store, _events, _d = _parts(request.app.state.gateway)
    return {"subscriptions": [s.as_json() for s in await anyio.to_thread.run_sync(store.all)]}


@router.get("/subscriptions/{sub_id}", response_model=SubscriptionDetail,
             summary="One subscription: cursor, attempts, next retry, dead letters")
async def get_subscription(request: Request, _: Authenticated, sub_id: SubId) -> dict[str, Any]:
    """The subscription, its recent attempts (as seen by this process) and its first dead letters."""
    store, events, dispatcher = _parts(request.app.state.gateway)
    sub = await _found(store, sub_id)
    out: dict[str, Any] = sub.as_json()
    out["head"] = await anyio.to_thread.run_sync(events.head)
    out["recent_attempts"] = [a.as_json() for a in dispatcher.recent(sub_id)] if dispatcher is not None else []
    out["dead_letters"] = await anyio.to_thread.run_sync(lambda: store.dead_letters(sub_id, limit=50))
    return out


@router.delete("/subscriptions/{sub_id}", response_model=SubscriptionDeleted,
             summary="Delete a subscription (and its dead letters)")
async def delete_subscription(request: Request, _: Authenticated, sub_id: SubId) -> dict[str, Any]:
    """Delivery stops at once (a request in flight may still arrive)."""
    store, _events, dispatcher = _parts(request.app.state.gateway)
    if not await anyio.to_thread.run_sync(store.delete, sub_id):
        raise ApiError(404, f"no subscription {sub_id!r}", field="id")
    _poke(dispatcher)
    return {"id": sub_id, "deleted": True}


@router.post("/subscriptions/{sub_id}/pause", response_model=SubscriptionOut,
             summary="Pause delivery (events keep accumulating)")
async def pause_subscription(request: Request, _: Authenticated, sub_id: SubId) -> dict[str, Any]:
    """Paused by hand (``failing`` stays false)."""
    store, _events, _d = _parts(request.app.state.gateway)
    if not await anyio.to_thread.run_sync(lambda: store.set_state(sub_id, "paused", "paused by request")):
        raise ApiError(404, f"no subscription {sub_id!r}", field="id")
    return dict((await _found(store, sub_id)).as_json())


@router.post("/subscriptions/{sub_id}/resume", response_model=SubscriptionOut,
             summary="Resume delivery (clears the failing flag, requeues dead letters)")
async def resume_subscription(request: Request, _: Authenticated, sub_id: SubId) -> dict[str, Any]:
    """Delivery goes on from the cursor, dead letters first (those a subscriber that was down caused)."""
    store, _events, dispatcher = _parts(request.app.state.gateway)
    if not await anyio.to_thread.run_sync(store.set_state, sub_id, "active"):
        raise ApiError(404, f"no subscription {sub_id!r}", field="id")
    await anyio.to_thread.run_sync(store.requeue_dead, sub_id)
    _poke(dispatcher)
    return dict((await _found(store, sub_id)).as_json())


@router.post("/subscriptions/{sub_id}/replay", response_model=ReplayOut,
             summary="Deliver again from a position, a time, or the dead letters")
async def replay_subscription(request: Request, _: Authenticated, sub_id: SubId, body: ReplayIn) -> dict[str, Any]:
    """``{"from": 1234}`` delivers the events after position 1234; ``{"from": "2026-12-01T00:00:00Z"}`` those
    at or after that time; ``{"dead_letters": true}`` the dead-lettered ones."""
    store, events, dispatcher = _parts(request.app.state.gateway)
    await _found(store, sub_id)
    if body.dead_letters:
        n = await anyio.to_thread.run_sync(store.requeue_dead, sub_id)
        _poke(dispatcher)
        return {"id": sub_id, "requeued_dead_letters": n}
    if body.from_ is None:
        raise ApiError(422, 'give "from" (a position or an ISO time) or "dead_letters": true', field="from")
    cursor = await _cursor_of(events, body.from_, "from", default_now=False)
    await anyio.to_thread.run_sync(store.replay, sub_id, cursor)
    _poke(dispatcher)
    return {"id": sub_id, "cursor": cursor}
