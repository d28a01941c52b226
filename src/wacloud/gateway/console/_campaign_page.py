"""The campaign list and one campaign's page: live progress (a uPlot chart of the jobs by state and the
failures by code over time, a funnel), its state and schedule, the pause / resume / cancel buttons and the
per-recipient results as CSV. Each action is the number's ``outbox.campaigns``
(:class:`wacloud.delivery.CampaignOps`), as the HTTP API's ``/v1/campaigns/{id}/{action}`` calls it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

import wacloud.gateway._campaigns as campaigns
from wacloud import errors
from wacloud.gateway._calls import call_engine
from wacloud.gateway._numbers import NumberLane
from wacloud.gateway.console._campaigns import first_step, schedule_time
from wacloud.gateway.console._live import head
from wacloud.gateway.console._render import PREFIX, page
from wacloud.gateway.console._session import ConsoleUser, audit, checked_form, current_user, field, gateway, lanes

router = APIRouter(prefix=PREFIX, include_in_schema=False)

#: The buttons of a campaign's page, the states each applies to, and the words of its outcome.
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "pause": (("active",), "paused: its jobs not yet sent are held"),
    "resume": (("paused",), "resumed: its held jobs are queued again"),
    "cancel": (("active", "paused"), "cancelled: its jobs not yet sent failed"),
}


@router.get("/campaigns", response_class=HTMLResponse)
async def campaigns_page(request: Request) -> Response:
    """Every campaign of the user's numbers, newest first, and the upload form of a new one."""
    return await first_step(request, await current_user(request))


async def _find(request: Request, user: ConsoleUser, campaign_id: str,
                number: str) -> tuple[NumberLane | None, dict[str, Any] | None]:
    """The campaign's number and progress: the named number first, then the user's others."""
    gw = gateway(request)
    mine = lanes(gw, user)
    for lane in sorted(mine, key=lambda x: x.phone_number_id != number):
        found = await campaigns.progress(gw, campaign_id[:128], lane)
        if found is not None:
            return lane, found
    return None, None


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign(request: Request, campaign_id: str, number: str = "", notice: str = "") -> Response:
    """A campaign's live progress: chart, funnel, failures by code, its state and the actions."""
    user = await current_user(request)
    after = await head(request)
    lane, found = await _find(request, user, campaign_id, number)
    if lane is None or found is None:
        return page(request, "refused.html", user, status=404, reason=f"no campaign {campaign_id[:128]}")
    as_json = json.dumps(found).replace("<", "\\u003c")  # inside a <script> element
    return page(request, "campaign.html", user, c=found, funnel=funnel(found), progress_json=as_json,
                number=lane.phone_number_id, number_shown=lane.display or lane.phone_number_id,
                actions=_actions(found), unstarted=_unstarted(found),
                notice=notice[:300], live_after=after)


def _actions(found: dict[str, Any]) -> list[str]:
    """The buttons that apply: by the campaign's state, none once every job has left the queue."""
    over = found.get("done") and not found.get("states", {}).get("held")
    return [] if over else [a for a, (states, _) in ACTIONS.items() if found.get("state") in states]


def _unstarted(found: dict[str, Any]) -> bool:
    """True while no job of the campaign has left the queue (it can be rescheduled)."""
    states = found.get("states") or {}
    return found.get("state") != "cancelled" and bool(states) and set(states) <= {"queued"}


@router.get("/campaigns/{campaign_id}/progress")
async def progress(request: Request, campaign_id: str, number: str = "") -> Response:
    """The progress as JSON (the page's chart fetches it on each live event) with the funnel."""
    user = await current_user(request)
    _lane, found = await _find(request, user, campaign_id, number)
    if found is None:
        return JSONResponse({"error": {"reason": "no such campaign"}}, status_code=404)
    return JSONResponse({**found, "funnel": funnel(found), "at": time.time()})


@router.post("/campaigns/{campaign_id}/settings")
async def settings(request: Request, campaign_id: str) -> Response:
    """Reschedule a campaign that has not started (``start_at``, UTC; empty: now) or change its budget (empty:
    none), agents and admins; back to its page with what happened."""
    user = await current_user(request)
    form = await checked_form(request, user)
    lane, found = await _find(request, user, campaign_id, field(form, "number"))
    if lane is None or found is None:
        return page(request, "refused.html", user, status=404, reason=f"no campaign {campaign_id[:128]}")
    campaign_id, ops = str(found["id"]), lane.outbox.campaigns
    what = field(form, "change")
    try:
        if what == "schedule":
            start_at = schedule_time(field(form, "start_at"))
            await call_engine(ops.reschedule, campaign_id, start_at)
            notice = f"Campaign {campaign_id} " + (f"moved to {time.strftime('%Y-%m-%d %H:%M', time.gmtime(start_at))} "
                                                   "UTC." if start_at else "starts now.")
        elif what == "budget":
            text = field(form, "budget")
            budget = float(text) if text else None
            await call_engine(ops.set_budget, campaign_id, budget)
            notice = f"Campaign {campaign_id}: budget {'removed' if budget is None else f'set to {budget:g}'}."
        else:
            notice = "campaign: nothing to change"
        outcome = "ok"
    except errors.ValidationError as exc:
        notice = outcome = f"{exc.field}: {exc.reason}"
    except ValueError as exc:  # the form's time or amount
        notice = outcome = f"{what}: {exc}"
    except KeyError:
        notice = outcome = f"campaign: no campaign {campaign_id}"
    await audit(request, user, f"{what or 'change'} campaign", campaign_id, outcome)
    query = urlencode({"number": lane.phone_number_id, "notice": notice})
    return RedirectResponse(f"{PREFIX}/campaigns/{campaign_id}?{query}", status_code=303)


@router.post("/campaigns/{campaign_id}/{action}")
async def act(request: Request, campaign_id: str, action: str) -> Response:
    """Pause, resume or cancel the campaign (agents and admins); back to its page with what happened."""
    user = await current_user(request)
    form = await checked_form(request, user)
    lane, found = await _find(request, user, campaign_id, str(form.get("number") or ""))
    if action not in ACTIONS or lane is None or found is None:
        return page(request, "refused.html", user, status=404, reason=f"no campaign {campaign_id[:128]}")
    campaign_id = str(found["id"])
    try:
        await call_engine(getattr(lane.outbox.campaigns, action), campaign_id)
        notice = f"Campaign {campaign_id} {ACTIONS[action][1]}."
        outcome = "ok"
    except errors.ValidationError as exc:
        notice = outcome = f"campaign: {exc.reason}"
    except KeyError:
        notice = outcome = f"campaign: no campaign {campaign_id}"
    if action == "resume":
        lane.workers.restart()  # a worker sleeping on the held jobs' time picks them up now
    await audit(request, user, f"{action} campaign", campaign_id, outcome)
    query = urlencode({"number": lane.phone_number_id, "notice": notice})
    return RedirectResponse(f"{PREFIX}/campaigns/{campaign_id}?{query}", status_code=303)


@router.get("/campaigns/{campaign_id}/export.csv")
async def export(request: Request, campaign_id: str, number: str = "") -> Response:
    """The per-recipient results (recipient, state, wamid, code, detail, cost) as a CSV download."""
    user = await current_user(request)
    lane, found = await _find(request, user, campaign_id, number)
    if lane is None or found is None:
        return page(request, "refused.html", user, status=404, reason=f"no campaign {campaign_id[:128]}")
    ops, cid = lane.outbox.campaigns, str(found["id"])
    try:
        lines: Iterator[str] = await call_engine(lambda: iter(list(ops.export(cid))))
    except KeyError:  # queued before campaigns were recorded: no per-recipient export
        return page(request, "refused.html", user, status=404, reason=f"campaign {cid} has no recorded results")
    await audit(request, user, "export campaign", cid)
    return StreamingResponse(lines, media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{cid}.csv"'})


#: The states that count as having reached each funnel step.
_REACHED = {
    "accepted": ("accepted", "sent", "delivered", "read"),
    "delivered": ("delivered", "read"),
    "read": ("read",),
}


def funnel(found: dict[str, Any]) -> list[tuple[str, int]]:
    """Recipients → accepted → delivered → read, and failed."""
    states: dict[str, int] = found.get("states", {})
    steps = [("recipients", int(found.get("total", 0)))]
    steps += [(step, sum(states.get(s, 0) for s in reached)) for step, reached in _REACHED.items()]
    steps.append(("failed", states.get("failed", 0) + states.get("dead", 0)))
    return steps
