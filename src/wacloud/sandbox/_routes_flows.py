"""Flows of the WABA: create, metadata, the Flow JSON asset, publish and deprecate."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._http import (
    NodeRoute,
    answer,
    fields,
    form_or_json,
    length,
    param,
    sandbox_of,
    text,
)
from wacloud.sandbox._model import FlowRecord
from wacloud.sandbox._state import ManagementState, SandboxState, management_state

_FLOW_CATEGORIES = frozenset(
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
#: The largest sample the resumable upload accepts (the largest media kind's limit).


def _validate_flow_json(raw: bytes) -> list[dict[str, Any]]:
    """Meta-shaped validation errors for a Flow JSON (an empty list when it is acceptable)."""

    def err(error: str, message: str) -> dict[str, Any]:
        return {
            "error": error,
            "error_type": "FLOW_JSON_ERROR",
            "message": message,
            "line_start": 1,
            "line_end": 1,
            "column_start": 1,
            "column_end": 1,
        }

    try:
        doc = json.loads(raw)
    except ValueError as exc:
        return [err("INVALID_JSON", f"The Flow JSON is not valid JSON: {exc}")]
    if not isinstance(doc, dict):
        return [err("INVALID_JSON", "The Flow JSON must be an object.")]
    out = []
    if not isinstance(doc.get("version"), str):
        out.append(err("MISSING_REQUIRED_PROPERTY", 'The property "version" is required.'))
    screens = doc.get("screens")
    if not isinstance(screens, list) or not screens:
        out.append(err("MISSING_REQUIRED_PROPERTY", 'The property "screens" must be a non-empty array.'))
    else:
        for i, screen in enumerate(screens):
            if not isinstance(screen, dict) or not isinstance(screen.get("id"), str):
                out.append(err("MISSING_REQUIRED_PROPERTY", f'screens[{i}] needs an "id".'))
            elif not isinstance(screen.get("layout"), dict):
                out.append(err("MISSING_REQUIRED_PROPERTY", f'screen {screen["id"]} needs a "layout".'))
    return out


def _categories(raw: Any) -> list[str]:
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            value = [raw]
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise param("Param categories must be a non-empty array of categories.")
    bad = [c for c in value if c not in _FLOW_CATEGORIES]
    if bad:
        raise param(f"Param categories has invalid value(s) {bad}; valid: {sorted(_FLOW_CATEGORIES)}.")
    return list(value)


def owns_flow(state: SandboxState, node: str) -> bool:
    return node in management_state(state).flows


def flow_of(request: Request, mgmt: ManagementState) -> FlowRecord:
    return mgmt.flows[str(request.path_params["node_id"])]


async def list_flows(request: Request, mgmt: ManagementState) -> Any:
    return {
        "data": [{k: v for k, v in f.to_graph().items() if k != "json_version"} for f in mgmt.flows.values()],
        "paging": {"cursors": {"before": "QVFIU0", "after": "QVFIU0"}},
    }


async def create(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    body, _files = await form_or_json(request)
    name = text(body, "name", required=True)
    assert name is not None
    length("name", "flow.name", name)
    if any(f.name == name for f in mgmt.flows.values()):
        raise param("Flow name is not unique")
    categories = _categories(body.get("categories"))
    flow = FlowRecord(state.ids.object_id(), name, categories, endpoint_uri=text(body, "endpoint_uri"))
    clone = text(body, "clone_flow_id")
    if clone is not None:
        if clone not in mgmt.flows:
            raise param(f"Flow {clone!r} to clone does not exist.")
        flow.flow_json = mgmt.flows[clone].flow_json
        flow.validation_errors = list(mgmt.flows[clone].validation_errors)
    raw = body.get("flow_json")
    if raw is not None:
        flow.flow_json = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
        flow.validation_errors = _validate_flow_json(flow.flow_json)
    publish = str(body.get("publish", "false")).lower() == "true"
    if publish and (flow.flow_json is None or flow.validation_errors):
        raise GraphError(139002, "The flow cannot be published: it has no valid Flow JSON.")
    if publish:
        flow.status = "PUBLISHED"
    mgmt.flows[flow.id] = flow
    out: dict[str, Any] = {"id": flow.id, "success": True}
    if raw is not None:
        out["validation_errors"] = flow.validation_errors
    return out


async def get_flow(request: Request, mgmt: ManagementState) -> Any:
    flow = flow_of(request, mgmt)
    spec = request.query_params.get("fields", "")
    metric = re.match(r"^metric\.name\((\w+)\)\.granularity\((\w+)\)", spec)
    if metric:
        name, granularity = metric.groups()
        return {
            "id": flow.id,
            "metric": {
                "name": name,
                "granularity": granularity,
                "data_points": [{"timestamp": "2026-01-01T08:00:00+0000", "data": [{"key": "value", "value": 0}]}],
            },
        }
    view = flow.to_graph()
    wanted = fields(request)
    if wanted:
        if "preview" in wanted:
            view["preview"] = {
                "preview_url": f"https://business.facebook.com/wa/manage/flows/{flow.id}/preview/",
                "expires_at": "2099-01-01T00:00:00+0000",
            }
        view = {k: v for k, v in view.items() if k in wanted or k == "id"}
    return view


async def update_metadata(request: Request, mgmt: ManagementState) -> Any:
    flow = flow_of(request, mgmt)
    body, _ = await form_or_json(request)
    if flow.status != "DRAFT" and set(body) - {"endpoint_uri", "application_id"}:
        raise GraphError(139001, "A published or deprecated flow's name and categories cannot be changed.")
    name = text(body, "name")
    if name is not None:
        length("name", "flow.name", name)
        if any(f.name == name and f.id != flow.id for f in mgmt.flows.values()):
            raise param("Flow name is not unique")
        flow.name = name
    if "categories" in body:
        flow.categories = _categories(body["categories"])
    if "endpoint_uri" in body:
        flow.endpoint_uri = text(body, "endpoint_uri")
    return {"success": True}


async def delete_flow(request: Request, mgmt: ManagementState) -> Any:
    flow = flow_of(request, mgmt)
    if flow.status != "DRAFT":
        raise GraphError(139004, "Only DRAFT flows can be deleted; deprecate a published flow instead.")
    del mgmt.flows[flow.id]
    return {"success": True}


async def list_assets(request: Request, mgmt: ManagementState) -> Any:
    flow = flow_of(request, mgmt)
    data = []
    if flow.flow_json is not None:
        data.append(
            {
                "name": "flow.json",
                "asset_type": "FLOW_JSON",
                "download_url": f"{str(request.url).split('?', 1)[0]}/flow.json",
            }
        )
    return {"data": data, "paging": {"cursors": {"before": "QVFIU0", "after": "QVFIU0"}}}


async def upload_asset(request: Request, mgmt: ManagementState) -> Any:
    flow = flow_of(request, mgmt)
    if flow.status != "DRAFT":
        raise GraphError(139001, "The Flow JSON of a published or deprecated flow cannot be changed.")
    body, files = await form_or_json(request)
    if body.get("asset_type") != "FLOW_JSON":
        raise param("Param asset_type must be FLOW_JSON.")
    raw = files.get("file")
    if raw is None:
        raise GraphError(131008, "The parameter file is required.")
    flow.flow_json = raw
    flow.validation_errors = _validate_flow_json(raw)
    return {"success": True, "validation_errors": flow.validation_errors}


async def download(request: Request, mgmt: ManagementState) -> Any:
    flow = flow_of(request, mgmt)
    return Response(flow.flow_json or b"{}", media_type="application/json")


async def publish(request: Request, mgmt: ManagementState) -> Any:
    flow = flow_of(request, mgmt)
    if flow.status != "DRAFT":
        raise GraphError(139002, f"A {flow.status} flow cannot be published.")
    if flow.flow_json is None or flow.validation_errors:
        raise GraphError(139002, "The flow cannot be published: its Flow JSON is missing or has errors.")
    flow.status = "PUBLISHED"
    return {"success": True}


async def deprecate(request: Request, mgmt: ManagementState) -> Any:
    flow = flow_of(request, mgmt)
    if flow.status != "PUBLISHED":
        raise GraphError(139003, f"Only PUBLISHED flows can be deprecated (this one is {flow.status}).")
    flow.status = "DEPRECATED"
    return {"success": True}


def node(path: str, handler: Callable[[Request, ManagementState], Awaitable[Any]], method: str) -> NodeRoute:
    return NodeRoute(path, answer(handler), methods=[method], owns=owns_flow)


ROUTES: list[BaseRoute] = [
    Route("/{waba_id}/flows", answer(list_flows, waba_level=True), methods=["GET"]),
    Route("/{waba_id}/flows", answer(create, waba_level=True), methods=["POST"]),
    node("/{node_id}", get_flow, "GET"),
    node("/{node_id}", update_metadata, "POST"),
    node("/{node_id}", delete_flow, "DELETE"),
    node("/{node_id}/assets", list_assets, "GET"),
    node("/{node_id}/assets", upload_asset, "POST"),
    node("/{node_id}/assets/flow.json", download, "GET"),
    node("/{node_id}/publish", publish, "POST"),
    node("/{node_id}/deprecate", deprecate, "POST"),
]
