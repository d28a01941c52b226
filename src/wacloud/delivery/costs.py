"""What messages cost: a rate card in Meta's published CSV layout, estimates per message, actual charges.

Since 2025-07-01 Meta charges per delivered template, by category and the recipient's market; statuses
carry a ``pricing`` object (``billable``, ``pricing_model``, ``category``, ``type``). Non-template messages
in the customer-service window, utility templates inside it and everything in a free-entry-point window
are free (``free_customer_service``, ``free_entry_point``). :class:`RateCard` turns a category and a
recipient into a price; the outbox stores each status's ``pricing`` and the price it implies with its job.

The default card ships in the package (``data/ratecard-<date>.csv``, its date in the name and in
:attr:`RateCard.as_of`). It is illustrative: load Meta's current card (``wacloud ratecard load FILE``,
or :meth:`RateCard.from_csv`) before trusting a budget with real money.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from wacloud.errors import ValidationError
from wacloud.phone import normalize

#: The file of the card shipped with the package, and the date it describes.
DEFAULT_CARD = "ratecard-2026-10-01.csv"
DEFAULT_CARD_DATE = "2026-10-01"

#: Meta's CSV columns: the market, the currency, then one price column per category.
CATEGORY_COLUMNS: Mapping[str, str] = {
    "marketing": "Marketing", "utility": "Utility", "authentication": "Authentication",
    "authentication_international": "Authentication-International", "service": "Service",
}

#: ISO region → Meta's market name; every other region is priced as "Other".
MARKETS: Mapping[str, str] = {
    "AR": "Argentina", "BR": "Brazil", "CL": "Chile", "CO": "Colombia", "EG": "Egypt", "FR": "France",
    "DE": "Germany", "IN": "India", "ID": "Indonesia", "IL": "Israel", "IT": "Italy", "MY": "Malaysia",
    "MX": "Mexico", "NL": "Netherlands", "NG": "Nigeria", "PK": "Pakistan", "PE": "Peru", "RU": "Russia",
    "SA": "Saudi Arabia", "ZA": "South Africa", "ES": "Spain", "TR": "Turkey",
    "AE": "United Arab Emirates", "GB": "United Kingdom", "US": "North America", "CA": "North America",
}
OTHER_MARKET = "Other"

#: ``pricing.type`` values that are never charged.
FREE_TYPES = frozenset({"free_customer_service", "free_entry_point"})


def market_of(wa_id: str) -> str:
    """Meta's market for a recipient (by its country code); "Other" when unknown or not a number."""
    try:
        region = normalize("+" + wa_id.lstrip("+")).region
    except ValidationError:
        return OTHER_MARKET
    return MARKETS.get(region or "", OTHER_MARKET)


@dataclass(frozen=True, slots=True)
class RateCard:
    """Prices per message by market and category (Meta's CSV: Market, Currency, Marketing, Utility…)."""

    rates: Mapping[str, Mapping[str, float]]
    currency: str = "USD"
    as_of: str = ""
    #: Charge service messages and in-window utility templates (reported from 2026-10-01, not confirmed).
    charge_in_window: bool = False
    source: str = field(default="", compare=False)

    @classmethod
    def from_csv(cls, text: str | Path, *, as_of: str = "", source: str = "") -> RateCard:
        """Read a card in Meta's layout from CSV text or a path; a bad file raises ``ValidationError``."""
        if isinstance(text, Path):
            try:
                source = source or str(text)
                text = text.read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise ValidationError("ratecard", f"cannot read {text}: {exc.strerror}") from None
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        stamp = next((ln.split(":", 1)[1].strip() for ln in text.splitlines()
                      if ln.lstrip().lower().startswith("# as of:")), "")
        reader = csv.DictReader(io.StringIO("\n".join(lines)))
        header = [h.strip() for h in reader.fieldnames or []]
        if "Market" not in header or not any(c in header for c in CATEGORY_COLUMNS.values()):
            raise ValidationError("ratecard", "the header needs Market and price columns "
                                              f"({', '.join(CATEGORY_COLUMNS.values())})")
        rates: dict[str, dict[str, float]] = {}
        currency = "USD"
        for n, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            market = row.get("Market", "")
            if not market:
                continue
            currency = row.get("Currency") or currency
            prices: dict[str, float] = {}
            for category, column in CATEGORY_COLUMNS.items():
                raw = row.get(column, "").lstrip("$")
                if raw in ("", "n/a", "N/A", "-"):
                    continue
                try:
                    prices[category] = float(raw)
                except ValueError:
                    raise ValidationError("ratecard", f"line {n}: {column} {raw!r} is not a price") from None
                if prices[category] < 0:
                    raise ValidationError("ratecard", f"line {n}: {column} is negative")
            rates[market] = prices
        if not rates:
            raise ValidationError("ratecard", "no market rows")
        return cls(rates, currency, as_of or stamp, source=source)

    @classmethod
    def default(cls) -> RateCard:
        """The card shipped with this version (dated; see the module docstring)."""
        text = resources.files("wacloud.delivery").joinpath("data", DEFAULT_CARD).read_text(encoding="utf-8")
        return cls.from_csv(text, as_of=DEFAULT_CARD_DATE, source=f"package:{DEFAULT_CARD}")

    def rate(self, category: str, wa_id: str) -> float:
        """The list price of one billable message of ``category`` to ``wa_id`` (0 when the card has none)."""
        market = self.rates.get(market_of(wa_id)) or self.rates.get(OTHER_MARKET) or {}
        return float(market.get(category.lower(), 0.0))

    def estimate(self, category: str | None, wa_id: str, *, is_template: bool, in_window: bool,
                 free_entry_point: bool = False) -> float:
        """The expected charge for one message, before it is sent (Meta's free cases are 0)."""
        if free_entry_point:
            return 0.0
        if not is_template:
            return self.rate("service", wa_id) if self.charge_in_window else 0.0
        cat = (category or "utility").lower()
        if cat == "service":
            cat = "utility"
        if cat == "utility" and in_window and not self.charge_in_window:
            return 0.0
        return self.rate(cat, wa_id)

    def charge(self, pricing: Mapping[str, object], wa_id: str) -> float:
        """What a status's ``pricing`` object says this message costs (0 unless billable)."""
        billable = pricing.get("billable")
        kind = str(pricing.get("type") or "")
        if billable is False or (billable is None and kind in FREE_TYPES):
            return 0.0
        category = str(pricing.get("category") or "")
        if category in ("", "referral_conversion"):
            return 0.0
        if category == "marketing_lite":
            category = "marketing"
        return self.rate(category, wa_id)


@dataclass(frozen=True, slots=True)
class CostRow:
    """One roll-up row: the group's key, message count, billable count, actual and estimated cost."""

    key: str
    messages: int
    billable: int
    cost: float
    estimated: float


#: Roll-up dimensions accepted by ``GET /v1/costs?group_by=…`` and :meth:`CampaignOps.costs`.
GROUP_BY = ("message", "campaign", "number", "category", "day")
