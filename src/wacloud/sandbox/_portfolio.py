"""The business portfolio's limits and prices, as the sandbox plays them.

- **Messaging limit**: unique customers reached with templates outside their service window in a rolling
  24 h, shared by every number. Set with ``POST /_sandbox/limits`` (``portfolio_tier``, ``enforce``);
  answered on ``whatsapp_business_manager_messaging_limit``. Over it a send is refused with **131048**
  (Meta documents no dedicated code: the sandbox's choice, see docs/sandbox.md).
- **Throughput upgrade**: ``POST /_sandbox/throughput_upgrade`` answers 131057 for ``after_s`` seconds,
  then raises the number to ``mps`` (1,000) and sends ``phone_number_quality_update`` ``THROUGHPUT_UPGRADE``.
- **Prices** per category (``prices``) turn billable messages into ``pricing_analytics`` cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wacloud import limits

#: Default list prices (USD) per billable category, like the North America column of Meta's card.
DEFAULT_PRICES: dict[str, float] = {"marketing": 0.025, "utility": 0.004, "authentication": 0.004,
                                    "authentication_international": 0.004, "marketing_lite": 0.025}


@dataclass(slots=True)
class PortfolioState:
    """Tier, rolling reach, throughput upgrades in progress and prices."""

    tier_name: str = "TIER_250"
    enforce: bool = False
    #: wa_id → when it was first reached in the current 24 h window.
    reach: dict[str, float] = field(default_factory=dict)
    #: phone_number_id → (upgrade done at, the rate after it).
    upgrading: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: phone_number_id → its rate after a finished upgrade.
    upgraded: dict[str, float] = field(default_factory=dict)
    prices: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    refused: int = 0

    @property
    def tier(self) -> int | None:
        """The limit as a count (None: unlimited)."""
        name = self.tier_name.upper()
        if name in limits.PORTFOLIO_TIERS:
            return limits.PORTFOLIO_TIERS[name]
        return limits.LEGACY_PORTFOLIO_TIERS.get(name)

    def count(self, now: float) -> int:
        """Unique customers reached in the rolling window."""
        return sum(1 for at in self.reach.values() if now - at < limits.PORTFOLIO_WINDOW_S)

    def admit(self, wa_id: str, now: float) -> bool:
        """Count a template to ``wa_id`` outside its window; False when the limit refuses it."""
        at = self.reach.get(wa_id)
        if at is not None and now - at < limits.PORTFOLIO_WINDOW_S:
            return True
        tier = self.tier
        if self.enforce and tier is not None and self.count(now) >= tier:
            self.refused += 1
            return False
        self.reach[wa_id] = now
        return True

    def view(self, now: float) -> dict[str, Any]:
        """JSON view for the control API."""
        return {"portfolio_tier": self.tier_name, "limit": self.tier, "enforce": self.enforce,
                "reached_24h": self.count(now), "refused": self.refused, "prices": self.prices,
                "upgrading": {k: {"until": u, "mps": m} for k, (u, m) in self.upgrading.items()}}


def tier_name(value: Any) -> str:
    """A tier from the control API (``TIER_2K``, 2000, null for unlimited) as Meta's name; ``ValueError``."""
    if value is None:
        return "TIER_UNLIMITED"
    if isinstance(value, int) and not isinstance(value, bool):
        for name, n in {**limits.PORTFOLIO_TIERS, **limits.LEGACY_PORTFOLIO_TIERS}.items():
            if n == value:
                return name
        raise ValueError(f"portfolio_tier: {value} is not a tier (250, 2000, 10000, 100000 or null)")
    name = str(value).strip().upper()
    if name not in limits.PORTFOLIO_TIERS and name not in limits.LEGACY_PORTFOLIO_TIERS:
        raise ValueError(f"portfolio_tier: {value!r} is not one of {sorted(limits.PORTFOLIO_TIERS)}")
    return name


def capability_limit(state: PortfolioState) -> int:
    """``max_daily_conversations_per_business`` for the webhook (-1: unlimited)."""
    tier = state.tier
    return -1 if tier is None else tier


def pricing_points(messages: list[Any], prices: dict[str, float], start: float, end: float,
                   granularity_s: float) -> list[dict[str, Any]]:
    """``pricing_analytics`` data points: volume and cost per time bucket, category and pricing type."""
    buckets: dict[tuple[int, str, str], list[float]] = {}
    for msg in messages:
        delivered = any(st.get("status") in ("delivered", "read") for st in msg.statuses)
        if not start <= msg.created_at < end or not delivered:
            continue  # Meta charges delivered messages only
        b = int((msg.created_at - start) // granularity_s)
        key = (b, msg.category.upper(), "REGULAR" if msg.billable else msg.pricing_type.upper())
        entry = buckets.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += prices.get(msg.category, 0.0) if msg.billable else 0.0
    return [{"start": int(start + b * granularity_s), "end": int(min(end, start + (b + 1) * granularity_s)),
             "pricing_category": cat, "pricing_type": kind, "volume": int(v), "cost": round(c, 6)}
            for (b, cat, kind), (v, c) in sorted(buckets.items())]
