"""Operations: numbers (quality, throughput, tier, pause), jobs search, dead letters with retry,
opt-outs (list, add, remove; the opt-out keywords per language), event subscriptions (``_subs``), API keys
and the audit log."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from wacloud import errors
from wacloud.delivery import Job, address
from wacloud.events import EVENT_TYPES
from wacloud.gateway._calls import call_engine
from wacloud.gateway._keys import ROLES
from wacloud.gateway._numbers_api import number_view
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import Refused, audit, checked_form, current_user, field, gateway
from wacloud.gateway.console._session import lane_of as _lane
from wacloud.gateway.console._session import lanes as _lanes
from wacloud.gateway.console._subs import rows as subscription_rows

router = APIRouter(prefix=PREFIX, include_in_schema=False)

_STATES = ("", "queued", "sending", "accepted", "sent", "delivered", "read", "failed", "dead", "uncertain")


def _shown(value: str) -> str:
    """A customer id as a person reads it: ``+`` before a phone number."""
    return f"+{value}" if value.isdigit() else value


@router.get("/ops", response_class=HTMLResponse)
async def ops(request: Request, state: str = "", to: str = "", campaign: str = "", notice: str = "",
              number: str = "") -> Response:
    """Everything on one page, in sections: the numbers, then the chosen number's jobs and opt-outs."""
    user = await current_user(request)
    gw = gateway(request)
    lanes = _lanes(gw, user)
    numbers = [await number_view(lane) for lane in lanes]
    lane = _lane(gw, user, number)
    jobs: list[Job] = []
    dead: list[Job] = []
    opt_outs: list[tuple[str, str, float | None]] = []
    search_error = ""
    if lane is not None:
        outbox = lane.outbox
        filters: dict[str, Any] = {"limit": 50}
        if state in _STATES and state:
            filters["state"] = state
        if campaign:
            filters["campaign"] = campaign[:128]
        try:
            if to:
                filters["to"] = address(to)
            jobs = await call_engine(outbox.jobs, **filters)
        except (errors.ValidationError, ValueError) as exc:
            search_error = str(exc)[:200]
        dead = await call_engine(outbox.jobs, state="dead", limit=50)
        opt_outs = [(r.wa_id, _shown(r.wa_id), r.last_inbound)
                    for r in await call_engine(outbox.opted_out, 500)]
    words = await call_engine(gw.stop_words.all) if gw.stop_words is not None else []
    keys = await call_engine(gw.keys.list) if user.is_admin else []
    entries = await call_engine(gw.audit.entries, limit=30) if user.is_admin and gw.audit is not None else []
    subs = await call_engine(subscription_rows, gw, user)
    return page(
        request, "ops.html", user, numbers=numbers, current=lane.phone_number_id if lane else "",
        numbers_error="" if lanes else "this key may use none of the numbers served", jobs=jobs, dead=dead,
        search={"state": state, "to": to, "campaign": campaign}, states=_STATES, search_error=search_error,
        opt_outs=opt_outs, words=words, keys=keys, roles=ROLES, entries=entries, notice=notice[:300],
        new_key=None, subs=subs, event_types=EVENT_TYPES,
    )


def _back(notice: str, anchor: str, number: str = "") -> Response:
    query = urlencode({"notice": notice, **({"number": number} if number else {})})
    return RedirectResponse(f"{PREFIX}/ops?{query}#{anchor}", status_code=303)


@router.post("/ops/pause")
async def pause(request: Request) -> Response:
    """Pause sending from one number for some minutes (admin)."""
    user = await current_user(request)
    form = await checked_form(request, user, need="admin")
    lane = _lane(gateway(request), user, field(form, "number"))
    try:
        minutes = float(field(form, "minutes", "60"))
        if not 0 < minutes <= 7 * 24 * 60:
            raise ValueError
    except ValueError:
        return _back("minutes: give a number between 1 and 10080", "numbers")
    if lane is None:
        return _back("No number to pause.", "numbers")
    await call_engine(lane.outbox.pause, minutes * 60, field(form, "reason") or "paused in the console")
    await audit(request, user, "pause number", lane.phone_number_id, f"{minutes:g} min")
    return _back(f"Sending from {lane.display or lane.phone_number_id} paused.", "numbers", lane.phone_number_id)


@router.post("/ops/resume")
async def resume(request: Request) -> Response:
    """Lift one number's pause (admin)."""
    user = await current_user(request)
    form = await checked_form(request, user, need="admin")
    lane = _lane(gateway(request), user, field(form, "number"))
    if lane is None:
        return _back("No number to resume.", "numbers")
    await call_engine(lane.outbox.resume)
    lane.workers.restart()  # a running worker keeps the pause it read until it ends
    await audit(request, user, "resume number", lane.phone_number_id)
    return _back(f"Sending from {lane.display or lane.phone_number_id} resumed.", "numbers", lane.phone_number_id)


@router.post("/ops/retry/{job_id}")
async def retry(request: Request, job_id: str) -> Response:
    """Send a dead letter again from its own number: a new job with the same message (once per dead job)."""
    user = await current_user(request)
    await checked_form(request, user)
    gw = gateway(request)
    first = _lane(gw, user, "")
    job = await call_engine(first.outbox.job, job_id[:128]) if first is not None else None
    lane = gw.numbers.get(job.phone_number_id) if job is not None else None
    if job is None or lane is None or not user.key.may_use(lane.phone_number_id) or str(job.state) != "dead":
        return _back(f"No dead letter {job_id[:64]}.", "dead")
    body = {k: v for k, v in dict(job.body).items() if k not in ("to", "recipient")}
    new_id = await call_engine(lambda: lane.outbox.enqueue(job.to, body, key=f"retry:{job.id}",
                                                           category=job.category, on_stored=gw.history.log_queued))
    await audit(request, user, "retry dead letter", job.id, str(new_id))
    return _back(f"Queued again as job {new_id}.", "dead", lane.phone_number_id)


@router.post("/ops/opt-outs")
async def opt_out(request: Request) -> Response:
    """Record an opt-out (``action=add``) or lift one (``action=remove``) on one number."""
    user = await current_user(request)
    form = await checked_form(request, user)
    lane = _lane(gateway(request), user, field(form, "number"))
    try:
        customer = address(field(form, "wa_id"), "wa_id")
    except errors.ValidationError as exc:
        return _back(f"customer: {exc.reason}", "opt-outs")
    if lane is None:
        return _back("No number to record it on.", "opt-outs")
    adding = field(form, "action") == "add"
    await call_engine(lane.outbox.set_marketing_preference, customer, "stop" if adding else "resume")
    await audit(request, user, "opt-out added" if adding else "opt-out removed", customer, lane.phone_number_id)
    return _back(f"{_shown(customer)} {'opted out' if adding else 'may get marketing again'}.", "opt-outs",
                 lane.phone_number_id)


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
        name, role = field(form, "name") or "console", field(form, "role", "agent")
        info, key = await call_engine(lambda: gw.keys.create(name, role=role))
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


