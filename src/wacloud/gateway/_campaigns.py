"""Campaigns through the gateway: :meth:`Outbox.broadcast` to start, :meth:`Outbox.summary` to watch.

Each recipient's job carries the campaign id and the idempotency key ``campaign:{id}:{wa_id}``, so
starting a campaign again with the same ``id`` queues nobody twice.
"""

from __future__ import annotations

import secrets
from typing import Any

from wacloud import errors
from wacloud.client import AsyncClient
from wacloud.delivery import Recipient, Summary
from wacloud.gateway._api_errors import ApiError
from wacloud.gateway._calls import call_engine
from wacloud.gateway._numbers import NumberLane
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._schemas import CampaignIn
from wacloud.gateway._schemas import Recipient as RecipientIn
from wacloud.templates import TemplateMismatch
from wacloud.templates.fill import Prepared, prepare

#: States after which the outbox will not send a job again and nothing but read receipts can change.
_PENDING = frozenset({"queued", "claimed", "sending"})


def summary_dict(campaign_id: str, summary: Summary) -> dict[str, Any]:
    """The API's CampaignOut shape from the outbox's Summary."""
    states = {str(k): int(v) for k, v in summary.by_state.items() if v}
    return {
        "id": campaign_id,
        "total": int(summary.total),
        "states": states,
        "failed_by_code": {str(k): int(v) for k, v in summary.failed_by_code.items()},
        "done": not any(s in _PENDING for s in states),
    }


async def start(gw: Gateway, campaign: CampaignIn, lane: NumberLane | None = None) -> dict[str, Any]:
    """Check the campaign against its template, queue it to every valid recipient, return the progress.

    An unknown template or a parameter no value gives refuses the whole campaign (422, nothing queued);
    values that fill no parameter are ignored with a warning; a bad recipient refuses the campaign
    too unless ``skip_invalid``, when it is listed in ``invalid`` and the others are queued. ``lane`` is
    the number that sends (default: the first).
    """
    outbox = lane.outbox if lane is not None else gw.outbox
    if outbox is None:
        raise ApiError(503, "the outbox is not available in this process")
    campaign_id = campaign.id or "cmp_" + secrets.token_hex(6)
    rows = [_values(r) for r in campaign.recipients]
    invalid: list[dict[str, Any]] = []
    warnings: list[str] = []
    prepared = await _prepare(lane.client if lane is not None else gw.client, campaign, rows, warnings)
    recipients: list[Recipient] = []
    positions: list[int] = []  # the campaign index of each recipient handed to the outbox
    for i, r in enumerate(campaign.recipients):
        if prepared is None:
            recipients.append(Recipient(r.to, dict(r.named) if r.named else list(r.parameters)))
        elif prepared.components[i] is None:
            continue
        else:
            recipients.append(Recipient(r.to, components=prepared.components[i]))
        positions.append(i)
    if prepared is not None:
        invalid += [{"index": i, "field": f"recipients.{i}.{column}", "reason": why}
                    for i, column, why in prepared.invalid]
    if invalid and not campaign.skip_invalid:
        first = invalid[0]
        raise ApiError(422, first["reason"], field=first["field"])
    # Each chunk's conversation-log rows are written in the transaction that stores its jobs.
    kwargs: dict[str, Any] = {"language": campaign.language, "campaign": campaign_id,
                              "strict": not campaign.skip_invalid, "on_stored": gw.history.log_queued}
    if campaign.category is not None:
        kwargs["category"] = campaign.category
    kwargs.update(limit_kwargs(campaign))
    try:
        result = await call_engine(outbox.broadcast, campaign.template, recipients, **kwargs) if recipients else None
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field=exc.field.replace("[", ".").replace("]", "")) from None
    if result is not None:
        for row, why in result.invalid:
            # The outbox numbers the rows it was given from 1; map them back to the campaign's index.
            i = positions[row - 1]
            field, _, reason = why.partition(": ")
            invalid.append({"index": i, "field": f"recipients.{i}.{field}", "reason": reason or why})
        gw.metrics.enqueued.labels(kind="campaign").inc(result.queued)
        if lane is not None:
            await call_engine(_touch_all, gw, lane.phone_number_id, [r.to for r in recipients])
    found = await progress(gw, campaign_id, lane)
    if found is None:  # nobody was queued: every recipient was invalid
        found = {"id": campaign_id, "total": 0, "states": {}, "failed_by_code": {}, "done": True}
    found["duplicates"] = result.duplicates if result is not None else 0
    found["warnings"] = warnings
    found["invalid"] = sorted(invalid, key=lambda d: int(d["index"]))
    return found


def _values(r: RecipientIn) -> dict[str, str]:
    """A recipient's parameters by column name: ``parameters`` are ``1``, ``2``…, then ``named``, ``values``."""
    return {**{str(n): v for n, v in enumerate(r.parameters, start=1)}, **r.named, **r.values}


def _touch_all(gw: Gateway, phone_number_id: str, recipients: list[str]) -> None:
    """The campaign's customers now have a conversation with the sending number."""
    digits = ("".join(c for c in str(to) if c.isdigit()) for to in recipients)
    gw.number_log.touch_many(phone_number_id, [d for d in digits if d])


async def _prepare(
    client: AsyncClient | None, campaign: CampaignIn, rows: list[dict[str, str]], warnings: list[str]
) -> Prepared | None:
    """Fill and check every recipient against the template's definition (None when it cannot be fetched)."""
    if client is None or not client.waba_id:
        warnings.append("the template was not checked before queueing: set WACLOUD_WABA_ID to check it")
        return None
    try:
        page = await client.list_templates(name=campaign.template, limit=100)
    except errors.TransportError as exc:
        raise ApiError(502, f"could not fetch template {campaign.template!r} to check it: {exc}") from None
    except errors.WhatsAppError as exc:
        raise ApiError(502, f"could not fetch template {campaign.template!r} to check it: {exc}",
                       code=exc.code) from None
    template = {"name": campaign.template, "language": {"code": campaign.language}}
    try:
        prepared: Prepared = await call_engine(prepare, template, page.data, rows, campaign.values)
    except TemplateMismatch as exc:
        field = {"template.name": "template", "template.language.code": "language"}.get(exc.field)
        raise ApiError(422, exc.reason, field=field or f"values.{exc.field}", code=exc.code) from None
    warnings.extend(prepared.warnings)
    return prepared


async def progress(gw: Gateway, campaign_id: str, lane: NumberLane | None = None) -> dict[str, Any] | None:
    """Jobs by state and failures by code (of ``lane``'s number, default the first); None for an unknown
    campaign."""
    outbox = lane.outbox if lane is not None else gw.outbox
    if outbox is None:
        return None
    summary: Summary = await call_engine(outbox.summary, campaign_id)
    if not summary.total:
        return None
    found = summary_dict(campaign_id, summary)
    found["recovered"] = await call_engine(outbox.recovered, campaign_id)
    try:
        report = await call_engine(outbox.campaigns.report, campaign_id)
    except KeyError:  # queued before campaigns were recorded
        return found
    found.update({k: v for k, v in report.as_dict().items()
                  if k in ("state", "held", "budget", "api", "start_at", "cost", "estimated", "currency", "eta_s")})
    return found


def limit_kwargs(campaign: CampaignIn) -> dict[str, Any]:
    """``broadcast`` arguments for the campaign's budget, API, its options and schedule."""
    out: dict[str, Any] = {}
    if campaign.budget is not None:
        out["budget"] = campaign.budget
    if campaign.api is not None:
        out["api"] = campaign.api
    options = {k: v for k, v in (("product_policy", campaign.product_policy),
                                 ("message_activity_sharing", campaign.message_activity_sharing),
                                 ("ttl_seconds", campaign.ttl_seconds)) if v is not None}
    if options:
        out["api_options"] = options
    if campaign.start_at is not None:
        out["not_before"] = campaign.start_at
    return out


async def dry_run(gw: Gateway, campaign: CampaignIn, lane: NumberLane | None = None) -> dict[str, Any]:
    """What the campaign would do now, nothing queued: recipients by state, template, holds, cost, duration
    (from ``lane``, the sending number: its outbox, and its WABA's templates)."""
    outbox = lane.outbox if lane is not None else gw.outbox
    if outbox is None:
        raise ApiError(503, "the outbox is not available in this process")
    status = None
    client = lane.client if lane is not None else gw.client
    if client is not None and client.waba_id:
        try:
            page = await client.list_templates(name=campaign.template, limit=100)
            def field(t: Any, name: str) -> Any:
                return t.get(name) if isinstance(t, dict) else getattr(t, name, None)

            match = [t for t in page.data if field(t, "name") == campaign.template
                     and field(t, "language") == campaign.language]
            status = str(field(match[0], "status") or "") if match else "MISSING"
        except (errors.TransportError, errors.WhatsAppError):
            status = None  # the store's knowledge (webhooks) stands in
    result = await call_engine(outbox.campaigns.dry_run, campaign.template, [r.to for r in campaign.recipients],
                               language=campaign.language, category=campaign.category or "marketing",
                               budget=campaign.budget, template_status=status)
    out: dict[str, Any] = result.as_dict()
    out["id"] = campaign.id
    return out
