"""Cost and template analytics of a WhatsApp Business Account, as Meta reports them.

- :meth:`AnalyticsApi.pricing_analytics` reads the WABA's ``pricing_analytics`` field: per-message volume
  and cost over ``start``..``end`` (UNIX seconds) at ``HALF_HOUR``, ``DAILY`` or ``MONTHLY`` granularity,
  filtered by phone numbers, countries, pricing types and categories, split by ``dimensions``.
- :meth:`AnalyticsApi.template_analytics` reads the ``template_analytics`` edge: sent, delivered, read,
  button clicks and cost per template (up to 10 templates), at ``DAILY`` granularity.

Both return typed data points; fields Meta adds later are kept on the models (``extra="allow"``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.models import UnexpectedResponse

Granularity = Literal["HALF_HOUR", "DAILY", "MONTHLY"]
GRANULARITIES: Final = ("HALF_HOUR", "DAILY", "MONTHLY")
PRICING_METRICS: Final = ("COST", "VOLUME")
PRICING_TYPES: Final = ("REGULAR", "FREE_CUSTOMER_SERVICE", "FREE_ENTRY_POINT")
PRICING_CATEGORIES: Final = ("AUTHENTICATION", "AUTHENTICATION_INTERNATIONAL", "MARKETING", "MARKETING_LITE",
                             "SERVICE", "UTILITY")
PRICING_DIMENSIONS: Final = ("COUNTRY", "PHONE", "PRICING_CATEGORY", "PRICING_TYPE", "TIER")
TEMPLATE_METRICS: Final = ("SENT", "DELIVERED", "READ", "CLICKED", "COST")
#: Meta answers at most this many templates per template_analytics call.
MAX_TEMPLATE_IDS: Final = 10


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class PricingDataPoint(_Answer):
    """Volume and cost of the messages in one time bucket (and one value of each requested dimension)."""

    start: int
    end: int
    volume: int | None = None
    cost: float | None = None
    country: str | None = None
    phone_number: str | None = None
    pricing_type: str | None = None
    pricing_category: str | None = None
    tier: str | None = None


class PricingAnalytics(_Answer):
    """The WABA's ``pricing_analytics``: all data points, flattened from Meta's ``data[].data_points``."""

    data_points: list[PricingDataPoint] = Field(default_factory=list)

    @property
    def total_cost(self) -> float:
        """The sum of ``cost`` over the data points (0 when costs were not asked for)."""
        return sum(p.cost or 0.0 for p in self.data_points)

    @property
    def total_volume(self) -> int:
        """The sum of ``volume`` over the data points."""
        return sum(p.volume or 0 for p in self.data_points)


class ClickCount(_Answer):
    """Clicks on one button of a template (``type`` e.g. ``quick_reply_button``, ``url_button``)."""

    type: str
    button_content: str | None = None
    count: int = 0


class CostValue(_Answer):
    """One cost figure: ``amount_spent``, ``cost_per_delivered``, ``cost_per_url_button_click``…"""

    type: str
    value: float | None = None


class TemplateDataPoint(_Answer):
    """One template's figures for one day."""

    template_id: str
    start: int
    end: int
    sent: int | None = None
    delivered: int | None = None
    read: int | None = None
    clicked: list[ClickCount] = Field(default_factory=list)
    cost: list[CostValue] = Field(default_factory=list)

    def cost_of(self, kind: str = "amount_spent") -> float | None:
        """The cost figure of ``kind`` (``amount_spent`` by default), or None when Meta gave none."""
        return next((c.value for c in self.cost if c.type == kind), None)


class TemplateAnalytics(_Answer):
    """``template_analytics``: the data points of every returned granularity block, and the paging."""

    granularity: str | None = None
    product_type: str | None = None
    data_points: list[TemplateDataPoint] = Field(default_factory=list)
    paging: dict[str, Any] | None = None


def _stamp(value: int | datetime, field: str) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise errors.ValidationError(field, "needs a timezone (Meta's analytics buckets are in UTC)")
        return int(value.timestamp())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise errors.ValidationError(field, f"must be a UNIX timestamp or an aware datetime, not {value!r}")
    return value


def _period(start: int | datetime, end: int | datetime) -> tuple[int, int]:
    s, e = _stamp(start, "start"), _stamp(end, "end")
    if e <= s:
        raise errors.ValidationError("end", "must be after start")
    return s, e


def _choices(field: str, values: Sequence[str] | None, allowed: Sequence[str]) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise errors.ValidationError(field, "must be a list of values, not one string")
    out = [str(v).strip().upper() for v in values]
    for i, v in enumerate(out):
        if v not in allowed:
            raise errors.ValidationError(f"{field}[{i}]", f"{values[i]!r} is not one of {', '.join(allowed)}")
    return out


def _strings(field: str, values: Sequence[str] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        raise errors.ValidationError(field, "must be a list of values, not one string")
    out = [str(v).strip() for v in values]
    for i, v in enumerate(out):
        if not v or any(c in v for c in "()[],\"") :
            raise errors.ValidationError(f"{field}[{i}]", f"{values[i]!r} is not a valid value")
    return out


def pricing_field(start: int, end: int, granularity: str, filters: dict[str, list[str] | None]) -> str:
    """The ``fields`` value asking for ``pricing_analytics`` (Graph's ``field.modifier(value)`` syntax)."""
    parts = [f"pricing_analytics.start({start}).end({end}).granularity({granularity})"]
    for key, values in filters.items():
        if values is not None:
            parts.append(f".{key}({json.dumps(values, separators=(',', ':'))})")
    return "".join(parts)


def _parse(model: type[Any], data: Any, what: str) -> Any:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise UnexpectedResponse(f"{what} answer is malformed: {exc.errors(include_url=False)[0]['msg']}") from None


def parse_pricing_analytics(body: Any) -> PricingAnalytics:
    """Read ``{"pricing_analytics": {"data": [{"data_points": [...]}]}, "id": ...}``."""
    block = body.get("pricing_analytics") if isinstance(body, dict) else None
    if block is None and isinstance(body, dict) and "data" in body:
        block = body  # the edge form answers the block itself
    if not isinstance(block, dict):
        raise UnexpectedResponse(f"pricing_analytics missing from the answer: {str(body)[:200]}")
    points = [p for item in block.get("data") or [] if isinstance(item, dict) for p in item.get("data_points") or []]
    result: PricingAnalytics = _parse(PricingAnalytics, {"data_points": points}, "pricing_analytics")
    return result


def parse_template_analytics(body: Any) -> TemplateAnalytics:
    """Read ``{"data": [{"granularity", "product_type"?, "data_points": [...]}], "paging"?}``."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise UnexpectedResponse(f"template_analytics answered without data: {str(body)[:200]}")
    blocks = [b for b in body["data"] if isinstance(b, dict)]
    first = blocks[0] if blocks else {}
    points = [p for b in blocks for p in b.get("data_points") or []]
    result: TemplateAnalytics = _parse(TemplateAnalytics, {
        "granularity": first.get("granularity"), "product_type": first.get("product_type"),
        "data_points": points, "paging": body.get("paging")}, "template_analytics")
    return result


class AnalyticsApi(ApiConfig):
    """``pricing_analytics`` and ``template_analytics`` of the configured WABA."""

    @operation
    def pricing_analytics(self, start: int | datetime, end: int | datetime, *, granularity: str = "DAILY",
                          phone_numbers: Sequence[str] | None = None, country_codes: Sequence[str] | None = None,
                          metric_types: Sequence[str] | None = None, pricing_types: Sequence[str] | None = None,
                          pricing_categories: Sequence[str] | None = None,
                          dimensions: Sequence[str] | None = None,
                          waba_id: str | None = None) -> Operation[PricingAnalytics]:
        """Volume and cost of delivered messages between ``start`` and ``end``, as Meta bills them.

        ``metric_types``: COST, VOLUME; ``pricing_types``: REGULAR, FREE_CUSTOMER_SERVICE, FREE_ENTRY_POINT;
        ``dimensions``: COUNTRY, PHONE, PRICING_CATEGORY, PRICING_TYPE, TIER (one data point per combination).
        """
        waba = self.require_waba(waba_id)
        s, e = _period(start, end)
        gran = (_choices("granularity", [granularity], GRANULARITIES) or ["DAILY"])[0]
        filters = {
            "phone_numbers": _strings("phone_numbers", phone_numbers),
            "country_codes": _strings("country_codes", country_codes),
            "metric_types": _choices("metric_types", metric_types, PRICING_METRICS),
            "pricing_types": _choices("pricing_types", pricing_types, PRICING_TYPES),
            "pricing_categories": _choices("pricing_categories", pricing_categories, PRICING_CATEGORIES),
            "dimensions": _choices("dimensions", dimensions, PRICING_DIMENSIONS),
        }
        body = yield from call(Request("GET", waba, params={"fields": pricing_field(s, e, gran, filters)}))
        return parse_pricing_analytics(body)

    @operation
    def template_analytics(self, template_ids: Sequence[str], start: int | datetime, end: int | datetime, *,
                           metric_types: Sequence[str] | None = None, granularity: str = "DAILY",
                           product_type: str | None = None, after: str | None = None,
                           waba_id: str | None = None) -> Operation[TemplateAnalytics]:
        """Sent, delivered, read, clicks and cost per day for up to 10 templates.

        ``metric_types``: SENT, DELIVERED, READ, CLICKED, COST (all when omitted); ``product_type`` narrows
        to one send path (``cloud_api`` or ``marketing_messages_lite``); ``after`` is a paging cursor.
        """
        waba = self.require_waba(waba_id)
        ids = _strings("template_ids", template_ids) or []
        if not 1 <= len(ids) <= MAX_TEMPLATE_IDS:
            raise errors.ValidationError("template_ids", f"give 1 to {MAX_TEMPLATE_IDS} template ids",
                                         size=len(ids), limit=MAX_TEMPLATE_IDS)
        s, e = _period(start, end)
        gran = (_choices("granularity", [granularity], ("DAILY",)) or ["DAILY"])[0]
        params: dict[str, str | int] = {"start": s, "end": e, "granularity": gran,
                                        "template_ids": json.dumps(ids, separators=(",", ":"))}
        metrics = _choices("metric_types", metric_types, TEMPLATE_METRICS)
        if metrics is not None:
            params["metric_types"] = json.dumps(metrics, separators=(",", ":"))
        if product_type is not None:
            kind = str(product_type).strip().lower()
            if kind not in ("cloud_api", "marketing_messages_lite"):
                raise errors.ValidationError("product_type", "must be cloud_api or marketing_messages_lite")
            params["product_type"] = kind
        if after is not None:
            params["after"] = after
        body = yield from call(Request("GET", f"{waba}/template_analytics", params=params))
        return parse_template_analytics(body)
