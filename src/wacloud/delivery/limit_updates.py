"""Webhooks and Graph answers that change a limit, applied to the store (:mod:`wacloud.delivery.holds`).

- ``message_template_status_update``: ``PAUSED`` holds the template's jobs, ``DISABLED`` fails them,
  ``APPROVED``/``REINSTATED``/``UNPAUSED`` resumes them.
- ``phone_number_quality_update``: ``THROUGHPUT_UPGRADE`` raises the number's pacing to 1,000 mps and
  resumes the jobs held during the upgrade; a ``current_limit`` (``TIER_2K``…) sets the portfolio's tier.
- ``business_capability_update``: ``max_daily_conversations_per_business`` sets the portfolio's tier
  (-1: unlimited).
- :func:`from_phone_number`: the ``whatsapp_business_manager_messaging_limit`` and ``throughput`` fields
  of ``GET /{phone-number-id}`` (read at the start of a run and on request).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

from wacloud.delivery.costs import RateCard
from wacloud.delivery.holds import LimitsStore, set_template_state, set_tier, throughput_upgraded
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


def apply_update(store: LimitsStore, phone_number_id: str, portfolio: str, update: object, now: float) -> bool:
    """Record the limit ``update`` changes; True when it was one of :data:`LIMIT_UPDATES` and used."""
    if isinstance(update, TemplateStatusUpdate):
        v = update.value
        if not v.message_template_name:
            return False
        key = f"{v.message_template_name}:{v.message_template_language or ''}"
        set_template_state(store, key, v.event, now)
        log.info("template %s is %s: its jobs are %s", key, v.event,
                 "held" if v.event.upper() == "PAUSED" else "released")
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


def from_phone_number(store: LimitsStore, phone_number_id: str, portfolio: str, fields: dict[str, Any],
                      now: float) -> dict[str, Any]:
    """Record the tier and throughput level of a ``GET /{phone-number-id}`` answer; what was learnt."""
    learnt: dict[str, Any] = {}
    tier = tier_value(fields.get("whatsapp_business_manager_messaging_limit") or fields.get("messaging_limit_tier"))
    if tier is not None:
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
