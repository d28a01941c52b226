"""Campaigns through the gateway: one template to many recipients, each an outbox job, with progress.

Each recipient's job has the idempotency key ``campaign:{id}:{wa_id}``, so a retried start never sends
twice. The campaign's job list lives in the gateway database; states are read from the outbox and
cached here once final, so watching a large campaign stays cheap.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from typing import Any

from wacloud import errors
from wacloud.server.runtime import Gateway
from wacloud.server.schemas import CampaignIn, Recipient

#: States after which a job never changes again (except read receipts, which we still count).
FINAL_STATES = frozenset({"read", "failed", "dead", "uncertain", "cancelled", "expired"})
_WATCHED_AFTER_ACCEPT = frozenset({"accepted", "sent", "delivered"})


def _tables(gw: Gateway) -> None:
    db = gw.db
    if gw.extras.get("campaign_tables"):
        return
    db.execute("""CREATE TABLE IF NOT EXISTS wacloud_gw_campaigns (
        id TEXT PRIMARY KEY, name TEXT, template TEXT NOT NULL, language TEXT NOT NULL,
        total INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL)""")
    db.execute("""CREATE TABLE IF NOT EXISTS wacloud_gw_campaign_jobs (
        campaign_id TEXT NOT NULL, job_id TEXT NOT NULL, wa_id TEXT NOT NULL, state TEXT, code INTEGER,
        PRIMARY KEY (campaign_id, job_id))""")
    gw.extras["campaign_tables"] = True


def template_body(to: str, template: str, language: str, recipient: Recipient) -> dict[str, Any]:
    """The Graph send body of one campaign message."""
    params: list[dict[str, Any]] = [{"type": "text", "text": p} for p in recipient.parameters]
    params += [{"type": "text", "parameter_name": k, "text": v} for k, v in recipient.named.items()]
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {"name": template, "language": {"code": language}},
    }
    if params:
        body["template"]["components"] = [{"type": "body", "parameters": params}]
    return body


async def start(gw: Gateway, campaign: CampaignIn) -> dict[str, Any]:
    """Validate every recipient, queue one job each, and return the campaign's first progress."""
    from wacloud import messages
    from wacloud.phone import normalize
    from wacloud.server.api import ApiError, call, enqueue

    outbox = gw.outbox
    if outbox is None:
        raise ApiError(503, "the outbox is not available in this process")
    await call(_tables, gw)
    parsed = []
    for i, rcpt in enumerate(campaign.recipients):
        try:
            wa_id = normalize(rcpt.to).wa_id
            body = template_body(wa_id, campaign.template, campaign.language, rcpt)
            parsed.append((wa_id, messages.parse(body)))
        except errors.ValidationError as exc:
            raise ApiError(422, exc.reason, field=f"recipients.{i}.{exc.field}") from None
    campaign_id = "cmp_" + secrets.token_hex(6)
    await call(
        gw.db.execute,
        "INSERT INTO wacloud_gw_campaigns (id, name, template, language, total, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (campaign_id, campaign.name, campaign.template, campaign.language, len(parsed), time.time()),
    )
    extra: dict[str, Any] = {"category": campaign.category} if campaign.category else {}
    for wa_id, req in parsed:
        try:
            job_id = await enqueue(outbox, req, key=f"campaign:{campaign_id}:{wa_id}", **extra)
        except errors.ValidationError as exc:
            raise ApiError(422, exc.reason, field=exc.field) from None
        await call(
            gw.db.execute,
            "INSERT INTO wacloud_gw_campaign_jobs (campaign_id, job_id, wa_id) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (campaign_id, job_id, wa_id),
        )
        await call(gw.history.record_outbound, wa_id, job_id, req.to_graph())
    gw.metrics.enqueued.labels(kind="campaign").inc(len(parsed))
    result = await progress(gw, campaign_id)
    assert result is not None
    return result


async def progress(gw: Gateway, campaign_id: str) -> dict[str, Any] | None:
    """Jobs by state and failures by code; None for an unknown campaign."""
    from wacloud.server.api import call
    from wacloud.server.jobs import job_dict

    await call(_tables, gw)
    rows = await call(
        gw.db.execute, "SELECT total, name, template FROM wacloud_gw_campaigns WHERE id = ?", (campaign_id,)
    )
    if not rows:
        return None
    total, name, template = rows[0]
    jobs = await call(
        gw.db.execute,
        "SELECT job_id, state, code FROM wacloud_gw_campaign_jobs WHERE campaign_id = ?",
        (campaign_id,),
    )
    states: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for job_id, state, code in jobs:
        if state not in FINAL_STATES and gw.outbox is not None:
            found = await call(gw.outbox.job, job_id)
            if found is not None:
                data = job_dict(found)
                state = data["state"]
                code = (data.get("error") or {}).get("code")
                if state in FINAL_STATES:
                    await call(
                        gw.db.execute,
                        "UPDATE wacloud_gw_campaign_jobs SET state = ?, code = ? "
                        "WHERE campaign_id = ? AND job_id = ?",
                        (state, code, campaign_id, job_id),
                    )
        states[state or "queued"] += 1
        if state in ("failed", "dead"):
            failed[str(code or 0)] += 1
    pending = sum(n for s, n in states.items() if s not in FINAL_STATES and s not in _WATCHED_AFTER_ACCEPT)
    return {
        "id": campaign_id,
        "name": name,
        "template": template,
        "total": int(total),
        "states": dict(states),
        "failed_by_code": dict(failed),
        "done": pending == 0,
    }
