"""Operations: the event subscriptions and how their delivery goes (last status, failures, dead letters,
paused or failing, how far behind the log), with the admin's actions: create (the signing secret shown
once), pause, resume (which also requeues the dead letters), deliver the dead letters again, delete. The
same store calls as ``/v1/subscriptions``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wacloud.events import EVENT_TYPES, Subscription
from wacloud.gateway._runtime import Gateway
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import ConsoleUser, audit, checked_form, current_user, field, gateway

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: Admin actions on a subscription and the words of their outcome.
ACTIONS = {"pause": "paused", "resume": "resumed", "redeliver": "dead letters queued again", "delete": "deleted"}


@dataclass(frozen=True, slots=True)
class SubRow:
    """One subscription as the operations page shows it."""

    sub: Subscription
    shown_url: str
    behind: int
    health: str
    bad: bool


def _health(sub: Subscription) -> tuple[str, bool]:
    """The delivery health in words, and whether it needs a look."""
    if sub.state == "paused":
        return f"paused: {sub.paused_reason or 'by hand'}", True
    if sub.failing or sub.consecutive_failures:
        return f"failing: {sub.consecutive_failures} failures in a row", True
    if sub.dead_lettered:
        return "delivering (some events dead-lettered)", True
    return "delivering", False


def _shown(url: str, user: ConsoleUser) -> str:
    """An admin sees the whole URL; others the address without its query (it may carry a token)."""
    if user.is_admin:
        return url
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def rows(gw: Gateway, user: ConsoleUser) -> list[SubRow] | None:
    """Every subscription with its health (None: subscriptions are not available in this process)."""
    if gw.subscriptions is None or gw.events is None:
        return None
    head = gw.events.head()
    out = []
    for sub in gw.subscriptions.all():
        health, bad = _health(sub)
        out.append(SubRow(sub, _shown(sub.url, user), max(0, head - sub.cursor), health, bad))
    return out


def _back(notice: str) -> Response:
    return RedirectResponse(f"{PREFIX}/ops?{urlencode({'notice': notice})}#subscriptions", status_code=303)


@router.post("/ops/subscriptions", response_class=HTMLResponse)
async def create(request: Request) -> Response:
    """Subscribe a URL to some event types, from now on (admin); the page shows its secret once."""
    user = await current_user(request)
    form = await checked_form(request, user, need="admin")
    gw = gateway(request)
    store, events = gw.subscriptions, gw.events
    if store is None or events is None:
        return _back("Subscriptions are not available here.")
    url = field(form, "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        return _back("url: give an http:// or https:// URL with a host")
    types = [t for t in form.getlist("types") if isinstance(t, str) and t in EVENT_TYPES] or None
    cursor = await anyio.to_thread.run_sync(events.head)
    sub = await anyio.to_thread.run_sync(lambda: store.create(url, types=types, numbers=None, cursor=cursor))
    if gw.dispatcher is not None:
        gw.dispatcher.poke()
    await audit(request, user, "create subscription", sub.id, ", ".join(types or ["every event"]))
    return page(request, "ops_new_subscription.html", user, sub=sub)


@router.post("/ops/subscriptions/{sub_id}/{action}")
async def act(request: Request, sub_id: str, action: str) -> Response:
    """Pause, resume, redeliver the dead letters of, or delete a subscription (admin)."""
    user = await current_user(request)
    await checked_form(request, user, need="admin")
    gw = gateway(request)
    store = gw.subscriptions
    sub_id = sub_id[:64]
    if store is None or action not in ACTIONS:
        return _back("Subscriptions are not available here.")
    if action == "pause":
        done = await anyio.to_thread.run_sync(lambda: store.set_state(sub_id, "paused", "paused in the console"))
    elif action == "resume":
        done = await anyio.to_thread.run_sync(store.set_state, sub_id, "active")
        if done:
            await anyio.to_thread.run_sync(store.requeue_dead, sub_id)
    elif action == "redeliver":
        done = await anyio.to_thread.run_sync(store.get, sub_id) is not None
        if done:
            await anyio.to_thread.run_sync(store.requeue_dead, sub_id)
    else:
        done = await anyio.to_thread.run_sync(store.delete, sub_id)
    if gw.dispatcher is not None:
        gw.dispatcher.poke()
    await audit(request, user, f"{action} subscription", sub_id, "ok" if done else "no such subscription")
    return _back(f"Subscription {sub_id} {ACTIONS[action]}." if done else f"No subscription {sub_id}.")
