"""Campaign operations for the gateway, the CLI and the web console: list, pause, resume, cancel, budget,
export, costs and the dry run. :class:`CampaignOps` works on the outbox's store (``outbox.campaigns``).

Pausing holds the campaign's jobs as they are claimed (reason ``campaign_paused``), resuming queues them
again at once, cancelling fails those not yet sent. A campaign's report carries its held counts by
reason, its cost (from the statuses' ``pricing``) and estimate, and an ETA.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from wacloud.delivery._bodies import epoch
from wacloud.delivery._sender import MARKETING_API_KEY
from wacloud.delivery.campaign import recipients_or_errors, template_object
from wacloud.delivery.costs import GROUP_BY, CostRow, RateCard
from wacloud.delivery.holds import HoldReason, LimitsStore, parse_tier, set_tier, template_key
from wacloud.delivery.model import Job, Price, Summary
from wacloud.errors import ValidationError
from wacloud.limits import PORTFOLIO_WINDOW_S, SERVICE_WINDOW_S, limit
from wacloud.phone import wa_id as phone_wa_id

#: Campaign states: ``active`` (sending or scheduled), ``paused``, ``cancelled``.
CAMPAIGN_STATES = ("active", "paused", "cancelled")
#: The APIs a campaign can send with.
APIS = ("cloud_api", "marketing_messages")
#: The columns of a campaign export (one row per recipient).
EXPORT_COLUMNS = ("recipient", "state", "wamid", "code", "detail", "cost")


def _amount(value: object) -> bool:
    """True for a non-negative, finite number (not a bool): a budget."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


class CampaignsStore(LimitsStore, Protocol):
    """The store calls campaign operations use (``_sql_campaigns`` + ``_sql_limits`` + the jobs)."""

    def save_campaign(self, campaign_id: str, phone_number_id: str, now: float, *, budget: float | None = None,
                      api: str | None = None, options: dict[str, Any] | None = None,
                      start_at: float | None = None) -> None: ...
    def campaign_rows(self, phone_number_id: str | None = None,
                      campaign_id: str | None = None) -> list[tuple[Any, ...]]: ...
    def set_campaign(self, campaign_id: str, now: float, *, state: str | None = None,
                     budget: float | None = None, clear_budget: bool = False) -> bool: ...
    def cancel_jobs(self, campaign_id: str, now: float) -> int: ...
    def reschedule_campaign(self, campaign_id: str, start_at: float, now: float) -> int | None: ...
    def held_counts(self, *, campaign: str | None = None,
                    phone_number_id: str | None = None) -> dict[str, tuple[int, float | None]]: ...
    def record_pricing(self, wamid: str, pricing: dict[str, Any], cost: float) -> bool: ...
    def record_prices(self, rows: Sequence[tuple[str, dict[str, Any], float]]) -> None: ...
    def cost_rollup(self, group_by: str, *, phone_number_id: str | None = None, campaign: str | None = None,
                    since: float | None = None, until: float | None = None, limit: int = 1000) -> list[CostRow]: ...
    def export_rows(self, campaign_id: str, *, batch: int = 1000) -> Iterator[tuple[Any, ...]]: ...
    def recipient_states(self, phone_number_id: str, wa_ids: list[str]) -> dict[str, tuple[Any, ...]]: ...
    def summary(self, *, phone_number_id: str | None = None, campaign: str | None = None) -> Summary: ...
    def job_by_wamid(self, wamid: str) -> Job | None: ...


@dataclass(slots=True)
class CampaignReport:
    """One campaign: its settings, jobs by state, held by reason, cost, estimate and ETA."""

    id: str
    state: str
    phone_number_id: str
    summary: Summary
    budget: float | None = None
    api: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    start_at: float | None = None
    created_at: float = 0.0
    held: dict[str, int] = field(default_factory=dict)
    #: What the statuses' ``pricing`` says was charged (rate card prices), and the pre-send estimate.
    cost: float = 0.0
    estimated: float = 0.0
    currency: str = "USD"
    #: Seconds until every job not held by an event-only hold (pause, budget) should be sent; None: never.
    eta_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape the gateway answers with."""
        s = self.summary
        return {"id": self.id, "state": self.state, "phone_number_id": self.phone_number_id,
                "total": s.total, "states": {k: v for k, v in s.by_state.items() if v},
                "failed_by_code": {str(k): v for k, v in s.failed_by_code.items()},
                "held": self.held, "budget": self.budget, "api": self.api, "options": self.options,
                "start_at": self.start_at, "created_at": self.created_at,
                "cost": round(self.cost, 6), "estimated": round(self.estimated, 6),
                "currency": self.currency, "eta_s": self.eta_s}


@dataclass(slots=True)
class DryRun:
    """What a campaign would do, without queueing anything."""

    total: int = 0
    #: Recipients by state: new, in_window, opted_out, capped, invalid.
    recipients: dict[str, int] = field(default_factory=dict)
    invalid: list[tuple[int, str]] = field(default_factory=list)
    template: dict[str, Any] = field(default_factory=dict)
    #: Jobs expected to be held, by reason, against the current limits.
    held: dict[str, int] = field(default_factory=dict)
    sendable: int = 0
    estimated_cost: float = 0.0
    currency: str = "USD"
    #: Seconds to send the sendable ones at the number's rate.
    duration_s: float = 0.0
    portfolio: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape the gateway answers with."""
        return {"dry_run": True, "total": self.total, "recipients": self.recipients,
                "invalid": [{"row": r, "reason": why} for r, why in self.invalid], "template": self.template,
                "held": self.held, "sendable": self.sendable, "estimated_cost": round(self.estimated_cost, 6),
                "currency": self.currency, "duration_s": round(self.duration_s, 3), "portfolio": self.portfolio}


class CampaignOps:
    """Campaign operations on one number's outbox store (the outbox builds one: ``outbox.campaigns``)."""

    def __init__(self, store: CampaignsStore, phone_number_id: str, *, portfolio: str, card: Callable[[], RateCard],
                 mps: Callable[[], float], clock: Callable[[], float] = time.time,
                 wake: Callable[[], None] = lambda: None) -> None:
        self.store = store
        self.phone_number_id = phone_number_id
        self.portfolio = portfolio
        self._card = card
        self._mps = mps
        self.clock = clock
        self._wake = wake

    @property
    def card(self) -> RateCard:
        """The rate card in use."""
        return self._card()

    # --- settings -----------------------------------------------------------------------------------
    def register(self, campaign_id: str, *, budget: float | None = None, api: str | None = None,
                 options: Mapping[str, Any] | None = None, start_at: float | None = None) -> None:
        """Record a campaign's settings (``broadcast`` does it); checks them first."""
        if budget is not None and not _amount(budget):
            raise ValidationError("budget", "must be a non-negative amount")
        if api is not None and api not in APIS:
            raise ValidationError("api", f"must be one of {', '.join(APIS)}")
        self.store.save_campaign(campaign_id, self.phone_number_id, self.clock(),
                                 budget=float(budget) if budget is not None else None, api=api,
                                 options=dict(options or {}), start_at=start_at)

    def _row(self, campaign_id: str) -> tuple[Any, ...]:
        rows = self.store.campaign_rows(campaign_id=campaign_id)
        if not rows:
            raise KeyError(campaign_id)
        return rows[0]

    # --- operations ---------------------------------------------------------------------------------
    def all(self) -> list[CampaignReport]:
        """This number's campaigns, newest first, with their counts."""
        return [self._report(r) for r in self.store.campaign_rows(phone_number_id=self.phone_number_id)]

    def report(self, campaign_id: str) -> CampaignReport:
        """One campaign's report; ``KeyError`` when unknown."""
        return self._report(self._row(campaign_id))

    def pause(self, campaign_id: str) -> CampaignReport:
        """Hold the campaign's jobs (as they are claimed) until :meth:`resume`."""
        self._row(campaign_id)
        if self._row(campaign_id)[2] == "cancelled":
            raise ValidationError("campaign", "a cancelled campaign cannot be paused")
        self.store.set_campaign(campaign_id, self.clock(), state="paused")
        return self.report(campaign_id)

    def resume(self, campaign_id: str) -> CampaignReport:
        """Send the campaign again: its paused jobs go back to the queue now."""
        if self._row(campaign_id)[2] == "cancelled":
            raise ValidationError("campaign", "a cancelled campaign cannot be resumed")
        now = self.clock()
        self.store.set_campaign(campaign_id, now, state="active")
        self.store.wake_holds(HoldReason.CAMPAIGN_PAUSED.value, campaign_id, now)
        self._wake()
        return self.report(campaign_id)

    def cancel(self, campaign_id: str) -> CampaignReport:
        """Fail every job of the campaign not yet sent (detail ``campaign cancelled``)."""
        self._row(campaign_id)
        now = self.clock()
        self.store.set_campaign(campaign_id, now, state="cancelled")
        self.store.cancel_jobs(campaign_id, now)
        return self.report(campaign_id)

    def set_budget(self, campaign_id: str, budget: float | None) -> CampaignReport:
        """Change (or remove, with None) a campaign's budget; jobs held for it are looked at again."""
        if budget is not None and not _amount(budget):
            raise ValidationError("budget", "must be a non-negative amount")
        self._row(campaign_id)
        now = self.clock()
        self.store.set_campaign(campaign_id, now, budget=budget, clear_budget=budget is None)
        self.store.wake_holds(HoldReason.BUDGET.value, campaign_id, now)
        self._wake()
        return self.report(campaign_id)

    def reschedule(self, campaign_id: str, start_at: datetime | float | None) -> CampaignReport:
        """Move a campaign that has not started yet to ``start_at`` (None, or a time past: now). One that has
        started (a job left the queue) is refused: pause it, and resume it when it should go on."""
        now = self.clock()
        refused = ValidationError("start_at", "must be a time (ISO 8601 or Unix seconds), or null for now")
        if isinstance(start_at, bool):
            raise refused
        try:
            when = epoch(start_at, now)
        except ValidationError:
            raise refused from None
        if self._row(campaign_id)[2] == "cancelled":
            raise ValidationError("campaign", "a cancelled campaign cannot be rescheduled")
        moved = self.store.reschedule_campaign(campaign_id, max(now, when) if when is not None else now, now)
        if moved is None:
            raise ValidationError("campaign", "the campaign has started (a message left the queue): pause it and "
                                  "resume it when it should go on")
        self._wake()
        return self.report(campaign_id)

    def export(self, campaign_id: str) -> Iterator[str]:
        """The per-recipient CSV (:data:`EXPORT_COLUMNS`), line by line, header first."""
        self._row(campaign_id)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(EXPORT_COLUMNS)
        yield buf.getvalue()
        for recipient, state, wamid, code, detail, cost, _est, hold in self.store.export_rows(campaign_id):
            buf.seek(0)
            buf.truncate()
            writer.writerow([recipient, state, wamid or "", code if code is not None else "",
                             detail or (hold or ""), f"{cost:.6f}" if cost is not None else ""])
            yield buf.getvalue()

    # --- costs --------------------------------------------------------------------------------------
    def record_pricing(self, wamid: str, pricing: Mapping[str, Any], wa_id: str | None = None) -> bool:
        """Store a status's ``pricing`` with its job and the charge the rate card gives it."""
        job = self.store.job_by_wamid(wamid)
        if job is None:
            return False
        cost = self.card.charge(pricing, wa_id or job.to)
        return self.store.record_pricing(wamid, dict(pricing), cost)

    def record_prices(self, prices: Sequence[Price]) -> None:
        """:meth:`record_pricing` for a payload's statuses at once; those whose job is unknown are skipped."""
        rows = []
        for price in prices:
            job = price.job if price.job is not None else self.store.job_by_wamid(price.wamid)
            if job is not None:
                rows.append((price.wamid, dict(price.pricing), self.card.charge(price.pricing, price.wa_id or job.to)))
        self.store.record_prices(rows)

    def costs(self, group_by: str = "campaign", *, campaign: str | None = None, since: float | None = None,
              until: float | None = None, all_numbers: bool = False) -> list[CostRow]:
        """Cost roll-ups per message, campaign, number, category or day (UTC date)."""
        if group_by not in GROUP_BY:
            raise ValidationError("group_by", f"must be one of {', '.join(GROUP_BY)}")
        rows = self.store.cost_rollup(group_by, phone_number_id=None if all_numbers else self.phone_number_id,
                                      campaign=campaign, since=since, until=until)
        if group_by == "day":
            rows = [CostRow(datetime.fromtimestamp(int(r.key) * 86400, UTC).date().isoformat(), r.messages,
                            r.billable, r.cost, r.estimated) for r in rows]
        return rows

    def reconcile(self, analytics: Mapping[str, Any], *, since: float, until: float) -> dict[str, Any]:
        """Compare this store's cost with Meta's ``pricing_analytics`` answer (``data_points`` with ``cost``)."""
        points: list[Mapping[str, Any]] = []
        for block in analytics.get("data", []) if isinstance(analytics.get("data"), list) else [analytics]:
            if isinstance(block, Mapping):
                points += [p for p in block.get("data_points", []) if isinstance(p, Mapping)]
        meta_cost = sum(float(p.get("cost") or 0.0) for p in points)
        meta_volume = sum(int(p.get("volume") or 0) for p in points)
        ours = self.costs("number", since=since, until=until)
        our_cost = sum(r.cost for r in ours)
        billable = sum(r.billable for r in ours)
        return {"since": since, "until": until, "ours": {"cost": round(our_cost, 6), "billable": billable},
                "meta": {"cost": round(meta_cost, 6), "volume": meta_volume},
                "difference": round(our_cost - meta_cost, 6), "currency": self.card.currency}

    # --- limits -------------------------------------------------------------------------------------
    def set_tier(self, tier: str | int | None) -> None:
        """Set the portfolio's messaging limit (``TIER_2K``, 2000; None: unlimited); its held jobs resume."""
        set_tier(self.store, self.portfolio, tier, self.clock())
        self._wake()

    def limits(self) -> dict[str, Any]:
        """The portfolio's tier and rolling reach, the number's pacing and upgrade state, held jobs."""
        now = self.clock()
        tier = self.store.limit("tier", self.portfolio)
        upgrade = self.store.limit("upgrade", self.phone_number_id)
        mps = self.store.limit("mps", self.phone_number_id)
        return {"portfolio": self.portfolio, "tier": tier[0] if tier else None,
                "reached_24h": self.store.reach_count(self.portfolio, now),
                "mps": float(mps[0]) if mps and mps[0] else self._mps(),
                "upgrading_until": upgrade[1] if upgrade else None,
                "held": {k: v[0] for k, v in self.store.held_counts(phone_number_id=self.phone_number_id).items()}}

    # --- reports ------------------------------------------------------------------------------------
    def _report(self, row: tuple[Any, ...]) -> CampaignReport:
        cid, phone, state, budget, api, options, start_at, created, _ = row
        summary = self.store.summary(campaign=cid)
        held = self.store.held_counts(campaign=cid)
        costs = self.store.cost_rollup("campaign", campaign=cid)
        cost = sum(r.cost for r in costs)
        estimated = sum(r.estimated for r in costs)
        now = self.clock()
        rate = max(1e-9, self._mps())
        eta: float | None = summary.queued / rate
        if start_at is not None and start_at > now:
            eta = (start_at - now) + summary.queued / rate
        for reason, (n, until) in held.items():
            if reason in (HoldReason.CAMPAIGN_PAUSED, HoldReason.BUDGET) or state != "active":
                eta = None
                break
            wait = max(0.0, (until or now) - now)
            if reason == HoldReason.PORTFOLIO_LIMIT:
                wait = min(wait, PORTFOLIO_WINDOW_S)
            eta = max(eta or 0.0, wait + n / rate)
        return CampaignReport(cid, state, phone, summary, budget=budget, api=api, options=options,
                              start_at=start_at, created_at=created, held={k: v[0] for k, v in held.items()},
                              cost=cost, estimated=estimated, currency=self.card.currency,
                              eta_s=round(eta, 3) if eta is not None else None)

    def dry_run(self, template: Any, recipients: Iterable[Any] | str | Path, *, language: str | None = None,
                category: str | None = "marketing", budget: float | None = None,
                template_status: str | None = None) -> DryRun:
        """What a campaign would do now: recipients by state, template check, expected holds, cost, duration.

        ``template_status`` is the template's status from the Graph API when the caller fetched it
        (``APPROVED``, ``PAUSED``…); otherwise only what webhooks told the store is known. Nothing is queued.
        """
        base = template_object(template, language)
        out = DryRun(currency=self.card.currency)
        wa_ids: list[str] = []
        seen: set[str] = set()
        for row, rcpt in enumerate(recipients_or_errors(recipients), start=1):
            out.total += 1
            try:
                if isinstance(rcpt, ValidationError):
                    raise rcpt
                wa_id = phone_wa_id(str(rcpt.to))  # normalize(...).wa_id without the validity look-up
            except ValidationError as exc:
                out.invalid.append((row, f"{exc.field}: {exc.reason}"))
                continue
            if wa_id in seen:
                out.invalid.append((row, "to: the same recipient twice"))
                continue
            seen.add(wa_id)
            wa_ids.append(wa_id)
        now = self.clock()
        states = self.store.recipient_states(self.phone_number_id, wa_ids)
        counts = dict.fromkeys(("new", "in_window", "opted_out", "capped", "invalid"), 0)
        counts["invalid"] = len(out.invalid)
        tkey = template_key({"type": "template", "template": base}) or ""
        stored = self.store.limit("template", tkey)
        status = (template_status or (stored[0] if stored and stored[0] else "APPROVED")).upper()
        out.template = {"name": base.get("name"), "language": tkey.partition(":")[2], "status": status,
                        "source": "graph" if template_status else "webhooks", "ok": status == "APPROVED"}
        tier_row = self.store.limit("tier", self.portfolio)
        tier = parse_tier(tier_row[0] if tier_row else None)
        reached = self.store.reach_count(self.portfolio, now)
        room = None if tier is None else max(0, tier - reached)
        out.portfolio = {"portfolio": self.portfolio, "tier": tier, "reached_24h": reached, "room": room}
        held = dict.fromkeys((r.value for r in HoldReason), 0)
        spent = 0.0
        for wa_id in wa_ids:
            last, opted_out = states.get(wa_id, (None, False))
            cap = self.store.limit("cap", wa_id) if category == "marketing" else None
            window = last is not None and now - float(last) <= SERVICE_WINDOW_S
            if category == "marketing" and opted_out:
                counts["opted_out"] += 1
                continue
            if cap is not None and (cap[1] or 0.0) > now:
                counts["capped"] += 1
                held[HoldReason.MARKETING_CAP] += 1
                continue
            counts["in_window" if window else "new"] += 1
            if status in ("PAUSED", "DISABLED", "HELD"):
                held[HoldReason.TEMPLATE_HELD if status == "HELD" else HoldReason.TEMPLATE_PAUSED] += 1
                continue
            price = self.card.estimate(category, wa_id, is_template=True, in_window=window)
            if budget is not None and spent + price > budget + 1e-9:
                held[HoldReason.BUDGET] += 1
                continue
            if not window and room is not None:
                if room <= 0:
                    held[HoldReason.PORTFOLIO_LIMIT] += 1
                    continue
                room -= 1
            spent += price
            out.sendable += 1
        out.recipients = counts
        out.held = {k: v for k, v in held.items() if v}
        out.estimated_cost = spent
        out.duration_s = out.sendable / max(1e-9, self._mps())
        return out


def api_marker(api: str | None, options: Mapping[str, Any] | None, category: str | None) -> dict[str, Any]:
    """The stored body's note that it goes through the Marketing Messages API (read by the sender)."""
    if api in (None, "cloud_api"):
        if options:
            raise ValidationError("api_options", "only the marketing_messages api takes options")
        return {}
    if api != "marketing_messages":
        raise ValidationError("api", "must be cloud_api or marketing_messages")
    if category not in (None, "marketing"):
        raise ValidationError("category", "the Marketing Messages API sends marketing templates only")
    opts = dict(options or {})
    unknown = sorted(set(opts) - {"product_policy", "message_activity_sharing", "ttl_seconds"})
    if unknown:
        raise ValidationError(f"api_options.{unknown[0]}", "unknown option (product_policy, "
                                                            "message_activity_sharing, ttl_seconds)")
    policy = opts.get("product_policy")
    if policy is not None and str(policy).upper() not in ("STRICT", "CLOUD_API_FALLBACK"):
        raise ValidationError("api_options.product_policy", "must be STRICT or CLOUD_API_FALLBACK")
    ttl = opts.get("ttl_seconds")
    bound = limit("template.marketing_ttl_seconds")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or not bound.min <= ttl <= bound.max):
        raise ValidationError("api_options.ttl_seconds", f"must be {bound.min}..{bound.max} seconds")
    sharing = opts.get("message_activity_sharing")
    if sharing is not None and not isinstance(sharing, bool):
        raise ValidationError("api_options.message_activity_sharing", "must be true or false")
    marker: dict[str, Any] = {"api": "marketing_messages"}
    if policy is not None:
        marker["product_policy"] = str(policy).upper()
    if sharing is not None:
        marker["message_activity_sharing"] = sharing
    return {MARKETING_API_KEY: marker}
