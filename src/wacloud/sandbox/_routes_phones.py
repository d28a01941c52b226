"""Phone numbers of the WABA, registration, two-step PIN and the verification code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from wacloud import limits
from wacloud.sandbox._business_identity import identity_view, request_display_name
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._http import (
    NodeRoute,
    answer,
    fields,
    json_body,
    param,
    require_phone,
    sandbox_of,
)
from wacloud.sandbox._model import PhoneState
from wacloud.sandbox._state import ManagementState, SandboxState, management_state

_PIN = re.compile(r"^[0-9]{6}$")
_LOCALE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")
_REGISTER_WINDOW_S = 72 * 3600.0


def _phone_view(state: SandboxState, pid: str, phone: PhoneState) -> dict[str, Any]:
    cfg = state.config
    digits = cfg.numbers.get(pid, cfg.display_phone_number)
    return {
        "id": pid,
        "display_phone_number": f"+{digits[:1]} {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
        if len(digits) == 11
        else f"+{digits}",
        "verified_name": phone.verified_name,
        "code_verification_status": "VERIFIED" if phone.verified else "NOT_VERIFIED",
        "quality_rating": "GREEN",
        "platform_type": "CLOUD_API" if phone.registered else "NOT_APPLICABLE",
        "throughput": {
            "level": "HIGH"
            if {**cfg.number_rates(), **state.portfolio.upgraded}.get(pid, cfg.mps) >= limits.UPGRADED_MPS
            else "STANDARD"
        },
        "name_status": "APPROVED",
        "is_on_biz_app": phone.on_biz_app,
        "new_name_status": phone.new_name_status,
        "status": "CONNECTED" if phone.registered else "DISCONNECTED",
        "whatsapp_business_manager_messaging_limit": state.portfolio.tier_name,
        "messaging_limit_tier": state.portfolio.tier_name,
        "is_pin_enabled": phone.pin is not None,
        "webhook_configuration": {
            "application": state.config.webhook_url or "",
            **({"phone_number": phone.webhook_override} if phone.webhook_override else {}),
        },
        **identity_view(phone),
    }


def _select(view: dict[str, Any], wanted: list[str] | None) -> dict[str, Any]:
    if wanted is None:
        return view
    unknown = [w for w in wanted if w not in view]
    if unknown:
        raise param(f"Tried accessing nonexisting field(s) {unknown} on the phone number.")
    return {"id": view["id"], **{k: view[k] for k in wanted}}


def _register_budget(state: SandboxState, phone: PhoneState) -> None:
    now = state.clock.now()
    while phone.register_calls and now - phone.register_calls[0] >= _REGISTER_WINDOW_S:
        phone.register_calls.popleft()
    if len(phone.register_calls) >= limits.REGISTER_ATTEMPTS_PER_72H:
        raise GraphError(
            133016,
            f"More than {limits.REGISTER_ATTEMPTS_PER_72H} register/deregister requests "
            "in 72 hours; this number is blocked from registering for 72 hours.",
        )
    phone.register_calls.append(now)


def _pin_of(body: Mapping[str, Any], key: str = "pin") -> str:
    pin = body.get(key)
    if pin is None:
        raise GraphError(131008, f"The parameter {key} is required.")
    if not isinstance(pin, str) or not _PIN.match(pin):
        raise param(f"Invalid {key.upper() if key == 'pin' else key} format. It must be exactly 6 digits")
    return pin


def owns_phone(state: SandboxState, node: str) -> bool:
    return node in management_state(state).phones


async def list_numbers(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    wanted = fields(request)
    waba = str(request.path_params["waba_id"])
    return {
        "data": [
            _select(_phone_view(state, pid, p), wanted)
            for pid, p in mgmt.phones.items()
            if state.config.waba_of(pid) == waba  # each WABA lists its own numbers
        ],
        "paging": {"cursors": {"before": "QVFIU0", "after": "QVFIU0"}},
    }


async def get_number(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    pid = require_phone(state, request)
    return _select(_phone_view(state, pid, mgmt.phones[pid]), fields(request))


async def post_number(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    pid = require_phone(state, request)
    body = await json_body(request)
    unknown = set(body) - {"pin", "webhook_configuration", "new_display_name"}
    if unknown or not body:
        raise param(
            f"Param(s) {sorted(unknown) or '(none)'} are not supported by the sandbox on this node; "
            "use pin, webhook_configuration or new_display_name."
        )
    if "new_display_name" in body:
        request_display_name(mgmt.phones[pid], body["new_display_name"])
    if "pin" in body:
        mgmt.phones[pid].pin = _pin_of(body)
    if "webhook_configuration" in body:
        conf = body["webhook_configuration"]
        uri = conf.get("override_callback_uri") if isinstance(conf, dict) else None
        if not isinstance(uri, str) or not re.match(r"^https?://[^\s/]+", uri):
            raise param("Invalid parameter: webhook_configuration.override_callback_uri must be a URL")
        if not isinstance(conf.get("verify_token"), str) or not conf["verify_token"]:
            raise GraphError(131008, "The parameter webhook_configuration.verify_token is required.")
        # A number-level override wins over the WABA's and the app's callback for this number.
        mgmt.phones[pid].webhook_override = uri
        state.config.webhook_url = uri
    return {"success": True}


async def register(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    phone = mgmt.phones[require_phone(state, request)]
    body = await json_body(request)
    if body.get("messaging_product") != "whatsapp":
        raise GraphError(131008, "The parameter messaging_product is required and must be 'whatsapp'.")
    pin = _pin_of(body)
    region = body.get("data_localization_region")
    if region is not None and (not isinstance(region, str) or not re.fullmatch(r"[A-Z]{2}", region)):
        raise param("Param data_localization_region must be a 2-letter country code.")
    _register_budget(state, phone)
    if not phone.verified:
        raise GraphError(133006, "The phone number must be verified (request_code, verify_code) first.")
    if phone.pin is not None and pin != phone.pin:
        raise GraphError(133005, "The two-step verification PIN is incorrect.")
    phone.pin = pin
    phone.registered = True
    return {"success": True}


async def deregister(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    phone = mgmt.phones[require_phone(state, request)]
    _register_budget(state, phone)
    if not phone.registered:
        raise param("Phone number not registered on the WhatsApp Business Platform.", subcode=2207051)
    phone.registered = False
    return {"success": True}


async def request_code(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    phone = mgmt.phones[require_phone(state, request)]
    body = await json_body(request)
    method = body.get("code_method")
    if method not in ("SMS", "VOICE"):
        raise param("Invalid parameter: code_method must be SMS or VOICE")
    language = body.get("language")
    if not isinstance(language, str) or not _LOCALE.match(language):
        raise param("Invalid parameter: language must be a locale such as en_US")
    phone.code_requested = True
    return {"success": True}


async def verify_code(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    pid = require_phone(state, request)
    phone = mgmt.phones[pid]
    body = await json_body(request)
    code = _pin_of(body, "code")
    if not phone.code_requested:
        raise param("No verification code was requested for this number (call request_code first).")
    if code != mgmt.verification_code:
        raise GraphError(100, "The verification code is invalid or has expired", message="(#100) Verification Failed")
    phone.verified = True
    phone.code_requested = False
    return {"success": True, "id": pid}


ROUTES: list[BaseRoute] = [
    Route("/{waba_id}/phone_numbers", answer(list_numbers, waba_level=True), methods=["GET"]),
    NodeRoute("/{node_id}", answer(get_number), methods=["GET"], owns=owns_phone),
    NodeRoute("/{node_id}", answer(post_number), methods=["POST"], owns=owns_phone),
    Route("/{phone_id}/register", answer(register), methods=["POST"]),
    Route("/{phone_id}/deregister", answer(deregister), methods=["POST"]),
    Route("/{phone_id}/request_code", answer(request_code), methods=["POST"]),
    Route("/{phone_id}/verify_code", answer(verify_code), methods=["POST"]),
]
