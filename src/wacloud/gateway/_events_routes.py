"""``GET /v1/events`` (pages of the log after a cursor) and ``GET /v1/events/stream`` (Server-Sent Events).

The cursor is an event's ``position``; the stream sends it as the SSE ``id``, so a client that reconnects
with ``Last-Event-ID`` resumes right after the last event it got.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse

from wacloud.events import EVENT_TYPES, EventLog, HeadWatcher
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._events_schemas import EventPage
from wacloud.gateway._runtime import Gateway

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["events"])

#: Events read per round by the live stream.
STREAM_BATCH = 200
#: The stream's keep-alive comment interval (proxies close idle connections).
STREAM_PING_S = 15

_TYPES_DOC = "comma-separated event types (docs/events.md); all when absent"
_NUMBER_DOC = "comma-separated phone number ids (or waba:<id> keys); all when absent"


def _parts(gw: Gateway) -> tuple[EventLog, HeadWatcher]:
    if gw.events is None or gw.event_watcher is None:
        raise ApiError(503, "the event log is not available in this process")
    return gw.events, gw.event_watcher


def event_types(value: str | None, field: str = "types") -> list[str] | None:
    """A comma-separated list of event types, each checked (a 422 naming ``field`` otherwise)."""
    if value is None or not value.strip():
        return None
    types = [t.strip() for t in value.split(",") if t.strip()]
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise ApiError(422, f"unknown event type(s) {', '.join(map(repr, unknown))}; known: "
                            f"{', '.join(EVENT_TYPES)}", field=field)
    return types


def numbers_of(value: str | None) -> list[str] | None:
    """A comma-separated list of phone number ids."""
    if value is None or not value.strip():
        return None
    return [n.strip() for n in value.split(",") if n.strip()]


@router.get("/events", response_model=EventPage, summary="Events after a cursor (a page of the log, in order)")
async def list_events(
    request: Request,
    _: Authenticated,
    after: Annotated[int, Query(ge=0, le=2**62, description="the cursor: events with a greater position")] = 0,
    types: Annotated[str | None, Query(max_length=2000, description=_TYPES_DOC)] = None,
    number: Annotated[str | None, Query(max_length=2000, description=_NUMBER_DOC)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """A page of events; ``next`` is the cursor of the next page (the same when nothing new matched)."""
    events, _watcher = _parts(request.app.state.gateway)
    wanted, numbers = event_types(types), numbers_of(number)
    head = await anyio.to_thread.run_sync(events.head)
    found = await anyio.to_thread.run_sync(lambda: events.read(after, limit, types=wanted, numbers=numbers))
    more = len(found) == limit
    # A short page read everything up to ``head`` (positions commit in order): skip the non-matching rest.
    nxt = found[-1].position if found else after
    if not more:
        nxt = max(nxt, head)
    return {"events": [e.as_json() for e in found], "next": nxt, "has_more": more}


@router.get("/events/stream", summary="Live events (Server-Sent Events; resume with Last-Event-ID)",
            response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {"schema": {
                "type": "string", "description": "id: <position>, event: <type>, data: <event JSON>"}}}}})
async def stream_events(
    request: Request,
    _: Authenticated,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="start after this position (default: now)")]
    = None,
    types: Annotated[str | None, Query(max_length=2000, description=_TYPES_DOC)] = None,
    number: Annotated[str | None, Query(max_length=2000, description=_NUMBER_DOC)] = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> EventSourceResponse:
    """Each event as ``id: <position>``, ``event: <type>``, ``data: <event JSON>``; a ping every 15 s."""
    events, watcher = _parts(request.app.state.gateway)
    wanted, numbers = event_types(types), numbers_of(number)
    start = after
    if last_event_id is not None and last_event_id.strip():
        try:
            start = int(last_event_id.strip())
        except ValueError:
            raise ApiError(422, "Last-Event-ID must be an event position (an integer)", field="Last-Event-ID") from None
        if start < 0:
            raise ApiError(422, "Last-Event-ID must not be negative", field="Last-Event-ID")
    if start is None:
        start = await anyio.to_thread.run_sync(events.head)

    async def follow(cursor: int) -> AsyncIterator[dict[str, Any]]:
        async for batch in watcher.follow(cursor, batch=STREAM_BATCH, ping_s=STREAM_PING_S, types=wanted,
                                          numbers=numbers):
            for ev in batch:
                yield {"id": str(ev.position), "event": ev.type,
                       "data": json.dumps(ev.as_json(), separators=(",", ":"), ensure_ascii=False)}

    return EventSourceResponse(follow(start), ping=STREAM_PING_S)
