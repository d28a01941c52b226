"""The business profile: ``GET``/``POST /{phone-number-id}/whatsapp_business_profile``."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from wacloud import limits
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._http import (
    answer,
    fields,
    json_body,
    length,
    param,
    require_phone,
    sandbox_of,
    text,
)
from wacloud.sandbox._state import ManagementState

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PROFILE_KEYS = frozenset(
    {
        "messaging_product",
        "about",
        "address",
        "description",
        "email",
        "websites",
        "vertical",
        "profile_picture_handle",
    }
)


async def get_profile(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    phone = mgmt.phones[require_phone(state, request)]
    wanted = fields(request)
    profile = {k: v for k, v in phone.profile.items() if wanted is None or k in wanted}
    unknown = set(wanted or []) - set(phone.profile)
    if unknown:
        raise param(f"Tried accessing nonexisting field(s) {sorted(unknown)} on the business profile.")
    return {"data": [{**profile, "messaging_product": "whatsapp"}]}


async def post_profile(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    phone = mgmt.phones[require_phone(state, request)]
    body = await json_body(request)
    if body.get("messaging_product") != "whatsapp":
        raise GraphError(131008, "The parameter messaging_product is required and must be 'whatsapp'.")
    unknown = set(body) - _PROFILE_KEYS
    if unknown:
        raise param(f"Param(s) {sorted(unknown)} are not valid business profile fields.")
    update: dict[str, Any] = {}
    for key, limit_key in (
        ("about", "profile.about"),
        ("address", "profile.address"),
        ("description", "profile.description"),
        ("email", "profile.email"),
    ):
        value = text(body, key)
        if value is not None:
            length(key, limit_key, value)
            update[key] = value
    if "email" in update and update["email"] and not _EMAIL.match(update["email"]):
        raise param("Invalid parameter: email must be a valid email address")
    if "websites" in body:
        sites = body["websites"]
        cap = limits.limit("profile.websites").max
        if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
            raise param("Param websites must be an array of strings.")
        if len(sites) > cap:
            raise param(f"Param websites may hold at most {cap} websites.")
        for site in sites:
            length("websites", "profile.website", site)
            if not site.startswith(("http://", "https://")):
                raise param("Param websites must contain URLs starting with http:// or https://.")
        update["websites"] = sites
    vertical = text(body, "vertical")
    if vertical is not None:
        if vertical not in limits.PROFILE_VERTICALS:
            raise param(f"Param vertical must be one of {sorted(limits.PROFILE_VERTICALS)}.")
        update["vertical"] = vertical
    handle = text(body, "profile_picture_handle")
    if handle is not None:
        session = mgmt.handles.get(handle)
        if session is None or not session.file_type.startswith("image/"):
            raise param("The profile picture handle is invalid or expired")
        update["profile_picture_url"] = f"https://pps.whatsapp.net/v/sandbox/{session.id.split(':', 1)[1]}.jpg"
    phone.profile.update(update)
    return {"success": True}


ROUTES: list[BaseRoute] = [
    Route("/{phone_id}/whatsapp_business_profile", answer(get_profile), methods=["GET"]),
    Route("/{phone_id}/whatsapp_business_profile", answer(post_profile), methods=["POST"]),
]
