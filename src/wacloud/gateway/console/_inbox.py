"""The inbox: conversations newest first with unread counts and search, one conversation with both
directions and ticks, replies (text, or an approved template when the 24-hour window is closed) and the
hand-over between the bot and a person. The pages poll their fragments every 2 s (htmx)."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wacloud import errors, limits, messages
from wacloud.gateway._calls import call_engine
from wacloud.gateway._db import Database
from wacloud.gateway._runtime import Gateway
from wacloud.gateway.console._bubbles import bubble
from wacloud.gateway.console._catalog import all_templates, by_name, parameters, send_components
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import ConsoleUser, audit, checked_form, current_user, field, gateway

router = APIRouter(prefix=PREFIX, include_in_schema=False)


class Reads:
    """How far the console has read each conversation (``wacloud_gw_console_reads``): the unread counts."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.execute(
            "CREATE TABLE IF NOT EXISTS wacloud_gw_console_reads (wa_id TEXT PRIMARY KEY, "
            "read_ts DOUBLE PRECISION NOT NULL)"
        )

    def mark(self, wa_id: str, ts: float) -> None:
        """Everything up to ``ts`` in ``wa_id``'s conversation has been seen."""
        self.db.execute(
            "INSERT INTO wacloud_gw_console_reads (wa_id, read_ts) VALUES (?, ?) ON CONFLICT (wa_id) "
            "DO UPDATE SET read_ts = excluded.read_ts WHERE excluded.read_ts > wacloud_gw_console_reads.read_ts",
            (wa_id, ts),
        )

    def unread(self) -> dict[str, int]:
        """Customers' messages newer than the console's read mark, per conversation."""
        rows = self.db.execute(
            "SELECT m.wa_id, COUNT(*) FROM wacloud_gw_messages m LEFT JOIN wacloud_gw_console_reads r "
            "ON r.wa_id = m.wa_id WHERE m.direction = 'in' AND m.ts > COALESCE(r.read_ts, 0) GROUP BY m.wa_id"
        )
        return {str(w): int(n) for w, n in rows}


def reads(request: Request) -> Reads:
    """The read marks (table made once per app)."""
    found: Reads | None = getattr(request.app.state, "console_reads", None)
    if found is None:
        found = request.app.state.console_reads = Reads(gateway(request).db)
    return found


def _conversations(gw: Gateway, marks: Reads, q: str) -> list[dict[str, Any]]:
    convs = gw.history.conversations(limit=1000 if q else 200)
    unread = marks.unread()
    needle = q.lower().lstrip("+")
    out = []
    for c in convs:
        if needle and needle not in str(c["wa_id"]).lower() and needle not in str(c.get("name") or "").lower():
            continue
        out.append({**c, "unread": unread.get(c["wa_id"], 0)})
    return out


def _clean_wa_id(wa_id: str) -> str:
    """A conversation id from the URL: digits (a phone number) or a BSUID; anything else is a 404."""
    wa_id = wa_id.lstrip("+")
    if not wa_id or len(wa_id) > 64 or not all(ch.isalnum() or ch in "._-" for ch in wa_id):
        raise errors.ValidationError("wa_id", "is not a phone number or a business-scoped user id")
    return wa_id


async def _thread(request: Request, wa_id: str) -> dict[str, Any]:
    """What the conversation pane shows: messages as bubbles, the window, the holder, templates."""
    gw = gateway(request)
    logged = await call_engine(gw.history.messages, wa_id, limit=200)
    known = by_name(await all_templates(request))
    outbox = gw.outbox
    items = []
    for m in logged:
        reason = ""
        if m.status in ("failed", "dead") or (m.job_id and m.status is None):
            job = await call_engine(outbox.job, m.job_id) if outbox is not None and m.job_id else None
            if job is not None and job.error_code is not None:
                known_code = errors.ERROR_CODES.get(int(job.error_code))
                reason = (known_code.title if known_code else (job.error_title or "")) + f" (code {job.error_code})"
        status = m.status
        if m.job_id and outbox is not None and status in (None, "queued"):
            job = await call_engine(outbox.job, m.job_id)
            status = str(job.state) if job is not None else status
        items.append({"m": m, "b": bubble(m.body, m.summary, known), "status": status, "reason": reason})
    last_in = max((m.ts for m in logged if m.direction == "in"), default=None)
    window_open = last_in is not None and time.time() - last_in < limits.SERVICE_WINDOW_S
    holder = await call_engine(gw.handover.holder, wa_id) if gw.handover is not None else None
    return {"wa_id": wa_id, "items": items, "window_open": window_open, "last_in": last_in, "holder": holder}


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, q: str = "") -> Response:
    """The conversation list (and an empty conversation pane)."""
    user = await current_user(request)
    convs = await call_engine(_conversations, gateway(request), reads(request), q[:64])
    return page(request, "inbox.html", user, convs=convs, q=q[:64], open=None)


@router.get("/inbox/list", response_class=HTMLResponse)
async def inbox_list(request: Request, q: str = "", open: str = "") -> Response:
    """The conversation list fragment (polled)."""
    user = await current_user(request)
    convs = await call_engine(_conversations, gateway(request), reads(request), q[:64])
    return page(request, "inbox_list.html", user, convs=convs, q=q[:64], open=open)


@router.get("/inbox/{wa_id}", response_class=HTMLResponse)
async def conversation(request: Request, wa_id: str, q: str = "") -> Response:
    """One conversation, the reply box and the hand-over controls."""
    user = await current_user(request)
    try:
        wa_id = _clean_wa_id(wa_id)
    except errors.ValidationError as exc:
        return HTMLResponse(f"<p class='error'>{exc.reason}</p>", status_code=404)
    gw = gateway(request)
    await all_templates(request, fresh=True)  # a page load sees templates approved a moment ago
    thread = await _thread(request, wa_id)
    await _seen(request, user, wa_id, thread)
    convs = await call_engine(_conversations, gw, reads(request), q[:64])
    approved = [t for t in await all_templates(request) if t.get("status") == "APPROVED"]
    name = next((c.get("name") for c in convs if c["wa_id"] == wa_id), None)
    return page(
        request, "inbox.html", user, convs=convs, q=q[:64], open=wa_id, name=name, thread=thread,
        approved=[(t, parameters(t)) for t in approved], bot=gw.bot is not None,
    )


async def _seen(request: Request, user: ConsoleUser, wa_id: str, thread: dict[str, Any]) -> None:
    """Opening a conversation reads it: the unread count clears; an agent's view also turns the
    customer's last message blue-ticked (a viewer only looks)."""
    items = thread["items"]
    if not items:
        return
    await call_engine(reads(request).mark, wa_id, max(i["m"].ts for i in items))
    last_in = next((i["m"] for i in reversed(items) if i["m"].direction == "in" and i["m"].wamid), None)
    client = gateway(request).client
    if user.can_write and last_in is not None and client is not None:
        # An old message cannot be marked read any more; the page still shows.
        with contextlib.suppress(errors.WhatsAppError, errors.ValidationError):
            await client.mark_as_read(last_in.wamid)


@router.get("/inbox/{wa_id}/thread", response_class=HTMLResponse)
async def thread_fragment(request: Request, wa_id: str) -> Response:
    """The messages of one conversation (polled every 2 s)."""
    user = await current_user(request)
    try:
        wa_id = _clean_wa_id(wa_id)
    except errors.ValidationError as exc:
        return HTMLResponse(f"<p class='error'>{exc.reason}</p>", status_code=404)
    thread = await _thread(request, wa_id)
    await call_engine(reads(request).mark, wa_id, max((i["m"].ts for i in thread["items"]), default=0.0))
    return page(request, "inbox_thread.html", user, thread=thread)


async def _enqueue(request: Request, graph: dict[str, Any]) -> str:
    """Queue ``graph`` (a send body) in the outbox, logged like an API send; returns the job id."""
    gw = gateway(request)
    if gw.outbox is None:
        raise errors.ValidationError("outbox", "the outbox is not running in this process")
    graph.setdefault("messaging_product", "whatsapp")
    parsed = messages.parse(graph)
    return str(await call_engine(gw.outbox.enqueue, parsed.to, parsed, on_stored=gw.history.log_queued))


@router.post("/inbox/{wa_id}/send", response_class=HTMLResponse)
async def send(request: Request, wa_id: str) -> Response:
    """Reply with a text message; answers the refreshed thread (or the error, on the field)."""
    user = await current_user(request)
    form = await checked_form(request, user)
    text = field(form, "text")
    error = ""
    try:
        wa_id = _clean_wa_id(wa_id)
        if not text:
            raise errors.ValidationError("text", "write a message first")
        job_id = await _enqueue(request, {"to": wa_id, "type": "text", "text": {"body": text}})
        await audit(request, user, "reply", wa_id, job_id)
    except errors.ValidationError as exc:
        error = f"{exc.field}: {exc.reason}"
    thread = await _thread(request, wa_id)
    return page(request, "inbox_thread.html", user, thread=thread, error=error)


@router.post("/inbox/{wa_id}/template", response_class=HTMLResponse)
async def send_template(request: Request, wa_id: str) -> Response:
    """Send an approved template (the window is closed), its parameters from the form."""
    user = await current_user(request)
    form = await checked_form(request, user)
    wa_id = _clean_wa_id(wa_id)
    name, _, lang = field(form, "template").partition(":")
    found = by_name(await all_templates(request)).get(f"{name}:{lang}")
    error = ""
    if found is None or found.get("status") != "APPROVED":
        error = "template: pick an approved template"
    else:
        values = {k[2:]: field(form, k) for k in form if k.startswith("p.")}
        body = {"name": name, "language": {"code": lang}, "components": send_components(found, values)}
        try:
            job_id = await _enqueue(request, {"to": wa_id, "type": "template", "template": body})
            await audit(request, user, "send template", wa_id, f"{name} {job_id}")
        except errors.ValidationError as exc:
            error = f"{exc.field}: {exc.reason}"
    thread = await _thread(request, wa_id)
    return page(request, "inbox_thread.html", user, thread=thread, error=error)


@router.post("/inbox/{wa_id}/take")
async def take(request: Request, wa_id: str) -> Response:
    """A person takes the conversation: the bot stops answering this customer."""
    user = await current_user(request)
    await checked_form(request, user)
    wa_id = _clean_wa_id(wa_id)
    handover = gateway(request).handover
    if handover is not None:
        await call_engine(handover.take, wa_id, user.key.id, user.key.name)
        await audit(request, user, "take from bot", wa_id)
    return RedirectResponse(f"{PREFIX}/inbox/{wa_id}", status_code=303)


@router.post("/inbox/{wa_id}/release")
async def release(request: Request, wa_id: str) -> Response:
    """Give the conversation back to the bot."""
    user = await current_user(request)
    await checked_form(request, user)
    wa_id = _clean_wa_id(wa_id)
    handover = gateway(request).handover
    if handover is not None:
        await call_engine(handover.release, wa_id)
        await audit(request, user, "give back to bot", wa_id)
    return RedirectResponse(f"{PREFIX}/inbox/{wa_id}", status_code=303)
