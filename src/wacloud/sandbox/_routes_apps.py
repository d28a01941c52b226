"""Subscribed apps of the WABA: ``/{waba-id}/subscribed_apps`` (subscribing turns webhooks on)."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._http import (
    answer,
    json_body,
    param,
    sandbox_of,
    text,
)
from wacloud.sandbox._model import SANDBOX_APP
from wacloud.sandbox._state import ManagementState


async def list_apps(request: Request, mgmt: ManagementState) -> Any:
    return {"data": [dict(a) for a in mgmt.subscribed]}


async def subscribe(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    body = await json_body(request)
    unknown = set(body) - {"override_callback_uri", "verify_token"}
    if unknown:
        raise param(f"Param(s) {sorted(unknown)} are not valid here.")
    uri = text(body, "override_callback_uri")
    entry: dict[str, Any] = {"whatsapp_business_api_data": dict(SANDBOX_APP)}
    if uri is not None:
        if not re.match(r"^https?://[^\s/]+", uri):
            raise param("Invalid callback URI format")
        if not text(body, "verify_token"):
            raise GraphError(131008, "The parameter verify_token is required with override_callback_uri.")
        entry["override_callback_uri"] = uri
        # The override sends this WABA's webhooks to ``uri`` instead of the app's callback.
        state.config.webhook_url = uri
    elif not mgmt.subscribed and mgmt.unsubscribed_webhook_url is not None:
        state.config.webhook_url = mgmt.unsubscribed_webhook_url
    mgmt.subscribed = [entry]
    if uri is not None:
        return {"success": True, "data": [entry]}
    return {"success": True}


async def unsubscribe(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    if not mgmt.subscribed:
        raise GraphError(100, "WhatsApp Business Account not found or not subscribed", http_status=400)
    mgmt.subscribed = []
    # Without a subscribed app, Meta delivers no webhooks for the WABA.
    mgmt.unsubscribed_webhook_url = state.config.webhook_url
    state.config.webhook_url = None
    return {"success": True}


path = "/{waba_id}/subscribed_apps"


_PATH = "/{waba_id}/subscribed_apps"
ROUTES: list[BaseRoute] = [
    Route(_PATH, answer(list_apps, waba_level=True), methods=["GET"]),
    Route(_PATH, answer(subscribe, waba_level=True), methods=["POST"]),
    Route(_PATH, answer(unsubscribe, waba_level=True), methods=["DELETE"]),
]
