"""Campaigns through the gateway: :meth:`Outbox.broadcast` to start, :meth:`Outbox.summary` to watch.

Each recipient's job carries the campaign id and the idempotency key ``campaign:{id}:{wa_id}``, so
starting a campaign again with the same ``id`` queues nobody twice.
"""

from __future__ import annotations

import secrets
from typing import Any

from wacloud import errors
from wacloud.server.runtime import Gateway
from wacloud.server.schemas import CampaignIn

#: States after which the outbox will not send a job again and nothing but read receipts can change.
_PENDING = frozenset({"queued", "claimed", "sending"})


def summary_dict(campaign_id: str, summary: Any) -> dict[str, Any]:
    """The API's CampaignOut shape from the outbox's Summary."""
    states = {str(k): int(v) for k, v in summary.by_state.items() if v}
    return {
        "id": campaign_id,
        "total": int(summary.total),
        "states": states,
        "failed_by_code": {str(k): int(v) for k, v in summary.failed_by_code.items()},
        "done": not any(s in _PENDING for s in states),
    }


async def start(gw: Gateway, campaign: CampaignIn) -> dict[str, Any]:
    """Queue the template to every recipient (all validated first) and return the first progress."""
    from wacloud.delivery import Recipient
    from wacloud.server.api import ApiError, call

    outbox = gw.outbox
    if outbox is None:
        raise ApiError(503, "the outbox is not available in this process")
    campaign_id = campaign.id or "cmp_" + secrets.token_hex(6)
    recipients = [Recipient(r.to, dict(r.named) if r.named else list(r.parameters)) for r in campaign.recipients]
    kwargs: dict[str, Any] = {"language": campaign.language, "campaign": campaign_id, "strict": True}
    if campaign.category is not None:
        kwargs["category"] = campaign.category
    template: Any = campaign.template
    try:
        result = await call(outbox.broadcast, template, recipients, **kwargs)
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field=exc.field.replace("[", ".").replace("]", "")) from None
    await call(_log_new_jobs, gw, campaign_id, set(result.job_ids))
    gw.metrics.enqueued.labels(kind="campaign").inc(result.queued)
    found = await progress(gw, campaign_id)
    assert found is not None
    found["duplicates"] = result.duplicates
    return found


def _log_new_jobs(gw: Gateway, campaign_id: str, new_ids: set[str]) -> None:
    """Write the campaign's newly queued jobs to the conversation log, a page at a time."""
    after: str | None = None
    while True:
        page = gw.outbox.jobs(campaign=campaign_id, after=after, limit=1000)
        if not page:
            return
        gw.history.record_outbound_many([(j.to, j.id, dict(j.body)) for j in page if j.id in new_ids])
        after = page[-1].id


async def progress(gw: Gateway, campaign_id: str) -> dict[str, Any] | None:
    """Jobs by state and failures by code; None for an unknown campaign."""
    from wacloud.server.api import call

    if gw.outbox is None:
        return None
    summary = await call(gw.outbox.summary, campaign_id)
    if not summary.total:
        return None
    found = summary_dict(campaign_id, summary)
    found["recovered"] = await call(gw.outbox.recovered, campaign_id)
    return found
