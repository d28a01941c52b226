"""Live updates for the console pages from the gateway's event log.

``GET /console/live`` is a Server-Sent Events stream (session-authenticated, like every console page) of
the events the pages react to, limited to the numbers the signed-in key may use; ``GET /console/live/poll``
answers the same events as JSON pages for browsers without ``EventSource``. Each event is sent slim (what
a page needs to decide whether to refresh), never the message content: the pages fetch their fragments
again through the ordinary, role-checked routes. ``static/live.js`` is the browser side.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse
from starlette.responses import JSONResponse, Response

from wacloud.events import Event
from wacloud.gateway.console._render import PREFIX
from wacloud.gateway.console._session import ConsoleUser, current_user, gateway

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: What the inbox and the campaign pages refresh on.
LIVE_TYPES = ("message.received", "message.status", "job.state_changed", "campaign.progress")
_BATCH = 200
_PING_S = 15
#: A phone number id no event has: the filter of a key that may use none of the numbers served.
_NO_NUMBER = "-"


def slim(ev: Event) -> dict[str, Any]:
    """What a page needs from an event: its type, position, number, customer, campaign and state."""
    data = ev.data
    contact = ev.contact.as_dict() if ev.contact is not None else {}
    return {"type": ev.type, "position": ev.position, "number": ev.phone_number_id,
            "wa_id": contact.get("wa_id") or data.get("to") or "", "contact_id": contact.get("contact_id", ""),
            "campaign": data.get("campaign") or "", "state": data.get("state") or data.get("status") or ""}


def _numbers(request: Request, user: ConsoleUser) -> list[str] | None:
    """The numbers whose events this user sees: None (all) for an unlimited key."""
    if user.key.numbers is None:
        return None
    mine = [pid for pid in gateway(request).numbers.ids() if user.key.may_use(pid)]
    return mine or [_NO_NUMBER]  # an empty filter would read every number's events


def _cursor(after: int | None, last_event_id: str | None) -> int | None:
    """Where to start: ``Last-Event-ID`` (a reconnect), else ``after``; None: from now."""
    if last_event_id and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return after


@router.get("/live")
async def live(
    request: Request,
    after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
) -> Response:
    """The live stream (SSE): ``id`` is the event's position, ``event`` its type, ``data`` the slim JSON.
    Without an event log in this process it answers 204, which tells the browser to fall back to timers."""
    user = await current_user(request)
    gw = gateway(request)
    events, watcher = gw.events, gw.event_watcher
    if events is None or watcher is None:
        return Response(status_code=204)
    numbers = _numbers(request, user)
    start = _cursor(after, last_event_id)
    if start is None:
        start = await anyio.to_thread.run_sync(events.head)

    async def follow(cursor: int) -> AsyncIterator[dict[str, Any]]:
        async for batch in watcher.follow(cursor, batch=_BATCH, ping_s=_PING_S, types=LIVE_TYPES, numbers=numbers):
            for ev in batch:
                yield {"id": str(ev.position), "event": "console",
                       "data": json.dumps(slim(ev), separators=(",", ":"))}

    return EventSourceResponse(follow(start), ping=_PING_S)


@router.get("/live/poll")
async def poll(request: Request, after: Annotated[int | None, Query(ge=0, le=2**62)] = None) -> Response:
    """The same events as a JSON page (``after`` absent: none, and the cursor of now) for polling."""
    user = await current_user(request)
    events = gateway(request).events
    if events is None:
        return JSONResponse({"events": [], "next": None})
    head = await anyio.to_thread.run_sync(events.head)
    if after is None:
        return JSONResponse({"events": [], "next": head})
    found = await anyio.to_thread.run_sync(partial(events.read, after, _BATCH, types=LIVE_TYPES,
                                                   numbers=_numbers(request, user)))
    nxt = found[-1].position if found else after
    if len(found) < _BATCH:
        nxt = max(nxt, head)
    return JSONResponse({"events": [slim(ev) for ev in found], "next": nxt})


async def head(request: Request) -> int | None:
    """The log's position now: a page rendered now follows the events after it (None: no event log)."""
    events = gateway(request).events
    if events is None:
        return None
    position: int = await anyio.to_thread.run_sync(events.head)
    return position
