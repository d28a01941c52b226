"""Holds: before a call, decide whether a Meta limit (or the campaign's budget) would refuse a job.

A job that would break a limit is not sent and not failed: it is ``held`` with a reason, a key (the
template, the campaign, the portfolio, the number or the user the hold is about) and when to look
again. Held jobs go back to the queue on their own when that time comes, or at once when the limit
changes (the tier is raised, the template approved again, the throughput upgrade done, the campaign
resumed, the budget raised): :meth:`LimitsStore.wake_holds`.

The limits, in the order they are checked (see docs/delivery.md, "Limits"):

- a campaign paused by the operator (``campaign_paused``) or cancelled (failed, ``cancelled``);
- the template's state from webhooks (``PAUSED`` after 132015 or a quality pause: ``template_paused``;
  ``held_for_quality_assessment``: ``template_held``; ``DISABLED``: failed);
- the number's throughput upgrade in progress (131057: ``throughput_upgrade``);
- the user's marketing cool-down after 131049 (``marketing_cap``);
- the campaign's budget against the estimated price (``budget``);
- the business portfolio's messaging limit: unique customers reached outside the service window in a
  rolling 24 h, counted from this store's own sends, shared by every process (``portfolio_limit``).

:func:`decide` is pure (a job and a :class:`LimitView` in, a verdict out); the store reads the view
and writes the verdicts in one transaction (:meth:`LimitsStore.admit`), so two workers on PostgreSQL
share one count. :class:`Gate` is what the worker calls, once per claim.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from wacloud.delivery.costs import RateCard
from wacloud.delivery.model import Job
from wacloud.limits import (
    LEGACY_PORTFOLIO_TIERS,
    MARKETING_CAP_COOLDOWN_S,
    PORTFOLIO_TIERS,
    PORTFOLIO_WINDOW_S,
    SERVICE_WINDOW_S,
    THROUGHPUT_UPGRADE_S,
    UPGRADED_MPS,
)


class HoldReason(StrEnum):
    """Why a job is held."""

    PORTFOLIO_LIMIT = "portfolio_limit"
    THROUGHPUT_UPGRADE = "throughput_upgrade"
    TEMPLATE_PAUSED = "template_paused"
    TEMPLATE_HELD = "template_held"
    MARKETING_CAP = "marketing_cap"
    BUDGET = "budget"
    CAMPAIGN_PAUSED = "campaign_paused"


#: Holds that only an event lifts (a resume, a raised budget) are looked at again after this long.
EVENT_ONLY_S = 365 * 86400.0
#: Refreshes (one a second) that lift stray throughput-upgrade holds once the number paces upgraded.
UPGRADE_SWEEPS = 5
#: A paused template is looked at again hourly even without its re-approval webhook (a missed webhook).
TEMPLATE_RECHECK_S = 3600.0


@dataclass(frozen=True, slots=True)
class Admit:
    """Send it; ``price`` is its estimated charge, ``reach`` whether it counts a new unique customer."""

    price: float
    reach: bool = False


@dataclass(frozen=True, slots=True)
class Hold:
    """Hold it for ``reason`` (about ``key``) and look again at ``until``."""

    reason: HoldReason
    key: str
    until: float


@dataclass(frozen=True, slots=True)
class Cancel:
    """Fail it without a call (campaign cancelled, template disabled)."""

    detail: str
    code: int | None = None


Verdict = Admit | Hold | Cancel


@dataclass(slots=True)
class CampaignLimits:
    """A campaign's controls as the gate sees them: its state, budget and estimated spend so far."""

    state: str = "active"
    budget: float | None = None
    spent: float = 0.0


@dataclass(slots=True)
class LimitView:
    """Everything :func:`decide` needs about one batch of jobs, read in the admitting transaction."""

    now: float
    portfolio: str
    #: The portfolio's messaging limit (unique customers per rolling 24 h); None: unlimited or unknown.
    tier: int | None = None
    #: Unique customers reached outside the window in the rolling 24 h (this store's sends).
    reached: int = 0
    oldest_reach: float | None = None
    #: This batch's recipients already counted in the window (sending to them again is free of limit).
    recent: set[str] = field(default_factory=set)
    #: Each recipient's last message to us (the service window), None when never.
    last_inbound: dict[str, float | None] = field(default_factory=dict)
    #: The number's throughput upgrade is in progress until then (131057 meanwhile).
    upgrading_until: float | None = None
    #: Template state by :func:`template_key` (``PAUSED``, ``DISABLED``, ``HELD``; absent: fine).
    templates: dict[str, str] = field(default_factory=dict)
    #: Marketing cool-down end per recipient (after a 131049).
    caps: dict[str, float] = field(default_factory=dict)
    campaigns: dict[str, CampaignLimits] = field(default_factory=dict)


def template_key(body: Mapping[str, Any]) -> str | None:
    """``name:language`` of a template body (the key its template holds use), None for other messages."""
    tpl = body.get("template") if body.get("type") == "template" else None
    if not isinstance(tpl, dict) or not isinstance(tpl.get("name"), str):
        return None
    lang = tpl.get("language")
    code = lang.get("code") if isinstance(lang, dict) else lang
    return f"{tpl['name']}:{code or ''}"


def parse_tier(value: str | None) -> int | None:
    """A stored tier (``TIER_2K``, ``2000``, ``unlimited``) as a count; None is unlimited or unknown."""
    if value is None or value.strip() == "":
        return None
    upper = value.strip().upper()
    if upper in PORTFOLIO_TIERS:
        return PORTFOLIO_TIERS[upper]
    if upper in LEGACY_PORTFOLIO_TIERS:
        return LEGACY_PORTFOLIO_TIERS[upper]
    if upper in ("UNLIMITED", "-1"):
        return None
    try:
        return max(0, int(float(upper)))
    except ValueError:
        return None


def in_window(job: Job, view: LimitView) -> bool:
    """True when the recipient wrote to us in the last 24 h (their service window is open)."""
    last = view.last_inbound.get(job.to)
    return last is not None and view.now - last <= SERVICE_WINDOW_S


def decide(job: Job, view: LimitView, card: RateCard) -> Verdict:
    """The verdict on one claimed job; an admitted job is counted in ``view`` (reach, spend)."""
    now = view.now
    camp = view.campaigns.get(job.campaign) if job.campaign is not None else None
    if camp is not None and camp.state == "cancelled":
        return Cancel("campaign cancelled")
    if camp is not None and camp.state == "paused":
        return Hold(HoldReason.CAMPAIGN_PAUSED, job.campaign or "", now + EVENT_ONLY_S)
    tkey = template_key(job.body)
    state = view.templates.get(tkey or "")
    if state == "DISABLED":
        return Cancel(f"template {tkey} is disabled", 132015)
    if state == "PAUSED":
        return Hold(HoldReason.TEMPLATE_PAUSED, tkey or "", now + TEMPLATE_RECHECK_S)
    if state == "HELD":
        return Hold(HoldReason.TEMPLATE_HELD, tkey or "", now + TEMPLATE_RECHECK_S)
    if view.upgrading_until is not None and view.upgrading_until > now:
        return Hold(HoldReason.THROUGHPUT_UPGRADE, job.phone_number_id, view.upgrading_until)
    cap = view.caps.get(job.to)
    if job.category == "marketing" and cap is not None and cap > now:
        return Hold(HoldReason.MARKETING_CAP, job.to, cap)
    open_window = in_window(job, view)
    price = card.estimate(job.category, job.to, is_template=job.is_template, in_window=open_window)
    if camp is not None and camp.budget is not None and camp.spent + price > camp.budget + 1e-9:
        return Hold(HoldReason.BUDGET, job.campaign or "", now + EVENT_ONLY_S)
    reach = job.is_template and not open_window and job.to not in view.recent
    if reach and view.tier is not None and view.reached >= view.tier:
        until = (view.oldest_reach + PORTFOLIO_WINDOW_S) if view.oldest_reach is not None else now + 60.0
        return Hold(HoldReason.PORTFOLIO_LIMIT, view.portfolio, max(until, now + 1.0))
    if reach:
        view.reached += 1
        view.recent.add(job.to)
        if view.oldest_reach is None:
            view.oldest_reach = now
    if camp is not None:
        camp.spent += price
    return Admit(price, reach)


Decide = Callable[[Job, LimitView], Verdict]


@runtime_checkable
class LimitsStore(Protocol):
    """The store's side of the limits (``wacloud.delivery._sql_limits``; both SQL stores have it)."""

    def admit(self, phone_number_id: str, portfolio: str, jobs: Sequence[Job], now: float, *, worker: str,
              decide: Decide) -> list[Job]:
        """In one transaction: read the view, decide each job, hold or fail the refused; the admitted."""
        ...

    def release_holds(self, phone_number_id: str, now: float) -> int:
        """Queue again the held jobs whose time to look again has come; how many."""
        ...

    def wake_holds(self, reason: str, key: str | None, now: float) -> int:
        """Bring forward to ``now`` the holds for ``reason`` (about ``key``, or all): a limit changed."""
        ...

    def set_limit(self, scope: str, key: str, value: str | None, until: float | None, now: float) -> None:
        """Record a limit state (``tier``/portfolio, ``template``/name:lang, ``upgrade``/number, ``cap``/user,
        ``mps``/number); ``value`` None forgets it."""
        ...

    def limit(self, scope: str, key: str) -> tuple[str | None, float | None] | None:
        """A recorded limit state (value, until), None when none."""
        ...

    def reach_count(self, portfolio: str, now: float) -> int:
        """Unique customers reached outside the window in the rolling 24 h (this store's sends)."""
        ...


def limit_key(limit: str, job: Job) -> str:
    """The key a limit revealed by an error about ``job`` is recorded under (template, number or user)."""
    if limit in ("template_paused", "template_disabled"):
        return template_key(job.body) or ""
    if limit == "throughput_upgrade":
        return job.phone_number_id
    return job.to


def note_limit(store: LimitsStore, phone_number_id: str, limit: str, key: str, now: float) -> None:
    """Record what an error code said about a limit (see ``policy.LIMIT_CODES``)."""
    if limit == "throughput_upgrade":
        # A 131057 answered to a call made before the upgrade finished can be settled after its webhook:
        # once the number paces at the upgraded rate there is nothing left to wait for.
        upgraded = store.limit("mps", key)
        if upgraded is not None and upgraded[0] and float(upgraded[0]) >= UPGRADED_MPS:
            return
        current = store.limit("upgrade", key)
        if current is None or (current[1] or 0.0) <= now:
            store.set_limit("upgrade", key, "upgrading", now + THROUGHPUT_UPGRADE_S, now)
    elif limit == "template_paused" and key:
        store.set_limit("template", key, "PAUSED", None, now)
    elif limit == "template_disabled" and key:
        store.set_limit("template", key, "DISABLED", None, now)
        store.wake_holds(HoldReason.TEMPLATE_PAUSED.value, key, now)  # they fail now instead of waiting
    elif limit == "marketing_cap":
        store.set_limit("cap", key, "131049", now + MARKETING_CAP_COOLDOWN_S, now)


def set_template_state(store: LimitsStore, key: str, status: str, now: float) -> None:
    """A template's status changed (webhook or Graph): pause holds its jobs, approval resumes them."""
    status = status.upper()
    if status in ("PAUSED", "DISABLED"):
        store.set_limit("template", key, status, None, now)
    elif status in ("HELD", "HELD_FOR_QUALITY_ASSESSMENT"):
        store.set_limit("template", key, "HELD", None, now)
    else:  # APPROVED, REINSTATED, UNPAUSED…: nothing holds it any more
        store.set_limit("template", key, None, None, now)
    if status != "HELD" and status != "HELD_FOR_QUALITY_ASSESSMENT":
        for reason in (HoldReason.TEMPLATE_PAUSED, HoldReason.TEMPLATE_HELD):
            store.wake_holds(reason.value, key, now)


def set_tier(store: LimitsStore, portfolio: str, tier: str | int | None, now: float) -> None:
    """The portfolio's messaging limit (``TIER_2K``, 2000, ``TIER_UNLIMITED`` or None: unlimited)."""
    value = "unlimited" if tier is None else str(tier)
    store.set_limit("tier", portfolio, value, None, now)
    store.wake_holds(HoldReason.PORTFOLIO_LIMIT.value, portfolio, now)


def throughput_upgraded(store: LimitsStore, phone_number_id: str, now: float, mps: float = UPGRADED_MPS) -> None:
    """The number's throughput upgrade is done: pace at ``mps`` from now on and resume its held jobs."""
    store.set_limit("mps", phone_number_id, str(float(mps)), None, now)
    store.set_limit("upgrade", phone_number_id, None, None, now)
    store.wake_holds(HoldReason.THROUGHPUT_UPGRADE.value, phone_number_id, now)


class Gate:
    """What the worker calls once per claim: queue held jobs that are due, then admit, hold or fail."""

    def __init__(self, store: LimitsStore, phone_number_id: str, *, portfolio: str, card: RateCard,
                 release_every_s: float = 0.5, refresh_every_s: float = 1.0,
                 stopped: Callable[[], frozenset[str]] | None = None) -> None:
        self.store = store
        #: Template keys Meta answered held or paused for just now (their admitted jobs are decided again).
        self.stopped = stopped
        self.phone = phone_number_id
        self.portfolio = portfolio
        self.card = card
        self.release_every_s = release_every_s
        self.refresh_every_s = refresh_every_s
        self._next_release = 0.0
        self._next_refresh = 0.0
        #: The number's rate as last learnt from the store (a throughput upgrade), None: the configured one.
        self.mps: float | None = None
        #: Refreshes left that lift upgrade holds made beside the upgrade's end (see :meth:`_after_upgrade`).
        self._upgrade_sweeps = UPGRADE_SWEEPS

    def admit(self, jobs: list[Job], now: float, worker: str) -> list[Job]:
        """The jobs that may be sent now (runs on the store thread; every refused one is written)."""
        mono = time.monotonic()
        if mono >= self._next_refresh:  # first: a hold it lifts is released just below
            self._next_refresh = mono + self.refresh_every_s
            row = self.store.limit("mps", self.phone)
            self.mps = float(row[0]) if row is not None and row[0] else None
            if self.mps is not None and self.mps >= UPGRADED_MPS:
                self._after_upgrade(now)
        if mono >= self._next_release:
            self._next_release = mono + self.release_every_s
            self.store.release_holds(self.phone, now)
        if not jobs:
            return jobs
        card = self.card
        return self.store.admit(self.phone, self.portfolio, jobs, now, worker=worker,
                                decide=lambda job, view: decide(job, view, card))

    def _after_upgrade(self, now: float) -> None:
        """Lift upgrade holds made beside the upgrade's end, a few times. Its webhook lifts the holds, but
        a claim that read the limits before that committed (PostgreSQL: the two run at once) holds its
        jobs after the wake, and they would wait out the whole upgrade time (found under load)."""
        if self._upgrade_sweeps > 0:
            self._upgrade_sweeps -= 1
            self.store.wake_holds(HoldReason.THROUGHPUT_UPGRADE.value, self.phone, now)

    def stale(self, jobs: Sequence[Job]) -> bool:
        """Whether a template of ``jobs`` was answered held or paused since they were admitted (they are
        then admitted again before the call: the hold now in the store keeps them back)."""
        stopped = self.stopped() if self.stopped is not None else frozenset()
        return bool(stopped) and any(template_key(j.body) in stopped for j in jobs)

    def interval_s(self, configured: float, utilisation: float, ceiling: float | None = None) -> float:
        """Seconds between send slots: the configured pacing, or the number's upgraded rate once known
        (never above ``ceiling`` messages a second when one is set)."""
        if self.mps is None:
            return configured
        mps = self.mps if ceiling is None else min(self.mps, ceiling)
        return min(configured, 1.0 / (mps * utilisation))
