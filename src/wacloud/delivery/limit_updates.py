"""Webhooks and Graph answers that change a limit, applied to the store (:mod:`wacloud.delivery.holds`).

- ``message_template_status_update``: ``PAUSED`` holds the template's jobs, ``DISABLED`` fails them,
  ``APPROVED``/``REINSTATED``/``UNPAUSED`` resumes them.
- ``phone_number_quality_update``: ``THROUGHPUT_UPGRADE`` raises the number's pacing to 1,000 mps and
  resumes the jobs held during the upgrade; a ``current_limit`` (``TIER_2K``…) sets the portfolio's tier.
- ``business_capability_update``: ``max_daily_conversations_per_business`` sets the portfolio's tier
  (-1: unlimited).
- :func:`from_phone_number`: the ``whatsapp_business_manager_messaging_limit`` and ``throughput`` fields
  of ``GET /{phone-number-id}`` (read at the start of a run, every ``read_limits_every_s`` and on request).
  Meta exposes the portfolio's tier there, not how many customers it has reached: the count is the
  store's own (docs/delivery.md, "Limits").
- :class:`TemplatePacing`: a send answered ``held_for_quality_assessment`` (Meta's template pacing holds the
  message for early feedback) holds the template's next jobs (``template_held``); a delivered or read
  status of a message Meta answered so (it let the held messages out: a good quality signal) or
  ``APPROVED`` releases them; ``PAUSED`` (a bad signal) turns the hold into ``template_paused``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

from wacloud.delivery.costs import RateCard
from wacloud.delivery.holds import LimitsStore, set_template_state, set_tier, template_key, throughput_upgraded
from wacloud.delivery.model import Job
from wacloud.limits import LEGACY_PORTFOLIO_TIERS, PORTFOLIO_TIERS, UPGRADED_MPS
from wacloud.webhooks.updates import BusinessCapabilityUpdate, PhoneNumberQualityUpdate, TemplateStatusUpdate

log = logging.getLogger("wacloud.delivery")

#: The update classes :func:`apply_update` uses.
LIMIT_UPDATES = (TemplateStatusUpdate, PhoneNumberQualityUpdate, BusinessCapabilityUpdate)


def tier_value(raw: Any) -> str | None:
    """A tier from a webhook or Graph field (``TIER_2K``, 2000, -1, "-1") as stored; None: not a tier."""
    if raw is None:
        return None
    text = str(raw).strip().upper()
    if text in PORTFOLIO_TIERS or text in LEGACY_PORTFOLIO_TIERS:
        return text
    if text in ("-1", "UNLIMITED"):
        return "TIER_UNLIMITED"
    try:
        return str(int(float(text)))
    except ValueError:
        return None


#: Template statuses (webhook, Graph or send answer) that hold the template's jobs.
HOLDING_STATUSES = frozenset({"PAUSED", "HELD", "HELD_FOR_QUALITY_ASSESSMENT"})
#: How long after a held or paused answer the jobs already admitted for that template are checked again
#: before their call (longer than a claim's lookahead and its lag).
STOPPED_S = 10.0
#: The send answer's ``message_status`` values that say Meta is holding (or refusing) the template.
HELD_ANSWER = "held_for_quality_assessment"
PAUSED_ANSWER = "paused"


def apply_update(store: LimitsStore, phone_number_id: str, portfolio: str, update: object, now: float) -> bool:
    """Record the limit ``update`` changes; True when it was one of :data:`LIMIT_UPDATES` and used."""
    if isinstance(update, TemplateStatusUpdate):
        v = update.value
        if not v.message_template_name:
            return False
        key = f"{v.message_template_name}:{v.message_template_language or ''}"
        set_template_state(store, key, v.event, now)
        log.info("template %s is %s: its jobs are %s", key, v.event,
                 "held" if v.event.upper() in HOLDING_STATUSES else "released")
        return True
    if isinstance(update, PhoneNumberQualityUpdate):
        q = update.value
        used = False
        # The change names the number by its display number only: an outbox takes it as its own.
        if q.event.upper() == "THROUGHPUT_UPGRADE":
            throughput_upgraded(store, phone_number_id, now, UPGRADED_MPS)
            log.warning("throughput upgrade done on %s: pacing at %d mps", phone_number_id, UPGRADED_MPS)
            used = True
        tier = tier_value(q.current_limit or q.max_daily_conversations_per_business)
        if tier is not None and q.event.upper() != "THROUGHPUT_UPGRADE":
            set_tier(store, portfolio, tier, now)
            used = True
        return used
    if isinstance(update, BusinessCapabilityUpdate):
        tier = tier_value(update.value.max_daily_conversations_per_business)
        if tier is None:
            return False
        set_tier(store, portfolio, tier, now)
        log.info("portfolio %s messaging limit: %s", portfolio, tier)
        return True
    return False


async def refresh_from_graph(client: Any, store: LimitsStore, phone_number_id: str, portfolio: str,
                             now: float) -> dict[str, Any]:
    """Read the number's messaging tier and throughput level from the Graph API (``client``'s
    ``get_phone_number``, sync or async) and record them; what was learnt ({} without such a client)."""
    fn = getattr(client, "get_phone_number", None)
    if fn is None:
        return {}
    answer = fn(fields=["whatsapp_business_manager_messaging_limit", "throughput"])
    if asyncio.iscoroutine(answer):
        answer = await answer
    raw = answer.model_dump(exclude_none=True) if hasattr(answer, "model_dump") else dict(answer)
    return from_phone_number(store, phone_number_id, portfolio, raw, now)


def from_phone_number(store: LimitsStore, phone_number_id: str, portfolio: str, fields: dict[str, Any],
                      now: float) -> dict[str, Any]:
    """Record the tier and throughput level of a ``GET /{phone-number-id}`` answer; what was learnt."""
    learnt: dict[str, Any] = {}
    tier = tier_value(fields.get("whatsapp_business_manager_messaging_limit") or fields.get("messaging_limit_tier"))
    if tier is not None:
        known = store.limit("tier", portfolio)
        if known is None or known[0] != tier:  # read every few minutes: only a change wakes the holds
            set_tier(store, portfolio, tier, now)
        learnt["tier"] = tier
    throughput = fields.get("throughput")
    level = throughput.get("level") if isinstance(throughput, dict) else None
    if isinstance(level, str) and level.upper() == "HIGH":
        throughput_upgraded(store, phone_number_id, now, UPGRADED_MPS)
        learnt["mps"] = UPGRADED_MPS
    return learnt


@cache
def default_rate_card() -> RateCard:
    """The rate card shipped with wacloud (read once)."""
    return RateCard.default()


def stored_rate_card(store: object) -> RateCard | None:
    """The card loaded with :meth:`Outbox.load_rate_card` (kept in the store), if any."""
    row = store.limit("ratecard", "current") if isinstance(store, LimitsStore) else None
    if row is None or not row[0]:
        return None
    return RateCard.from_csv(row[0], source="store")


class TemplatePacing:
    """Follows Meta's template pacing from send answers and statuses (one per outbox; thread-safe).

    Messages Meta holds for a quality assessment are either sent once the signal is good or dropped with
    132015 when the template is paused; sending more of that template meanwhile only adds to what may be
    dropped, so its next jobs wait (``template_held``) instead.
    """

    def __init__(self, store: object, *, recheck_s: float = 5.0) -> None:
        self.store = store if isinstance(store, LimitsStore) else None
        self.recheck_s = recheck_s
        #: Template key -> (held for quality or not, when that was read from the store).
        self._seen: dict[str, tuple[bool, float]] = {}
        #: Template key -> when a send answer said held or paused (jobs admitted before are checked again).
        self._answered: dict[str, float] = {}
        self._lock = threading.Lock()

    def stopped(self) -> frozenset[str]:
        """Templates answered held or paused in the last ``STOPPED_S`` seconds (monotonic clock)."""
        if not self._answered:
            return frozenset()
        now = time.monotonic()
        with self._lock:
            for key in [k for k, at in self._answered.items() if now - at > STOPPED_S]:
                del self._answered[key]
            return frozenset(self._answered)

    def answered(self, body: Mapping[str, Any], wamid: str | None, message_status: str | None,
                 now: float) -> str | None:
        """A send of ``body`` was answered with ``message_status``: the template state it set, if any."""
        status = (message_status or "").lower()
        key = template_key(body)
        store = self.store
        if store is None or key is None or status not in (HELD_ANSWER, PAUSED_ANSWER):
            return None
        if status == HELD_ANSWER and wamid:
            store.set_limit("held_message", wamid, key, None, now)  # its delivery will say it was let out
        with self._lock:
            self._answered[key] = time.monotonic()
        current = store.limit("template", key)
        if current is not None and current[0] in ("HELD", "PAUSED", "DISABLED"):
            return None  # already held (the other answers of the same batch say it again)
        state = "HELD" if status == HELD_ANSWER else "PAUSED"
        set_template_state(store, key, state, now)
        with self._lock:
            self._seen.pop(key, None)
        log.warning("template %s: Meta answered %s; its next jobs wait (template_%s)", key, status,
                    "held" if state == "HELD" else "paused")
        return state

    def delivered(self, job: Job, now: float) -> bool:
        """A delivered or read status of ``job``: True when it released its template's hold."""
        key = template_key(job.body) if job.is_template else None
        store = self.store
        if store is None or key is None:
            return False
        if job.wamid is None or not self._held(store, key, now, job.accepted_at):
            return False
        held = store.limit("held_message", job.wamid)
        if held is None:
            return False  # a message that went out before the hold: no news about it
        store.set_limit("held_message", job.wamid, None, None, now)
        set_template_state(store, key, "APPROVED", now)  # Meta let the held messages out: resume
        with self._lock:
            self._seen[key] = (False, now)
        log.info("template %s: a held message was delivered; its jobs resume", key)
        return True

    def _held(self, store: LimitsStore, key: str, now: float, accepted_at: float | None) -> bool:
        """Whether the template is held for quality: read from the store at most every ``recheck_s``, and
        again for a message accepted after the last read (the hold is written before a held message's
        acceptance, so an older read cannot know about its hold)."""
        with self._lock:
            known = self._seen.get(key)
        if known is not None and now - known[1] < self.recheck_s and (accepted_at or 0.0) <= known[1]:
            return known[0]
        held = (row := store.limit("template", key)) is not None and row[0] == "HELD"
        with self._lock:
            self._seen[key] = (held, now)
        return held
