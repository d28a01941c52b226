"""The HTTP API under ``/v1``: send, jobs, conversations, campaigns, keys (media: ``media_routes``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Body, Header, Path, Query, Request

import wacloud.gateway._campaigns as campaigns
from wacloud import errors, messages
from wacloud.delivery import Job, Outbox, address, graph_body
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError, whatsapp_error
from wacloud.gateway._auth import Authenticated, require_number
from wacloud.gateway._calls import call_engine
from wacloud.gateway._jobs import job_dict
from wacloud.gateway._keys import KeyInfo
from wacloud.gateway._numbers import NumberLane
from wacloud.gateway._numbers_api import NumberQuery, filter_numbers, sending_lane
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._schemas import (
    CampaignDryRun,
    CampaignIn,
    CampaignOut,
    ConversationList,
    JobList,
    JobOut,
    KeyIn,
    KeyList,
    KeyOut,
    MarkedRead,
    MessageList,
    NewKeyOut,
)
from wacloud.gateway._send_body import SendBody, addressed
from wacloud.messages import SendRequest

log = logging.getLogger("wacloud.gateway.api")

T = TypeVar("T")

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

_SEND_DOC = ('The JSON you would POST to /{phone-number-id}/messages, with "from": the business number that '
             "sends (phone number id or display number; optional when the gateway serves one number)")
_SEND_EXAMPLE = {"to": "+15551234567", "type": "text", "text": {"body": "Hello from wacloud"}}

JobId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
#: A phone number or a BSUID (``US.1349…``, ``US.ENT.1181…``).
_TO_FILTER = r"^(\+?[0-9]{1,20}|[A-Z]{2}\.[A-Za-z0-9.]{1,133})$"
WaId = Annotated[str, Path(min_length=1, max_length=140, pattern=r"^(\+?[0-9]{1,20}|@?[A-Za-z0-9_.\-]{1,140})$")]


def gateway(request: Request) -> Gateway:
    """The gateway parts of this app."""
    gw: Gateway = request.app.state.gateway
    return gw


def _reused_for_other_message(outbox: Outbox, job_id: str, wa_id: str, parsed: SendRequest) -> bool:
    """True when the job an idempotency key points at carries another message than this request's."""
    stored = outbox.job(job_id)
    if stored is None or stored.used_fallback:
        return False
    return dict(stored.body) != graph_body(wa_id, parsed)


def _need(obj: T | None, what: str) -> T:
    """``obj``, or a 503 naming the part this process does not run."""
    if obj is None:
        raise ApiError(503, f"{what} is not available in this process")
    return obj


async def _job_or_404(gw: Gateway, job_id: str, key: KeyInfo | None = None) -> dict[str, Any]:
    outbox = _need(gw.outbox, "the outbox")
    job: Job | None = await call_engine(outbox.job, job_id)
    if job is None:
        raise ApiError(404, f"no job {job_id!r}", field="job_id")
    if key is not None:
        require_number(key, job.phone_number_id, field="job_id")
    return job_dict(job, await call_engine(outbox.history, job.id))


# --- messages and jobs ----------------------------------------------------------------------------


@router.post(
    "/messages",
    status_code=202,
    response_model=JobOut,
    tags=["messages"],
    summary="Queue a message of any type (a raw Graph API send body)",
)
async def send_message(
    request: Request,
    key_info: Authenticated,
    body: Annotated[SendBody, Body(examples=[_SEND_EXAMPLE], description=_SEND_DOC)],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=256)] = None,
    category: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    not_before: Annotated[
        float | None, Query(ge=0, le=32503680000, description="unix time; do not send before")
    ] = None,
    fallback_template: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=512,
            pattern=r"^[a-z0-9_]+$",
            description="template (no parameters) to send instead if the 24-hour window is closed",
        ),
    ] = None,
    fallback_language: Annotated[str, Query(min_length=2, max_length=15)] = "en_US",
) -> dict[str, Any]:
    """Validate the body, queue it in the outbox (once per Idempotency-Key) and return the job."""
    gw = gateway(request)
    _need(gw.outbox, "the outbox")
    graph = addressed(dict(body))  # a BSUID in "to" goes in "recipient"
    # "from" picks the sending number (a gateway field, not part of the Graph body).
    lane = sending_lane(gw, key_info, graph.pop("from", None))
    outbox = lane.outbox
    graph.setdefault("messaging_product", "whatsapp")
    try:
        parsed = messages.parse(graph)
        if parsed.recipient_type != "individual":
            # The outbox paces, windows and logs by customer phone number; a group has none.
            raise errors.ValidationError("recipient_type", "the gateway queues messages to individual customers only")
        # "to" (a phone number) wins over "recipient" (a BSUID), as at Meta.
        wa_id = address(str(parsed.to or parsed.recipient or ""), "to" if parsed.to else "recipient")
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field=exc.field) from None
    except (TypeError, ValueError) as exc:
        raise ApiError(422, f"invalid message body: {exc}"[:500]) from None
    # The conversation log row is written in the job's own transaction (both or neither).
    kwargs: dict[str, Any] = {"key": idempotency_key, "on_stored": gw.history.log_queued}
    if category is not None:
        kwargs["category"] = category
    if fallback_template is not None:
        kwargs["fallback_template"] = {"name": fallback_template, "language": {"code": fallback_language}}
    if not_before is not None:
        kwargs["not_before"] = datetime.fromtimestamp(not_before, UTC)
    try:
        job_id = str(await call_engine(outbox.enqueue, wa_id, parsed, **kwargs))
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field=exc.field) from None
    except errors.WhatsAppError as exc:
        raise whatsapp_error(exc) from None
    if idempotency_key is not None and await call_engine(_reused_for_other_message, outbox, job_id, wa_id, parsed):
        raise ApiError(409, "this Idempotency-Key was already used for a different message", field="Idempotency-Key")
    job = await _job_or_404(gw, str(job_id))
    await call_engine(gw.number_log.touch, lane.phone_number_id, wa_id)
    gw.metrics.enqueued.labels(kind=str(graph.get("type", "unknown"))).inc()
    log.info("queued", extra={"job_id": job["id"], "key_id": key_info.id})
    return job


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["messages"], summary="A job and its status history")
async def get_job(request: Request, key: Authenticated, job_id: JobId) -> dict[str, Any]:
    """The job's state, wamid, error and history."""
    return await _job_or_404(gateway(request), job_id, key)


@router.get("/jobs", response_model=JobList, tags=["messages"], summary="List jobs")
async def list_jobs(
    request: Request,
    key: Authenticated,
    state: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")] = None,
    to: Annotated[str | None, Query(max_length=140, pattern=_TO_FILTER)] = None,
    campaign: Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    number: NumberQuery = None,
) -> dict[str, Any]:
    """Jobs, optionally by state, recipient, campaign or business number (default: every number the key
    may use)."""
    gw = gateway(request)
    outbox = _need(gw.outbox, "the outbox")
    wanted = filter_numbers(gw, key, number)
    filters: dict[str, Any] = {"limit": limit}
    if state:
        filters["state"] = state
    if campaign:
        filters["campaign"] = campaign
    if to:
        try:
            filters["to"] = address(to)  # a phone number or a BSUID
        except errors.ValidationError as exc:
            raise ApiError(422, exc.reason, field="to") from None
    try:
        if len(gw.numbers) <= 1 and wanted is None:
            found = await call_engine(outbox.jobs, **filters)
        else:
            lanes = [gw.lane(pid) for pid in wanted] if wanted is not None else list(gw.numbers)
            found = []
            for lane in lanes:
                if lane is not None:
                    found += await call_engine(lane.outbox.jobs, **filters)
            found = sorted(found, key=lambda j: j.id)[:limit]
    except (ValueError, errors.ValidationError) as exc:
        raise ApiError(422, str(exc)[:300]) from None
    histories = await call_engine(outbox.histories, [j.id for j in found])
    return {"jobs": [job_dict(j, histories.get(j.id, [])) for j in found]}


@router.get(
    "/messages/{wamid}",
    response_model=JobOut,
    tags=["messages"],
    summary="The job that sent a message, by its wamid",
)
async def get_by_wamid(
    request: Request, key: Authenticated, wamid: Annotated[str, Path(min_length=1, max_length=256)]
) -> dict[str, Any]:
    """Find a job by the wamid Meta gave it."""
    outbox = _need(gateway(request).outbox, "the outbox")
    job: Job | None = await call_engine(outbox.job_by_wamid, wamid)
    if job is None:
        raise ApiError(404, f"no job sent {wamid!r}", field="wamid")
    require_number(key, job.phone_number_id, field="wamid")
    return job_dict(job, await call_engine(outbox.history, job.id))


@router.post(
    "/messages/{wamid}/read",
    response_model=MarkedRead,
    tags=["messages"],
    summary="Mark a customer's message read (blue ticks), optionally with a typing indicator",
)
async def mark_read(
    request: Request,
    key: Authenticated,
    wamid: Annotated[str, Path(min_length=1, max_length=256)],
    typing: Annotated[bool, Query(description="also show a typing indicator (up to 25 s)")] = False,
    number: NumberQuery = None,
) -> dict[str, Any]:
    """Mark an incoming message read, now (not through the outbox: it is not a message), by the number
    it was sent to (``number``, else the one the log knows, else the default number)."""
    gw = gateway(request)
    client = _need(gw.client, "the Cloud API client")
    if len(gw.numbers):
        sender = number or await call_engine(gw.number_log.number_of, wamid)
        client = sending_lane(gw, key, sender or gw.numbers.ids()[0], field="number").client
    try:
        return {"success": bool(await client.mark_as_read(wamid, typing=typing))}
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field=exc.field) from None
    except errors.WhatsAppError as exc:
        raise whatsapp_error(exc) from None


# --- conversations --------------------------------------------------------------------------------


@router.get(
    "/conversations",
    response_model=ConversationList,
    tags=["conversations"],
    summary="Customers the business talked with, most recent first",
)
async def conversations(
    request: Request, key: Authenticated, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    number: NumberQuery = None,
) -> dict[str, Any]:
    """One entry per customer (of one business number with ``number``)."""
    gw = gateway(request)
    wanted = filter_numbers(gw, key, number)
    if wanted is None:
        return {"conversations": await call_engine(gw.history.conversations, limit=limit)}
    customers: set[str] = set()
    for pid in wanted:
        customers |= await call_engine(gw.number_log.wa_ids, pid)
    everyone = await call_engine(gw.history.conversations, limit=max(limit, len(customers)) * 4)
    return {"conversations": [c for c in everyone if str(c.get("wa_id")) in customers][:limit]}


@router.get(
    "/conversations/{wa_id}/messages",
    response_model=MessageList,
    tags=["conversations"],
    summary="A customer's messages, both directions",
)
async def customer_messages(
    request: Request,
    key: Authenticated,
    wa_id: WaId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    number: NumberQuery = None,
) -> dict[str, Any]:
    """Oldest first; page back with ``before`` (a ``ts``); ``number`` keeps one business number's. ``wa_id``
    may be any id of the customer (phone number, BSUID, ``@username``, contact id): the conversation is the
    person's, whichever id each message used."""
    gw = gateway(request)
    wanted = filter_numbers(gw, key, number)
    who = wa_id.lstrip("+") if wa_id.lstrip("+").isdigit() else wa_id
    try:
        person = await call_engine(gw.outbox.contact, who) if gw.outbox is not None else None
    except errors.ValidationError:
        person = None  # not an id anyone can have: the log is searched for it as given
    ids = [i for i in (person.ids.as_dict().values() if person is not None and person.ids else ()) if i]
    found = await call_engine(gw.history.messages, who, limit=limit, before=before, ids=ids)
    if wanted is not None:
        found = [m for m in found if await call_engine(_number_of_message, gw, m.job_id, m.wamid) in wanted]
    return {"wa_id": who, "messages": [m.as_dict() for m in found]}


def _number_of_message(gw: Gateway, job_id: str | None, wamid: str | None) -> str | None:
    """The business number of one logged message: its job's, else its wamid's (None: unknown)."""
    if job_id and gw.outbox is not None:
        job = gw.outbox.job(job_id)
        if job is not None:
            return job.phone_number_id
    return gw.number_log.number_of(wamid) if wamid else None


# --- campaigns ------------------------------------------------------------------------------------


@router.post(
    "/campaigns",
    status_code=202,
    response_model=CampaignOut | CampaignDryRun,
    tags=["campaigns"],
    summary="Send one template to many recipients",
)
async def start_campaign(request: Request, key: Authenticated, campaign: CampaignIn,
                         dry_run: Annotated[bool, Query(description="report what it would do; queue nothing")] = False
                         ) -> dict[str, Any]:
    """Queue the campaign from one business number (``from``); watch it with GET /v1/campaigns/{id}.
    ``?dry_run=true`` queues nothing."""
    gw = gateway(request)
    lane = sending_lane(gw, key, campaign.from_) if len(gw.numbers) else None
    try:
        if dry_run:
            return await campaigns.dry_run(gw, campaign, lane)
        return await campaigns.start(gw, campaign, lane)
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field=exc.field) from None


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    tags=["campaigns"],
    summary="A campaign's progress",
)
async def campaign_progress(request: Request, key: Authenticated, campaign_id: JobId) -> dict[str, Any]:
    """Jobs by state and failures by code."""
    gw = gateway(request)
    found = None
    lanes: list[NumberLane | None] = [lane for lane in gw.numbers if key.may_use(lane.phone_number_id)]
    for lane in lanes or [None]:
        found = await campaigns.progress(gw, campaign_id, lane)
        if found is not None:
            break
    if found is None:
        raise ApiError(404, f"no campaign {campaign_id!r}", field="campaign_id")
    return found


# --- API keys -------------------------------------------------------------------------------------


@router.get("/keys", response_model=KeyList, tags=["keys"], summary="List API keys")
async def list_keys(request: Request, _: Authenticated) -> dict[str, Any]:
    """Every key's id, name and state (never the key)."""
    return {"keys": [k.as_dict() for k in await call_engine(gateway(request).keys.list)]}


@router.post("/keys", status_code=201, response_model=NewKeyOut, tags=["keys"], summary="Create an API key")
async def create_key(request: Request, caller: Authenticated, body: KeyIn | None = None) -> dict[str, Any]:
    """A new key (limited to ``numbers`` when given); the answer is the only place it is ever shown.

    A key limited to some numbers can only make keys limited to some of those."""
    gw = gateway(request)
    numbers = None
    if body is not None and body.numbers is not None:
        numbers = [sending_lane(gw, caller, n, field="numbers").phone_number_id for n in body.numbers]
    elif caller.numbers is not None:
        numbers = list(caller.numbers)
    info, key = await call_engine(gw.keys.create, body.name if body else "default", numbers,
                                   body.role if body else "admin")
    return {**info.as_dict(), "key": key}


@router.delete("/keys/{key_id}", response_model=KeyOut, tags=["keys"], summary="Revoke an API key")
async def revoke_key(
    request: Request,
    _: Authenticated,
    key_id: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")],
) -> dict[str, Any]:
    """Revoke a key: every later request with it gets 401."""
    keys = gateway(request).keys
    if not await call_engine(keys.revoke, key_id):
        raise ApiError(404, f"no active key {key_id!r}", field="key_id")
    info: KeyInfo | None = await call_engine(keys.get, key_id)
    assert info is not None
    return info.as_dict()


__all__ = ["gateway", "router"]
