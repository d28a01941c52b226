"""Campaign operations and costs in the HTTP API: list, pause, resume, cancel, reschedule, budget, export,
cost roll-ups, reconciliation with Meta's ``pricing_analytics``, the limits the engine knows.

Each route calls :class:`wacloud.delivery.campaigns.CampaignOps` (``outbox.campaigns``), which the web
console and the CLI use too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from wacloud import errors
from wacloud.delivery import Outbox
from wacloud.delivery.costs import GROUP_BY
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._calls import call_engine
from wacloud.gateway._numbers_api import NumberQuery, lane_for
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._schemas import CampaignOut

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

CampaignId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
ACTIONS = ("pause", "resume", "cancel")


class CampaignList(BaseModel):
    """Every campaign of the number, newest first."""

    campaigns: list[CampaignOut]


class CostRowOut(BaseModel):
    """One group: messages, billable ones, what the statuses' pricing says it cost, the estimate."""

    key: str
    messages: int
    billable: int
    cost: float
    estimated: float


class CostsOut(BaseModel):
    """A cost roll-up."""

    group_by: str
    currency: str
    rate_card: dict[str, str] = Field(description="as_of and source of the rate card in use")
    rows: list[CostRowOut]
    total: float


class ReconcileOut(BaseModel):
    """The store's cost against Meta's ``pricing_analytics`` for one period."""

    since: float
    until: float
    ours: dict[str, float] = Field(description="cost, billable")
    meta: dict[str, float] = Field(description="cost, volume")
    difference: float
    currency: str


class RateCardOut(BaseModel):
    """The rate card now in use."""

    markets: int
    currency: str
    as_of: str
    source: str


class LimitsOut(BaseModel):
    """The limits the engine knows."""

    portfolio: str
    tier: str | None = Field(description="TIER_250…, a count, or unlimited; null: unknown (not enforced)")
    reached_24h: int = Field(description="unique customers reached outside the window in the rolling 24 h")
    mps: float
    upgrading_until: float | None
    held: dict[str, int] = Field(description="held jobs by reason")


class ReconcileIn(BaseModel):
    """The period to compare (unix times; default: the last 24 hours)."""

    since: int | None = Field(default=None, ge=0)
    until: int | None = Field(default=None, ge=0)


def _outbox(request: Request) -> Outbox:
    gw: Gateway = request.app.state.gateway
    if gw.outbox is None:
        raise ApiError(503, "the outbox is not available in this process")
    return gw.outbox


@router.get("/campaigns", response_model=CampaignList, tags=["campaigns"], summary="Campaigns with their counts")
async def list_campaigns(request: Request, _: Authenticated) -> dict[str, Any]:
    """Every campaign of the number, newest first: state, jobs by state, held by reason, cost, ETA."""
    reports = await call_engine(_outbox(request).campaigns.all)
    return {"campaigns": [r.as_dict() for r in reports]}


@router.post("/campaigns/{campaign_id}/{action}", response_model=CampaignOut, tags=["campaigns"],
             summary="Pause, resume or cancel")
async def campaign_action(request: Request, _: Authenticated, campaign_id: CampaignId,
                          action: Annotated[str, Path(pattern="^(pause|resume|cancel)$")]) -> dict[str, Any]:
    """``pause`` holds the jobs not yet sent, ``resume`` queues them again, ``cancel`` fails them."""
    ops = _outbox(request).campaigns
    try:
        report = await call_engine(getattr(ops, action), campaign_id)
    except KeyError:
        raise ApiError(404, f"no campaign {campaign_id!r}", field="campaign_id") from None
    except errors.ValidationError as exc:
        raise ApiError(409, exc.reason, field="campaign_id") from None
    out: dict[str, Any] = report.as_dict()
    return out


class CampaignPatch(BaseModel):
    """What to change: fields left out stay as they are."""

    model_config = {"extra": "forbid"}

    start_at: datetime | None = Field(
        default=None, description="when a campaign that has not started should (ISO 8601 or Unix seconds; null "
        "or a time past: now). A started campaign is a 409: pause it and resume it instead")
    budget: float | None = Field(default=None, ge=0, allow_inf_nan=False,
                                 description="its spending cap in the rate card's currency; null removes it")


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut, tags=["campaigns"],
              summary="Reschedule a campaign, or change its budget")
async def update_campaign(request: Request, _: Authenticated, campaign_id: CampaignId,
                          body: CampaignPatch) -> dict[str, Any]:
    """``start_at`` moves a campaign that has not started; ``budget`` sets or removes its cap (jobs held for
    the budget are looked at again). Each change is a ``campaign.progress`` event."""
    ops = _outbox(request).campaigns
    if not body.model_fields_set:
        raise ApiError(422, "nothing to change: give start_at or budget", field="body")
    try:
        if "start_at" in body.model_fields_set:
            await call_engine(ops.reschedule, campaign_id, body.start_at)
        if "budget" in body.model_fields_set:
            await call_engine(ops.set_budget, campaign_id, body.budget)
        report = await call_engine(ops.report, campaign_id)
    except KeyError:
        raise ApiError(404, f"no campaign {campaign_id!r}", field="campaign_id") from None
    except errors.ValidationError as exc:
        field = exc.field if exc.field in ("start_at", "budget") else "campaign_id"
        raise ApiError(409 if field == "campaign_id" else 422, exc.reason, field=field) from None
    out: dict[str, Any] = report.as_dict()
    return out


@router.get("/campaigns/{campaign_id}/export", tags=["campaigns"], summary="Per-recipient CSV",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {
                "type": "string", "description": "recipient,state,wamid,code,detail,cost"}}}}})
async def export_campaign(request: Request, _: Authenticated, campaign_id: CampaignId) -> StreamingResponse:
    """recipient, state, wamid, code, detail, cost: one row per recipient."""
    ops = _outbox(request).campaigns
    try:
        lines: Iterator[str] = await call_engine(lambda: iter(list(ops.export(campaign_id))))
    except KeyError:
        raise ApiError(404, f"no campaign {campaign_id!r}", field="campaign_id") from None
    return StreamingResponse(lines, media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{campaign_id}.csv"'})


@router.get("/costs", response_model=CostsOut, tags=["costs"], summary="Cost roll-ups")
async def costs(request: Request, _: Authenticated,
                group_by: Annotated[str, Query(description=f"one of {', '.join(GROUP_BY)}")] = "campaign",
                campaign: Annotated[str | None, Query(max_length=128)] = None,
                since: Annotated[float | None, Query(ge=0)] = None,
                until: Annotated[float | None, Query(ge=0)] = None) -> dict[str, Any]:
    """Messages, billable ones, cost (from the statuses' ``pricing``) and the pre-send estimate per group."""
    if group_by not in GROUP_BY:
        raise ApiError(422, f"must be one of {', '.join(GROUP_BY)}", field="group_by")
    ob = _outbox(request)
    rows = await call_engine(ob.campaigns.costs, group_by, campaign=campaign, since=since, until=until)
    card = ob.rate_card
    return {"group_by": group_by, "currency": card.currency, "rate_card": {"as_of": card.as_of, "source": card.source},
            "rows": [{"key": r.key, "messages": r.messages, "billable": r.billable, "cost": round(r.cost, 6),
                      "estimated": round(r.estimated, 6)} for r in rows],
            "total": round(sum(r.cost for r in rows), 6)}


@router.post("/costs/reconcile", response_model=ReconcileOut, tags=["costs"],
             summary="Compare the cost with Meta's pricing_analytics")
async def reconcile(request: Request, key: Authenticated, body: ReconcileIn | None = None,
                    number: NumberQuery = None) -> dict[str, Any]:
    """Our cost for the period against ``pricing_analytics`` read from the Graph API now (the WABA of
    ``?number=``, with that number's token; optional when the key's numbers share one WABA)."""
    gw: Gateway = request.app.state.gateway
    ob = _outbox(request)
    until = (body.until if body and body.until else None) or int(time.time())
    since = body.since if body and body.since is not None else max(0, until - 86400)
    if until <= since:
        raise ApiError(422, "until must be after since", field="until")
    client = lane_for(gw, key, number, waba=True).client if len(gw.numbers) else gw.client
    if client is None or not client.waba_id:
        raise ApiError(409, "reconciling needs the WABA id (WACLOUD_WABA_ID)")
    try:
        answer = await client.pricing_analytics(since, until, granularity="DAILY")
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field="since") from None
    except (errors.TransportError, errors.WhatsAppError) as exc:
        raise ApiError(502, f"could not read pricing_analytics: {exc}") from None
    result: dict[str, Any] = await call_engine(ob.campaigns.reconcile, answer.model_dump(), since=since,
                                               until=until)
    return result


@router.post("/ratecard", response_model=RateCardOut, tags=["costs"], summary="Load a rate card (CSV in Meta's layout)",
             openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"schema": {
                 "type": "string", "description": "Market,Currency,Marketing,Utility,Authentication,…"}}}}})
async def load_ratecard(request: Request, _: Authenticated,
                        as_of: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, Any]:
    """The body is the CSV (Market, Currency, Marketing, Utility, Authentication…); kept in the store."""
    raw = await request.body()
    if len(raw) > 1_000_000:
        raise ApiError(413, "a rate card is at most 1 MB", field="body")
    try:
        text = raw.decode("utf-8-sig")
        card = await call_engine(_outbox(request).load_rate_card, text, as_of=as_of)
    except UnicodeDecodeError:
        raise ApiError(422, "the rate card must be UTF-8 text", field="body") from None
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field="body") from None
    return {"markets": len(card.rates), "currency": card.currency, "as_of": card.as_of, "source": card.source}


@router.get("/limits", response_model=LimitsOut, tags=["costs"], summary="The limits the engine knows")
async def limits(request: Request, key: Authenticated, number: NumberQuery = None) -> dict[str, Any]:
    """The portfolio's tier and rolling reach, the number's (``?number=``) rate and upgrade, held jobs by reason."""
    gw: Gateway = request.app.state.gateway
    outbox = lane_for(gw, key, number).outbox if len(gw.numbers) else _outbox(request)
    out: dict[str, Any] = await call_engine(outbox.campaigns.limits)
    return out


__all__ = ["ACTIONS", "router"]
