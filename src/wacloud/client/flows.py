"""WhatsApp Flows management: create, update metadata and JSON, publish, deprecate, delete, get, list,
assets and metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.templates import Page, list_params, parse_answer, success
from wacloud.limits import limit

#: Flow categories Meta accepts.
FLOW_CATEGORIES = frozenset(
    {
        "SIGN_UP",
        "SIGN_IN",
        "APPOINTMENT_BOOKING",
        "LEAD_GENERATION",
        "CONTACT_US",
        "CUSTOMER_SUPPORT",
        "SURVEY",
        "OTHER",
    }
)
METRIC_NAMES = frozenset(
    {
        "ENDPOINT_REQUEST_COUNT",
        "ENDPOINT_REQUEST_ERROR",
        "ENDPOINT_REQUEST_ERROR_RATE",
        "ENDPOINT_REQUEST_LATENCY_SECONDS_CEIL",
        "ENDPOINT_AVAILABILITY",
    }
)
GRANULARITIES = frozenset({"DAY", "HOUR", "LIFETIME"})


class FlowResult(BaseModel):
    """The answer to a create or a Flow JSON upload: ``id`` (create), ``success``, ``validation_errors``."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    success: bool | None = None
    validation_errors: list[dict[str, Any]] = Field(default_factory=list)


def _categories(categories: Sequence[str]) -> str:
    cats = [categories] if isinstance(categories, str) else list(categories)
    if not cats:
        raise errors.ValidationError("categories", "give at least one category")
    bad = [c for c in cats if c not in FLOW_CATEGORIES]
    if bad:
        raise errors.ValidationError("categories", f"{bad} not in {sorted(FLOW_CATEGORIES)}")
    return json.dumps(cats)


def _flow_json_bytes(flow_json: Mapping[str, Any] | str | bytes) -> bytes:
    if isinstance(flow_json, Mapping):
        return json.dumps(flow_json).encode()
    raw = flow_json.encode() if isinstance(flow_json, str) else bytes(flow_json)
    try:
        parsed = json.loads(raw)
    except ValueError:
        raise errors.ValidationError("flow_json", "is not valid JSON") from None
    if not isinstance(parsed, dict) or "screens" not in parsed:
        raise errors.ValidationError("flow_json", "a Flow JSON is an object with version and screens")
    return raw


def _flow_id(flow_id: str) -> str:
    text = str(flow_id).strip()
    if not text or "/" in text or "?" in text:
        raise errors.ValidationError("flow_id", f"{flow_id!r} is not a flow id")
    return text


class FlowsApi(ApiConfig):
    """WhatsApp Flows management: create, update JSON, publish, deprecate, delete, assets, metrics."""

    @operation
    def create_flow(
        self,
        name: str,
        categories: Sequence[str],
        *,
        flow_json: Mapping[str, Any] | str | None = None,
        publish: bool | None = None,
        endpoint_uri: str | None = None,
        clone_flow_id: str | None = None,
        waba_id: str | None = None,
    ) -> Operation[FlowResult]:
        """Create a flow (optionally from a Flow JSON, a clone, and published at once)."""
        waba = self.require_waba(waba_id)
        lim = limit("flow.name")
        if not lim.min <= len(name) <= lim.max:
            raise errors.ValidationError(
                "name", f"must be {lim.min}–{lim.max} characters", size=len(name), limit=lim.max
            )
        form: dict[str, str] = {"name": name, "categories": _categories(categories)}
        if flow_json is not None:
            form["flow_json"] = _flow_json_bytes(flow_json).decode()
        if publish is not None:
            form["publish"] = "true" if publish else "false"
        if endpoint_uri:
            form["endpoint_uri"] = endpoint_uri
        if clone_flow_id:
            form["clone_flow_id"] = _flow_id(clone_flow_id)
        answer = yield from call(Request("POST", f"{waba}/flows", data=form))
        return parse_answer(FlowResult, answer or {})

    @operation
    def update_flow_metadata(
        self,
        flow_id: str,
        *,
        name: str | None = None,
        categories: Sequence[str] | None = None,
        endpoint_uri: str | None = None,
        application_id: str | None = None,
    ) -> Operation[bool]:
        """Rename a flow, change its categories, endpoint or application."""
        form: dict[str, str] = {}
        if name is not None:
            form["name"] = name
        if categories is not None:
            form["categories"] = _categories(categories)
        if endpoint_uri is not None:
            form["endpoint_uri"] = endpoint_uri
        if application_id is not None:
            form["application_id"] = application_id
        if not form:
            raise errors.ValidationError("flow", "nothing to update")
        answer = yield from call(Request("POST", _flow_id(flow_id), data=form))
        return success(answer)

    @operation
    def update_flow_json(self, flow_id: str, flow_json: Mapping[str, Any] | str | bytes) -> Operation[FlowResult]:
        """Upload the Flow JSON as the flow's ``FLOW_JSON`` asset; returns Meta's validation errors."""
        data = _flow_json_bytes(flow_json)
        answer = yield from call(
            Request(
                "POST",
                f"{_flow_id(flow_id)}/assets",
                data={"name": "flow.json", "asset_type": "FLOW_JSON"},
                files={"file": ("flow.json", data, "application/json")},
            )
        )
        return parse_answer(FlowResult, answer or {})

    @operation
    def publish_flow(self, flow_id: str) -> Operation[bool]:
        """Publish a draft flow (irreversible: a published flow can only be deprecated)."""
        answer = yield from call(Request("POST", f"{_flow_id(flow_id)}/publish"))
        return success(answer)

    @operation
    def deprecate_flow(self, flow_id: str) -> Operation[bool]:
        """Deprecate a published flow so it can no longer be sent."""
        answer = yield from call(Request("POST", f"{_flow_id(flow_id)}/deprecate"))
        return success(answer)

    @operation
    def delete_flow(self, flow_id: str) -> Operation[bool]:
        """Delete a draft flow."""
        answer = yield from call(Request("DELETE", _flow_id(flow_id)))
        return success(answer)

    @operation
    def get_flow(self, flow_id: str, *, fields: Sequence[str] | None = None) -> Operation[dict[str, Any]]:
        """One flow (``fields`` e.g. id, name, status, categories, validation_errors, preview)."""
        params = list_params(fields=list(fields) if fields else None)
        body = yield from call(Request("GET", _flow_id(flow_id), params=params or None))
        return dict(body or {})

    @operation
    def list_flows(
        self, *, limit: int | None = None, after: str | None = None, waba_id: str | None = None
    ) -> Operation[Page]:
        """One page of the WABA's flows."""
        waba = self.require_waba(waba_id)
        body = yield from call(Request("GET", f"{waba}/flows", params=list_params(limit=limit, after=after) or None))
        return parse_answer(Page, body or {})

    @operation
    def flow_assets(self, flow_id: str) -> Operation[list[dict[str, Any]]]:
        """The flow's assets (``asset_type``, ``name``, ``download_url`` of the Flow JSON)."""
        body = yield from call(Request("GET", f"{_flow_id(flow_id)}/assets"))
        return parse_answer(Page, body or {}).data

    @operation
    def flow_metrics(
        self,
        flow_id: str,
        metric: str,
        *,
        granularity: str = "DAY",
        since: str | None = None,
        until: str | None = None,
    ) -> Operation[dict[str, Any]]:
        """An endpoint metric (``ENDPOINT_REQUEST_COUNT``…) by DAY/HOUR/LIFETIME; dates as YYYY-MM-DD."""
        if metric not in METRIC_NAMES:
            raise errors.ValidationError("metric", f"{metric!r} not in {sorted(METRIC_NAMES)}")
        if granularity not in GRANULARITIES:
            raise errors.ValidationError("granularity", f"{granularity!r} not in {sorted(GRANULARITIES)}")
        spec = f"metric.name({metric}).granularity({granularity})"
        if since:
            spec += f".since({since})"
        if until:
            spec += f".until({until})"
        body = yield from call(Request("GET", _flow_id(flow_id), params={"fields": spec}))
        metric_obj = (body or {}).get("metric")
        return dict(metric_obj) if isinstance(metric_obj, Mapping) else {}
