"""The inbox, per business number: conversations newest first with unread counts and search (name, phone
number, BSUID, username), one conversation with both directions and ticks, replies (text, an attachment,
or an approved template when the 24-hour window is closed) and the hand-over between the bot and a person.
The list and the open conversation refresh on the live event stream (``_live``), not on a timer."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wacloud import errors, limits, messages
from wacloud.gateway._calls import call_engine
from wacloud.gateway._db import Database
from wacloud.gateway._numbers import NumberLane
from wacloud.gateway._runtime import Gateway
from wacloud.gateway.console._attach import MAX_REQUEST, AttachmentError, attachment_of, send_attachment
from wacloud.gateway.console._bubbles import bubble
from wacloud.gateway.console._catalog import all_templates, by_name, parameters, send_components
from wacloud.gateway.console._live import head
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import (
    ConsoleUser,
    audit,
    checked_form,
    current_user,
    field,
    gateway,
    lane_of,
    lanes,
)

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


def _person_ids(lane: NumberLane | None, q: str) -> set[str]:
    """Every id of the customer ``q`` names (phone number, BSUID, ``@username``, contact id), if known."""
    if lane is None or not q:
        return set()
    tries = [q] if q.startswith("@") or q.lstrip("+").isdigit() else [q, f"@{q}"]
    for one in tries:
        try:
            person = lane.outbox.contact(one)
        except errors.ValidationError:
            continue
        if person is not None:
            ids = set(person.ids.as_dict().values()) if person.ids is not None else set()
            return ids | {person.wa_id} | ({person.contact_id} if person.contact_id else set())
    return set()


def _conversations(gw: Gateway, marks: Reads, lane: NumberLane | None, q: str) -> list[dict[str, Any]]:
    """The number's conversations, newest first, with unread counts; ``q`` keeps those it matches (a part
    of the name or number, or any id of the customer: BSUID, username)."""
    if lane is None and len(gw.numbers):
        return []  # the key may use none of the numbers served
    customers = gw.number_log.wa_ids(lane.phone_number_id) if lane is not None and len(gw.numbers) > 1 else None
    convs = gw.history.conversations(limit=1000 if q or customers is not None else 200)
    unread = marks.unread()
    needle = q.lower().lstrip("+")
    ids = _person_ids(lane, q)
    out = []
    for c in convs:
        keys = {str(c["wa_id"]), str(c.get("contact_id") or "")}
        if customers is not None and not keys & customers:
            continue
        if needle and not keys & ids and needle not in str(c["wa_id"]).lower() \
                and needle not in str(c.get("name") or "").lower():
            continue
        out.append({**c, "unread": unread.get(c["wa_id"], 0)})
    return out[:200]


def _clean_wa_id(wa_id: str) -> str:
    """A conversation id from the URL: digits (a phone number) or a BSUID; anything else is a 404."""
    wa_id = wa_id.lstrip("+")
    if not wa_id or len(wa_id) > 64 or not all(ch.isalnum() or ch in "._-" for ch in wa_id):
        raise errors.ValidationError("wa_id", "is not a phone number or a business-scoped user id")
    return wa_id


def _number_of(gw: Gateway, lane: NumberLane, m: Any) -> str | None:
    """The business number of one logged message: its job's, else its wamid's (None: unknown)."""
    if m.job_id:
        job = lane.outbox.job(m.job_id)
        if job is not None:
            return job.phone_number_id
    return gw.number_log.number_of(m.wamid) if m.wamid else None


def _logged(gw: Gateway, lane: NumberLane | None, wa_id: str) -> tuple[list[Any], list[str]]:
    """The person's messages with ``lane``'s number (all of them when one number is served) and their ids."""
    ids: list[str] = []
    if lane is None and len(gw.numbers):
        return [], ids  # the key may use none of the numbers served
    if lane is not None:
        try:
            person = lane.outbox.contact(wa_id)
        except errors.ValidationError:
            person = None
        if person is not None and person.ids is not None:
            ids = [i for i in person.ids.as_dict().values() if i]
    logged = gw.history.messages(wa_id, limit=200, ids=ids)
    if lane is not None and len(gw.numbers) > 1:
        logged = [m for m in logged if _number_of(gw, lane, m) in (None, lane.phone_number_id)]
    return logged, ids


async def _thread(request: Request, lane: NumberLane | None, wa_id: str) -> dict[str, Any]:
    """What the conversation pane shows: messages as bubbles, the window, the holder, templates."""
    gw = gateway(request)
    logged, ids = await call_engine(_logged, gw, lane, wa_id)
    known = by_name(await all_templates(request))
    outbox = lane.outbox if lane is not None else gw.outbox
    items = []
    for m in logged:
        reason = ""
        job = await call_engine(outbox.job, m.job_id) if outbox is not None and m.job_id else None
        if job is not None and m.status in ("failed", "dead", None) and job.error_code is not None:
            known_code = errors.ERROR_CODES.get(int(job.error_code))
            reason = (known_code.title if known_code else (job.error_title or "")) + f" (code {job.error_code})"
        status = m.status
        if job is not None and status in (None, "queued"):
            status = str(job.state)
        items.append({"m": m, "b": bubble(m.body, m.summary, known), "status": status, "reason": reason})
    last_in = max((m.ts for m in logged if m.direction == "in"), default=None)
    window_open = last_in is not None and time.time() - last_in < limits.SERVICE_WINDOW_S
    holder = await call_engine(gw.handover.holder, wa_id) if gw.handover is not None else None
    return {"wa_id": wa_id, "items": items, "window_open": window_open, "last_in": last_in, "holder": holder,
            "ids": sorted({wa_id, *ids})}


def _numbers(request: Request, user: ConsoleUser, lane: NumberLane | None) -> dict[str, Any]:
    """The number picker's context: the user's numbers and the one shown."""
    mine = lanes(gateway(request), user)
    return {"numbers": [(x.phone_number_id, x.display or x.phone_number_id) for x in mine],
            "number": lane.phone_number_id if lane is not None else ""}


@router.get("/inbox", response_class=HTMLResponse)
async def inbox(request: Request, q: str = "", number: str = "") -> Response:
    """The conversation list of one number (and an empty conversation pane)."""
    user = await current_user(request)
    gw = gateway(request)
    lane = lane_of(gw, user, number)
    convs = await call_engine(_conversations, gw, reads(request), lane, q[:64])
    return page(request, "inbox.html", user, convs=convs, q=q[:64], open=None, live_after=await head(request),
                **_numbers(request, user, lane))


@router.get("/inbox/list", response_class=HTMLResponse)
async def inbox_list(request: Request, q: str = "", open: str = "", number: str = "") -> Response:
    """The conversation list fragment (refreshed by live events and by the search box)."""
    user = await current_user(request)
    gw = gateway(request)
    lane = lane_of(gw, user, number)
    convs = await call_engine(_conversations, gw, reads(request), lane, q[:64])
    return page(request, "inbox_list.html", user, convs=convs, q=q[:64], open=open,
                **_numbers(request, user, lane))


@router.get("/inbox/{wa_id}", response_class=HTMLResponse)
async def conversation(request: Request, wa_id: str, q: str = "", number: str = "") -> Response:
    """One conversation, the reply box and the hand-over controls."""
    user = await current_user(request)
    try:
        wa_id = _clean_wa_id(wa_id)
    except errors.ValidationError as exc:
        return HTMLResponse(f"<p class='error'>{exc.reason}</p>", status_code=404)
    gw = gateway(request)
    lane = lane_of(gw, user, number)
    await all_templates(request, fresh=True)  # a page load sees templates approved a moment ago
    after = await head(request)
    thread = await _thread(request, lane, wa_id)
    await _seen(request, user, lane, wa_id, thread)
    convs = await call_engine(_conversations, gw, reads(request), lane, q[:64])
    approved = [t for t in await all_templates(request) if t.get("status") == "APPROVED"]
    name = next((c.get("name") for c in convs if c["wa_id"] == wa_id), None)
    return page(
        request, "inbox.html", user, convs=convs, q=q[:64], open=wa_id, name=name, thread=thread,
        approved=[(t, parameters(t)) for t in approved], bot=gw.bot is not None, live_after=after,
        accept=",".join(sorted(limits.ALL_MEDIA_MIME_TYPES - limits.MEDIA_RULES[limits.MediaKind.STICKER].mime_types)),
        **_numbers(request, user, lane),
    )


async def _seen(request: Request, user: ConsoleUser, lane: NumberLane | None, wa_id: str,
                thread: dict[str, Any]) -> None:
    """Opening a conversation reads it: the unread count clears; an agent's view also turns the
    customer's last message blue-ticked (a viewer only looks)."""
    items = thread["items"]
    if not items:
        return
    await call_engine(reads(request).mark, wa_id, max(i["m"].ts for i in items))
    last_in = next((i["m"] for i in reversed(items) if i["m"].direction == "in" and i["m"].wamid), None)
    client = lane.client if lane is not None else gateway(request).client
    if user.can_write and last_in is not None and client is not None:
        # An old message cannot be marked read any more; the page still shows.
        with contextlib.suppress(errors.WhatsAppError, errors.ValidationError):
            await client.mark_as_read(last_in.wamid)


@router.get("/inbox/{wa_id}/thread", response_class=HTMLResponse)
async def thread_fragment(request: Request, wa_id: str, number: str = "") -> Response:
    """The messages of one conversation (refreshed by live events)."""
    user = await current_user(request)
    try:
        wa_id = _clean_wa_id(wa_id)
    except errors.ValidationError as exc:
        return HTMLResponse(f"<p class='error'>{exc.reason}</p>", status_code=404)
    thread = await _thread(request, lane_of(gateway(request), user, number), wa_id)
    await call_engine(reads(request).mark, wa_id, max((i["m"].ts for i in thread["items"]), default=0.0))
    return page(request, "inbox_thread.html", user, thread=thread)


async def _enqueue(request: Request, lane: NumberLane | None, graph: dict[str, Any]) -> str:
    """Queue ``graph`` (a send body) in the number's outbox, logged like an API send; returns the job id."""
    gw = gateway(request)
    if lane is None and len(gw.numbers):
        raise errors.ValidationError("number", "this key may use none of the numbers served")
    outbox = lane.outbox if lane is not None else gw.outbox
    if outbox is None:
        raise errors.ValidationError("outbox", "the outbox is not running in this process")
    graph.setdefault("messaging_product", "whatsapp")
    parsed = messages.parse(graph)
    job_id = str(await call_engine(outbox.enqueue, parsed.to, parsed, on_stored=gw.history.log_queued))
    if lane is not None:
        await call_engine(gw.number_log.touch, lane.phone_number_id, parsed.to)
    return job_id


@router.post("/inbox/{wa_id}/send", response_class=HTMLResponse)
async def send(request: Request, wa_id: str) -> Response:
    """Reply with a text message or an attachment (with the text as its caption); answers the refreshed
    thread, with a text error in it or an attachment error on the file field (out of band)."""
    user = await current_user(request)
    length = request.headers.get("content-length") or "0"
    if length.isdigit() and int(length) > MAX_REQUEST:
        # Refused before the body is read: nothing is stored, so no CSRF check is needed to say no.
        return HTMLResponse('<p id="attach-error" class="error field-error" role="alert" hx-swap-oob="true">'
                            f"attachment: the file is too large: at most {MAX_REQUEST // 1024 // 1024 - 1} MB"
                            "</p>", status_code=200)
    form = await checked_form(request, user)
    lane = lane_of(gateway(request), user, field(form, "number"))
    text = field(form, "text")
    error = attach_error = ""
    try:
        wa_id = _clean_wa_id(wa_id)
        file = await attachment_of(form)
        if file is not None:
            if lane is None:
                raise errors.ValidationError("number", "this key may use none of the numbers served")
            bodies = await send_attachment(lane, wa_id, file, text)
            for body in bodies:
                job_id = await _enqueue(request, lane, body)
                await audit(request, user, f"reply with {body['type']}", wa_id, job_id)
        else:
            if not text:
                raise errors.ValidationError("text", "write a message or pick an attachment first")
            job_id = await _enqueue(request, lane, {"to": wa_id, "type": "text", "text": {"body": text}})
            await audit(request, user, "reply", wa_id, job_id)
    except AttachmentError as exc:
        attach_error = exc.reason
    except errors.ValidationError as exc:
        error = f"{exc.field}: {exc.reason}"
    thread = await _thread(request, lane, wa_id)
    return page(request, "inbox_thread.html", user, thread=thread, error=error, attach_error=attach_error,
                oob=True)


@router.post("/inbox/{wa_id}/template", response_class=HTMLResponse)
async def send_template(request: Request, wa_id: str) -> Response:
    """Send an approved template (the window is closed), its parameters from the form."""
    user = await current_user(request)
    form = await checked_form(request, user)
    lane = lane_of(gateway(request), user, field(form, "number"))
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
            job_id = await _enqueue(request, lane, {"to": wa_id, "type": "template", "template": body})
            await audit(request, user, "send template", wa_id, f"{name} {job_id}")
        except errors.ValidationError as exc:
            error = f"{exc.field}: {exc.reason}"
    thread = await _thread(request, lane, wa_id)
    return page(request, "inbox_thread.html", user, thread=thread, error=error)


def _back(wa_id: str, number: str) -> Response:
    query = f"?number={number}" if number else ""
    return RedirectResponse(f"{PREFIX}/inbox/{wa_id}{query}", status_code=303)


@router.post("/inbox/{wa_id}/take")
async def take(request: Request, wa_id: str) -> Response:
    """A person takes the conversation: the bot stops answering this customer."""
    user = await current_user(request)
    form = await checked_form(request, user)
    wa_id = _clean_wa_id(wa_id)
    handover = gateway(request).handover
    if handover is not None:
        await call_engine(handover.take, wa_id, user.key.id, user.key.name)
        await audit(request, user, "take from bot", wa_id)
    return _back(wa_id, field(form, "number"))


@router.post("/inbox/{wa_id}/release")
async def release(request: Request, wa_id: str) -> Response:
    """Give the conversation back to the bot."""
    user = await current_user(request)
    form = await checked_form(request, user)
    wa_id = _clean_wa_id(wa_id)
    handover = gateway(request).handover
    if handover is not None:
        await call_engine(handover.release, wa_id)
        await audit(request, user, "give back to bot", wa_id)
    return _back(wa_id, field(form, "number"))
