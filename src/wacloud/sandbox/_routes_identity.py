"""Business identity routes: ``/{phone-number-id}/username``, ``/conversational_automation`` and
``/whatsapp_commerce_settings`` (display name change requests go through ``POST /{phone-number-id}``,
in ``_routes_phones``). Rules live in ``_business_identity``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from wacloud.sandbox._business_identity import set_automation, set_commerce, set_username
from wacloud.sandbox._http import answer, json_body, require_phone, sandbox_of
from wacloud.sandbox._state import ManagementState


async def get_username(request: Request, mgmt: ManagementState) -> Any:
    phone = mgmt.phones[require_phone(sandbox_of(request), request)]
    if phone.username is None:
        return {}  # Meta leaves ``username`` out when the number has none
    return {"username": phone.username, "status": phone.username_status}


async def post_username(request: Request, mgmt: ManagementState) -> Any:
    pid = require_phone(sandbox_of(request), request)
    return set_username(mgmt.phones, pid, await json_body(request))


async def delete_username(request: Request, mgmt: ManagementState) -> Any:
    phone = mgmt.phones[require_phone(sandbox_of(request), request)]
    phone.username = phone.username_status = None
    return {"success": True}


async def post_automation(request: Request, mgmt: ManagementState) -> Any:
    phone = mgmt.phones[require_phone(sandbox_of(request), request)]
    set_automation(phone, await json_body(request))
    return {"success": True}


async def get_commerce(request: Request, mgmt: ManagementState) -> Any:
    pid = require_phone(sandbox_of(request), request)
    return {"data": [{"id": pid, **mgmt.phones[pid].commerce}]}


async def post_commerce(request: Request, mgmt: ManagementState) -> Any:
    phone = mgmt.phones[require_phone(sandbox_of(request), request)]
    values = dict(request.query_params)
    body = await json_body(request)  # clients that send a body instead of query parameters
    values.update({k: str(v) for k, v in body.items()})
    set_commerce(phone, values)
    return {"success": True}


ROUTES: list[BaseRoute] = [
    Route("/{phone_id}/username", answer(get_username), methods=["GET"]),
    Route("/{phone_id}/username", answer(post_username), methods=["POST"]),
    Route("/{phone_id}/username", answer(delete_username), methods=["DELETE"]),
    Route("/{phone_id}/conversational_automation", answer(post_automation), methods=["POST"]),
    Route("/{phone_id}/whatsapp_commerce_settings", answer(get_commerce), methods=["GET"]),
    Route("/{phone_id}/whatsapp_commerce_settings", answer(post_commerce), methods=["POST"]),
]
