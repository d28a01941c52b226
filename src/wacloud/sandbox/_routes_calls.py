"""Calling API routes: ``/{phone-number-id}/calls``, ``/call_permissions``, ``/settings`` and the WABA's
``call_analytics`` field (``GET /{waba-id}?fields=call_analytics…``). The rules live in ``_calls``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._calls as _calls
from wacloud.sandbox._errors import missing
from wacloud.sandbox._http import NodeRoute, answer, json_body, param, require_phone, sandbox_of
from wacloud.sandbox._state import ManagementState, SandboxState


async def calls(request: Request, mgmt: ManagementState) -> Any:
    """POST /{phone-number-id}/calls."""
    state = sandbox_of(request)
    pid = require_phone(state, request)
    return _calls.business_action(state, pid, await json_body(request))


async def call_permissions(request: Request, mgmt: ManagementState) -> Any:
    """GET /{phone-number-id}/call_permissions?user_wa_id=."""
    state = sandbox_of(request)
    pid = require_phone(state, request)
    user = request.query_params.get("user_wa_id")
    if user is None:
        raise missing("user_wa_id")
    wa_id = "".join(ch for ch in user if ch.isdigit())
    if not 7 <= len(wa_id) <= 15:
        raise param(f"Param user_wa_id {user!r} is not a WhatsApp id.")
    return _calls.permission_view(state, pid, wa_id)


async def get_settings(request: Request, mgmt: ManagementState) -> Any:
    """GET /{phone-number-id}/settings."""
    state = sandbox_of(request)
    pid = require_phone(state, request)
    block = _calls.settings(state, pid)
    if request.query_params.get("include_sip_credentials") != "true":
        sip = block.get("sip")
        if isinstance(sip, dict):
            # Credentials only when asked for, as Meta does.
            block["sip"] = {k: v for k, v in sip.items() if k != "credentials"}
    return {"calling": block, "storage_configuration": {"status": "default"}}


async def post_settings(request: Request, mgmt: ManagementState) -> Any:
    """POST /{phone-number-id}/settings."""
    state = sandbox_of(request)
    pid = require_phone(state, request)
    _calls.update_settings(state, pid, await json_body(request))
    return {"success": True}


def owns_waba(state: SandboxState, node: str) -> bool:
    """The WABA node answers only its ``call_analytics`` field here."""
    return node == state.config.waba_id


async def waba_node(request: Request, mgmt: ManagementState) -> Any:
    """GET /{waba-id}?fields=call_analytics.start(…).end(…)…"""
    state = sandbox_of(request)
    raw = request.query_params.get("fields", "")
    out: dict[str, Any] = {}
    for item in _top_level(raw):
        if item.startswith("call_analytics"):
            out["call_analytics"] = _calls.analytics(state, item)
        elif item.startswith("pricing_analytics"):
            out["pricing_analytics"] = _calls.pricing_analytics(state, item)
        elif item == "id":
            continue
        else:
            raise param(f"Tried accessing nonexisting field ({item}) on the WhatsApp Business Account in the sandbox.")
    if not out:
        raise param("The sandbox answers GET on the WABA node for fields=call_analytics… or pricing_analytics… only.")
    out["id"] = state.config.waba_id
    return out


def _top_level(raw: str) -> list[str]:
    """Split a ``fields`` value on the commas outside parentheses and brackets."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(raw):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(raw[start:i].strip())
            start = i + 1
    items.append(raw[start:].strip())
    return [item for item in items if item]


ROUTES: list[BaseRoute] = [
    Route("/{phone_id}/calls", answer(calls), methods=["POST"]),
    Route("/{phone_id}/call_permissions", answer(call_permissions), methods=["GET"]),
    Route("/{phone_id}/settings", answer(get_settings), methods=["GET"]),
    Route("/{phone_id}/settings", answer(post_settings), methods=["POST"]),
    NodeRoute("/{node_id}", answer(waba_node), methods=["GET"], owns=owns_waba),
]
