"""Operations: numbers (quality, throughput, tier, pause), jobs search, dead letters with retry,
opt-outs (list, add, remove; the opt-out keywords per language), API keys and the audit log."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wacloud import errors, messages
from wacloud.delivery import Job
from wacloud.gateway._calls import call_engine
from wacloud.gateway._keys import ROLES
from wacloud.gateway._runtime import Gateway
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import Refused, audit, checked_form, current_user, field, gateway
from wacloud.phone import normalize

router = APIRouter(prefix=PREFIX, include_in_schema=False)

_STATES = ("", "queued", "sending", "accepted", "sent", "delivered", "read", "failed", "dead", "uncertain")


def _opt_outs(gw: Gateway, phone_number_id: str) -> list[tuple[str, float | None]]:
    """Customers opted out of marketing on this number (the outbox's contacts, same database)."""
    rows = gw.db.execute(
        "SELECT wa_id, preference_at FROM contacts WHERE phone_number_id = ? AND marketing_opt_out = 1 "
        "ORDER BY preference_at DESC LIMIT 500",
        (phone_number_id,),
    )
    return [(str(w), float(t) if t is not None else None) for w, t in rows]


async def _numbers(gw: Gateway) -> tuple[list[dict[str, Any]], str]:
    client = gw.client
    if client is None:
        return [], "the Cloud API client is not running in this process"
    try:
        found = await client.list_phone_numbers()
    except (errors.WhatsAppError, errors.ValidationError) as exc:
        return [], f"could not list the numbers: {exc}"[:300]
    paused = None
    if gw.store is not None:
        paused = await call_engine(gw.store.paused, client.phone_number_id or "", time.time())
    out = []
    for n in found:
        row = n.model_dump()
        row["throughput"] = n.throughput.level if n.throughput is not None else None
        row["paused"] = paused if n.id == client.phone_number_id else None
        row["outbox"] = n.id == client.phone_number_id
        out.append(row)
    return out, ""


@router.get("/ops", response_class=HTMLResponse)
async def ops(request: Request, state: str = "", to: str = "", campaign: str = "", notice: str = "") -> Response:
    """Everything on one page, in sections."""
    user = await current_user(request)
    gw = gateway(request)
    numbers, numbers_error = await _numbers(gw)
    jobs: list[Job] = []
    dead: list[Job] = []
    search_error = ""
    outbox = gw.outbox
    if outbox is not None:
        filters: dict[str, Any] = {"limit": 50}
        if state in _STATES and state:
            filters["state"] = state
        if campaign:
            filters["campaign"] = campaign[:128]
        try:
            if to:
                filters["to"] = normalize(to).wa_id
            jobs = await call_engine(outbox.jobs, **filters)
        except (errors.ValidationError, ValueError) as exc:
            search_error = str(exc)[:200]
        dead = await call_engine(outbox.jobs, state="dead", limit=50)
    opt_outs = await call_engine(_opt_outs, gw, outbox.phone_number_id) if outbox is not None else []
    words = await call_engine(gw.stop_words.all) if gw.stop_words is not None else []
    keys = await call_engine(gw.keys.list) if user.is_admin else []
    entries = await call_engine(gw.audit.entries, limit=30) if user.is_admin and gw.audit is not None else []
    return page(
        request, "ops.html", user, numbers=numbers, numbers_error=numbers_error, jobs=jobs, dead=dead,
        search={"state": state, "to": to, "campaign": campaign}, states=_STATES, search_error=search_error,
        opt_outs=opt_outs, words=words, keys=keys, roles=ROLES, entries=entries, notice=notice[:300],
        new_key=None,
    )


def _back(notice: str, anchor: str) -> Response:
    from urllib.parse import quote

    return RedirectResponse(f"{PREFIX}/ops?notice={quote(notice)}#{anchor}", status_code=303)


@router.post("/ops/pause")
async def pause(request: Request) -> Response:
    """Pause sending from the outbox's number for some minutes (admin)."""
    user = await current_user(request)
    form = await checked_form(request, user, need="admin")
    outbox = gateway(request).outbox
    try:
        minutes = float(field(form, "minutes", "60"))
        if not 0 < minutes <= 7 * 24 * 60:
            raise ValueError
    except ValueError:
        return _back("minutes: give a number between 1 and 10080", "numbers")
    if outbox is not None:
        await call_engine(outbox.pause, minutes * 60, field(form, "reason") or "paused in the console")
        await audit(request, user, "pause number", outbox.phone_number_id, f"{minutes:g} min")
    return _back("Sending paused.", "numbers")


@router.post("/ops/resume")
async def resume(request: Request) -> Response:
    """Lift the pause (admin)."""
    user = await current_user(request)
    await checked_form(request, user, need="admin")
    outbox = gateway(request).outbox
    if outbox is not None:
        await call_engine(outbox.resume)
        await audit(request, user, "resume number", outbox.phone_number_id)
    return _back("Sending resumed.", "numbers")


@router.post("/ops/retry/{job_id}")
async def retry(request: Request, job_id: str) -> Response:
    """Send a dead letter again: a new job with the same message (once per dead job)."""
    user = await current_user(request)
    await checked_form(request, user)
    gw = gateway(request)
    outbox = gw.outbox
    job = await call_engine(outbox.job, job_id[:128]) if outbox is not None else None
    if outbox is None or job is None or str(job.state) != "dead":
        return _back(f"No dead letter {job_id[:64]}.", "dead")
    parsed = messages.parse({"messaging_product": "whatsapp", **dict(job.body)})
    new_id = await call_engine(outbox.enqueue, parsed.to, parsed, key=f"retry:{job.id}",
                               on_stored=gw.history.log_queued)
    await audit(request, user, "retry dead letter", job.id, str(new_id))
    return _back(f"Queued again as job {new_id}.", "dead")


@router.post("/ops/opt-outs")
async def opt_out(request: Request) -> Response:
    """Record an opt-out (``action=add``) or lift one (``action=remove``)."""
    user = await current_user(request)
    form = await checked_form(request, user)
    outbox = gateway(request).outbox
    try:
        wa_id = normalize(field(form, "wa_id")).wa_id
    except errors.ValidationError as exc:
        return _back(f"number: {exc.reason}", "opt-outs")
    adding = field(form, "action") == "add"
    if outbox is not None:
        await call_engine(outbox.set_marketing_preference, wa_id, "stop" if adding else "resume")
        await audit(request, user, "opt-out added" if adding else "opt-out removed", wa_id)
    return _back(f"+{wa_id} {'opted out' if adding else 'may get marketing again'}.", "opt-outs")


@router.post("/ops/stop-words")
async def stop_words(request: Request) -> Response:
    """Add or remove an opt-out keyword (admin)."""
    user = await current_user(request)
    form = await checked_form(request, user, need="admin")
    words = gateway(request).stop_words
    if words is None:
        return _back("Opt-out keywords are not available.", "opt-outs")
    language, word = field(form, "language"), field(form, "word")
    if field(form, "action") == "remove":
        await call_engine(words.remove, language, word)
        await audit(request, user, "opt-out keyword removed", f"{language}:{word}")
        return _back(f"Removed {word} ({language}).", "opt-outs")
    try:
        stored = await call_engine(words.add, language, word)
    except ValueError as exc:
        return _back(f"keyword: {exc}", "opt-outs")
    await audit(request, user, "opt-out keyword added", f"{language}:{stored}")
    return _back(f"Added {stored} ({language}).", "opt-outs")


@router.post("/ops/keys", response_class=HTMLResponse)
async def create_key(request: Request) -> Response:
    """Create an API key with a role (admin); the page shows it once."""
    user = await current_user(request)
    form = await checked_form(request, user, need="admin")
    gw = gateway(request)
    try:
        info, key = await call_engine(gw.keys.create, field(form, "name") or "console", field(form, "role", "agent"))
    except errors.ValidationError as exc:
        return _back(f"{exc.field}: {exc.reason}", "keys")
    await audit(request, user, "create key", info.id, info.role)
    return page(request, "ops_new_key.html", user, info=info, key=key)


@router.post("/ops/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    """Revoke a key (admin); its console sessions end at once."""
    user = await current_user(request)
    await checked_form(request, user, need="admin")
    if key_id == user.key.id:
        raise Refused("you cannot revoke the key you are signed in with")
    done = await call_engine(gateway(request).keys.revoke, key_id[:32])
    await audit(request, user, "revoke key", key_id[:32], "ok" if done else "no such active key")
    return _back(f"Key {key_id[:32]} revoked." if done else f"No active key {key_id[:32]}.", "keys")


