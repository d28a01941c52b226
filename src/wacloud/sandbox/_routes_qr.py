"""QR codes and short links: ``/{phone-number-id}/message_qrdls``."""

from __future__ import annotations

import re
import string
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from wacloud import limits
from wacloud.sandbox._http import (
    answer,
    json_body,
    no_object,
    param,
    require_phone,
    sandbox_of,
    text,
)
from wacloud.sandbox._model import PhoneState
from wacloud.sandbox._state import ManagementState

_QR_ALPHABET = string.ascii_uppercase + "234567"
_QR_CODE = re.compile(r"^[A-Z2-7]{14}$")


def view(qr: dict[str, Any], image: str | None) -> dict[str, Any]:
    out = {k: qr[k] for k in ("code", "prefilled_message", "deep_link_url")}
    if image:
        out["qr_image_url"] = f"https://scontent.sandbox.wacloud/qr/{qr['code']}.{image.lower()}"
    return out


def image_format(raw: Any) -> str | None:
    if raw is None:
        return None
    if raw not in ("SVG", "PNG"):
        raise param("Param generate_qr_image must be SVG or PNG.")
    return str(raw)


def wanted_image(request: Request) -> str | None:
    match = re.search(r"qr_image_url\.format\((SVG|PNG)\)", request.query_params.get("fields", ""))
    return match.group(1) if match else None


async def create_or_update(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    phone = mgmt.phones[require_phone(state, request)]
    body = await json_body(request)
    message = text(body, "prefilled_message", required=True)
    assert message is not None
    lim = limits.limit("qr.prefilled_message")
    if not lim.min <= len(message) <= lim.max:
        raise param(f"Invalid prefilled_message length. Maximum {lim.max} characters allowed")
    image = image_format(body.get("generate_qr_image"))
    code = text(body, "code")
    if code is not None:
        if code not in phone.qr_codes:
            raise param(f"QR code {code!r} does not exist on this phone number.")
        phone.qr_codes[code]["prefilled_message"] = message
        return view(phone.qr_codes[code], image)
    cap = limits.limit("qr.per_number").max
    if len(phone.qr_codes) >= cap:
        raise param(f"This phone number already has {cap} QR codes.")
    code = "".join(state.rng.choice(_QR_ALPHABET) for _ in range(14))
    qr = {"code": code, "prefilled_message": message, "deep_link_url": f"https://wa.me/message/{code}"}
    phone.qr_codes[code] = qr
    return view(qr, image)


async def list_codes(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    phone = mgmt.phones[require_phone(state, request)]
    code = request.query_params.get("code")
    items = [q for c, q in phone.qr_codes.items() if code is None or c == code]
    return {"data": [view(q, wanted_image(request)) for q in items]}


def lookup(request: Request, mgmt: ManagementState) -> tuple[PhoneState, str]:
    state = sandbox_of(request)
    phone = mgmt.phones[require_phone(state, request)]
    code = str(request.path_params["code"])
    if not _QR_CODE.match(code) or code not in phone.qr_codes:
        raise no_object(code, request.method)
    return phone, code


async def get_code(request: Request, mgmt: ManagementState) -> Any:
    phone, code = lookup(request, mgmt)
    return {"data": [view(phone.qr_codes[code], wanted_image(request))]}


async def delete_code(request: Request, mgmt: ManagementState) -> Any:
    phone, code = lookup(request, mgmt)
    del phone.qr_codes[code]
    return {"success": True}


ROUTES: list[BaseRoute] = [
    Route("/{phone_id}/message_qrdls", answer(list_codes), methods=["GET"]),
    Route("/{phone_id}/message_qrdls", answer(create_or_update), methods=["POST"]),
    Route("/{phone_id}/message_qrdls/{code}", answer(get_code), methods=["GET"]),
    Route("/{phone_id}/message_qrdls/{code}", answer(delete_code), methods=["DELETE"]),
]
