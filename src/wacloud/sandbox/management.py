"""Sandbox routes for the management endpoints: business profile, phone numbers, registration, two-step
PIN, block users, QR codes, subscribed apps, flows and the resumable upload API.

``routes(state)`` returns Starlette routes with paths *after* the version prefix (the app strips the
version, applies auth, and falls through to these routes for paths its own routes do not take).
Single-segment node paths (``/{phone-number-id}``, ``/{flow-id}``, ``/upload:{id}``) use
:class:`NodeRoute`, which matches only ids this module owns.

WABA-level management calls count against a rolling-hour budget per WABA
(``ManagementState.calls_per_hour``; by default Meta's 200, or 5,000 while a number is registered).
Over it they answer 80007; every such answer carries Meta's ``X-Business-Use-Case-Usage`` header. The
template routes of ``wacloud.sandbox.graph`` charge the same budget (``ManagementState.charge``), and
sends from a deregistered number answer 133010 (``ManagementState.is_registered``, read by ``sending``).
A sandbox reset renews this state through ``SandboxState.on_reset``.
The verification code the sandbox "sends" is ``ManagementState.verification_code`` ("123456").
"""

from __future__ import annotations

import json
import re
import string
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from wacloud import limits
from wacloud.sandbox.errors import GraphError

if TYPE_CHECKING:
    from wacloud.sandbox.state import SandboxState

_PIN = re.compile(r"^[0-9]{6}$")
_QR_ALPHABET = string.ascii_uppercase + "234567"
_QR_CODE = re.compile(r"^[A-Z2-7]{14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOCALE = re.compile(r"^[a-z]{2}_[A-Z]{2}$")
_HOUR = 3600.0
_REGISTER_WINDOW_S = 72 * 3600.0
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
_UPLOAD_MAX_BYTES = max(rule.max_bytes for rule in limits.MEDIA_RULES.values())
_UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "video/mp4", "application/pdf", "image/webp"})
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
SANDBOX_APP = {
    "id": "1000000000000001",
    "name": "wacloud sandbox app",
    "link": "https://www.facebook.com/games/?app_id=1000000000000001",
}


@dataclass(slots=True)
class PhoneState:
    """Registration, PIN, verification, profile and QR codes of one business number."""

    registered: bool = True
    verified: bool = True
    pin: str | None = None
    code_requested: bool = False
    register_calls: deque[float] = field(default_factory=deque)
    profile: dict[str, Any] = field(
        default_factory=lambda: {
            "about": "Hello from the wacloud sandbox",
            "address": "",
            "description": "",
            "email": "",
            "websites": [],
            "vertical": "OTHER",
            "profile_picture_url": "",
        }
    )
    qr_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_override: str | None = None


@dataclass(slots=True)
class FlowRecord:
    """A flow of the WABA: metadata, status and its Flow JSON asset."""

    id: str
    name: str
    categories: list[str]
    status: str = "DRAFT"
    flow_json: bytes | None = None
    validation_errors: list[dict[str, Any]] = field(default_factory=list)
    endpoint_uri: str | None = None

    def to_graph(self) -> dict[str, Any]:
        """The flow as ``GET /{flow-id}`` returns it."""
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "categories": self.categories,
            "status": self.status,
            "validation_errors": self.validation_errors,
            "json_version": _json_version(self.flow_json),
        }
        if self.endpoint_uri:
            out["endpoint_uri"] = self.endpoint_uri
        return out


@dataclass(slots=True)
class UploadSession:
    """A resumable upload: declared length and type, the bytes received, and the handle once complete."""

    id: str
    file_name: str
    file_length: int
    file_type: str
    data: bytearray = field(default_factory=bytearray)
    handle: str | None = None


class ManagementState:
    """The management half of the sandbox state (attached to ``SandboxState`` as ``.management``)."""

    def __init__(self, state: SandboxState) -> None:
        # Every business number of the WABA (extra_phone_numbers too), each registered on its own.
        self.phones: dict[str, PhoneState] = {pid: PhoneState() for pid in state.config.numbers}
        self.flows: dict[str, FlowRecord] = {}
        self.uploads: dict[str, UploadSession] = {}
        self.handles: dict[str, UploadSession] = {}
        self.subscribed: list[dict[str, Any]] = [{"whatsapp_business_api_data": dict(SANDBOX_APP)}]
        self.unsubscribed_webhook_url: str | None = None
        self.calls: dict[str, deque[float]] = {}
        #: Rolling-hour budget of WABA-level management calls, overriding ``SandboxConfig``'s
        #: ``management_calls_per_hour`` (read live, so the control API can change it); with neither,
        #: Meta's: 200, or 5,000 while the WABA is "active" (has a registered number).
        self.calls_per_hour: int | None = None
        self._state = state
        #: The code ``request_code`` "sends"; ``verify_code`` expects it.
        self.verification_code = "123456"

    def charge(self, state: SandboxState, waba_id: str) -> dict[str, str]:
        """Count one WABA-level call; return the usage header, or raise 80007 when over the budget."""
        now = state.clock.now()
        window = self.calls.setdefault(waba_id, deque())
        while window and now - window[0] >= _HOUR:
            window.popleft()
        budget = self.budget()
        over = len(window) >= budget
        if not over:
            window.append(now)
        pct = min(100, round(100 * len(window) / max(1, budget)))
        regain = 0 if not over else max(1, round((_HOUR - (now - window[0])) / 60))
        header = {
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    waba_id: [
                        {
                            "type": "whatsapp_business_management",
                            "call_count": pct,
                            "total_cputime": min(pct, 100) // 4,
                            "total_time": min(pct, 100) // 4,
                            "estimated_time_to_regain_access": regain,
                        }
                    ]
                }
            )
        }
        if over:
            raise ManagementRateLimited(header)
        return header

    def budget(self) -> int:
        """The hourly budget in force: this override, else the sandbox setting, else Meta's default."""
        if self.calls_per_hour is not None:
            return int(self.calls_per_hour)
        configured = getattr(self._state.config, "management_calls_per_hour", None)
        if configured is not None:
            return int(configured)
        active = any(phone.registered for phone in self.phones.values())
        return limits.MANAGEMENT_CALLS_PER_HOUR_ACTIVE if active else limits.MANAGEMENT_CALLS_PER_HOUR

    def is_registered(self, phone_number_id: str) -> bool:
        """False after a deregister (sends from the number should then fail with 133010)."""
        phone = self.phones.get(phone_number_id)
        return phone is None or phone.registered


class ManagementRateLimited(GraphError):
    """80007: the WABA's management budget is spent; ``headers`` carries the usage header to answer with."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(
            80007,
            "Rate limit hit for management calls on this WhatsApp Business Account.",
            message="(#80007) Rate limit issues",
        )
        self.headers = headers


def management_state(state: SandboxState) -> ManagementState:
    """The management state of ``state``, created on first use and renewed by every sandbox reset."""
    current = state.management
    if current is None:
        current = state.management = ManagementState(state)

        def renew() -> None:
            """A reset forgets registrations, flows, uploads and budgets like the rest of the state."""
            state.management = ManagementState(state)

        state.on_reset(renew)
    return current


# --- plumbing -----------------------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


def _answer(
    state: SandboxState,
    handler: Callable[[Request, ManagementState], Awaitable[Any]],
    *,
    waba_level: bool = False,
) -> Handler:
    """Wrap a handler: JSON answers, Meta-shaped errors, and the management budget for WABA-level paths."""

    async def endpoint(request: Request) -> Response:
        mgmt = management_state(state)
        headers: dict[str, str] = {}
        try:
            if waba_level:
                headers = mgmt.charge(state, _require_waba(state, request))
            result = await handler(request, mgmt)
        except ManagementRateLimited as exc:
            return JSONResponse(exc.body(state.ids.fbtrace_id()), status_code=exc.http_status, headers=exc.headers)
        except GraphError as exc:
            return JSONResponse(exc.body(state.ids.fbtrace_id()), status_code=exc.http_status, headers=headers)
        if isinstance(result, Response):
            result.headers.update(headers)
            return result
        return JSONResponse(result, headers=headers)

    return endpoint


def _param(details: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, details, subcode=subcode, message=f"(#100) {details}")


def _no_object(node: str, method: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation.",
        subcode=33,
    )


def _require_phone(state: SandboxState, request: Request) -> str:
    pid = str(request.path_params.get("phone_id") or request.path_params.get("node_id"))
    if pid not in management_state(state).phones:
        raise _no_object(pid, request.method)
    return pid


def _require_waba(state: SandboxState, request: Request) -> str:
    waba = str(request.path_params["waba_id"])
    if waba != state.config.waba_id:
        raise _no_object(waba, request.method)
    return waba


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(raw.decode(errors="replace")).items()}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _param("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _param("The request body must be a JSON object.")
    return body


async def _form_or_json(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Fields and files of a multipart/urlencoded form, or the fields of a JSON body."""
    if request.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        fields: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields[key] = value
            else:
                files[key] = await value.read()
        return fields, files
    return await _json_body(request), {}


def _fields(request: Request) -> list[str] | None:
    raw = request.query_params.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def _text(body: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _param(f"The parameter {key} is required.")
        return None
    if not isinstance(value, str):
        raise _param(f"Param {key} must be a string.")
    return value


def _length(key: str, limit_key: str, value: str) -> None:
    lim = limits.limit(limit_key)
    if not lim.min <= len(value) <= lim.max:
        raise _param(f"Param {key} must be {lim.min} to {lim.max} characters long (got {len(value)}).")


def _wa_id(user: str) -> str:
    return "".join(ch for ch in user if ch.isdigit())


class NodeRoute(Route):
    """A ``/{node_id}…`` route that matches only the ids ``owns(node_id)`` accepts."""

    def __init__(self, path: str, endpoint: Handler, *, methods: list[str], owns: Callable[[str], bool]) -> None:
        super().__init__(path, endpoint, methods=methods)
        self._owns = owns

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Like Route.matches, but NONE for ids that belong to other parts of the sandbox."""
        match, child = super().matches(scope)
        if match is not Match.NONE:
            node = str(child.get("path_params", {}).get("node_id", ""))
            if not self._owns(node):
                return Match.NONE, {}
        return match, child


# --- business profile ---------------------------------------------------------------------------


def _profile_routes(state: SandboxState) -> list[BaseRoute]:
    async def get_profile(request: Request, mgmt: ManagementState) -> Any:
        phone = mgmt.phones[_require_phone(state, request)]
        wanted = _fields(request)
        profile = {k: v for k, v in phone.profile.items() if wanted is None or k in wanted}
        unknown = set(wanted or []) - set(phone.profile)
        if unknown:
            raise _param(f"Tried accessing nonexisting field(s) {sorted(unknown)} on the business profile.")
        return {"data": [{**profile, "messaging_product": "whatsapp"}]}

    async def post_profile(request: Request, mgmt: ManagementState) -> Any:
        phone = mgmt.phones[_require_phone(state, request)]
        body = await _json_body(request)
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(131008, "The parameter messaging_product is required and must be 'whatsapp'.")
        unknown = set(body) - _PROFILE_KEYS
        if unknown:
            raise _param(f"Param(s) {sorted(unknown)} are not valid business profile fields.")
        update: dict[str, Any] = {}
        for key, limit_key in (
            ("about", "profile.about"),
            ("address", "profile.address"),
            ("description", "profile.description"),
            ("email", "profile.email"),
        ):
            value = _text(body, key)
            if value is not None:
                _length(key, limit_key, value)
                update[key] = value
        if "email" in update and update["email"] and not _EMAIL.match(update["email"]):
            raise _param("Invalid parameter: email must be a valid email address")
        if "websites" in body:
            sites = body["websites"]
            cap = limits.limit("profile.websites").max
            if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
                raise _param("Param websites must be an array of strings.")
            if len(sites) > cap:
                raise _param(f"Param websites may hold at most {cap} websites.")
            for site in sites:
                _length("websites", "profile.website", site)
                if not site.startswith(("http://", "https://")):
                    raise _param("Param websites must contain URLs starting with http:// or https://.")
            update["websites"] = sites
        vertical = _text(body, "vertical")
        if vertical is not None:
            if vertical not in limits.PROFILE_VERTICALS:
                raise _param(f"Param vertical must be one of {sorted(limits.PROFILE_VERTICALS)}.")
            update["vertical"] = vertical
        handle = _text(body, "profile_picture_handle")
        if handle is not None:
            session = mgmt.handles.get(handle)
            if session is None or not session.file_type.startswith("image/"):
                raise _param("The profile picture handle is invalid or expired")
            update["profile_picture_url"] = f"https://pps.whatsapp.net/v/sandbox/{session.id.split(':', 1)[1]}.jpg"
        phone.profile.update(update)
        return {"success": True}

    return [
        Route("/{phone_id}/whatsapp_business_profile", _answer(state, get_profile), methods=["GET"]),
        Route("/{phone_id}/whatsapp_business_profile", _answer(state, post_profile), methods=["POST"]),
    ]


# --- phone numbers, registration, PIN -----------------------------------------------------------


def _phone_view(state: SandboxState, pid: str, phone: PhoneState) -> dict[str, Any]:
    cfg = state.config
    digits = cfg.numbers.get(pid, cfg.display_phone_number)
    return {
        "id": pid,
        "display_phone_number": f"+{digits[:1]} {digits[1:4]}-{digits[4:7]}-{digits[7:]}"
        if len(digits) == 11
        else f"+{digits}",
        "verified_name": "wacloud sandbox",
        "code_verification_status": "VERIFIED" if phone.verified else "NOT_VERIFIED",
        "quality_rating": "GREEN",
        "platform_type": "CLOUD_API" if phone.registered else "NOT_APPLICABLE",
        "throughput": {"level": "HIGH" if cfg.mps >= limits.UPGRADED_MPS else "STANDARD"},
        "name_status": "APPROVED",
        "status": "CONNECTED" if phone.registered else "DISCONNECTED",
        "whatsapp_business_manager_messaging_limit": "TIER_250",
        "messaging_limit_tier": "TIER_250",
        "is_pin_enabled": phone.pin is not None,
        "webhook_configuration": {
            "application": state.config.webhook_url or "",
            **({"phone_number": phone.webhook_override} if phone.webhook_override else {}),
        },
    }


def _select(view: dict[str, Any], wanted: list[str] | None) -> dict[str, Any]:
    if wanted is None:
        return view
    unknown = [w for w in wanted if w not in view]
    if unknown:
        raise _param(f"Tried accessing nonexisting field(s) {unknown} on the phone number.")
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
        raise _param(f"Invalid {key.upper() if key == 'pin' else key} format. It must be exactly 6 digits")
    return pin


def _phone_routes(state: SandboxState) -> list[BaseRoute]:
    def owns_phone(node: str) -> bool:
        return node in management_state(state).phones

    async def list_numbers(request: Request, mgmt: ManagementState) -> Any:
        wanted = _fields(request)
        return {
            "data": [_select(_phone_view(state, pid, p), wanted) for pid, p in mgmt.phones.items()],
            "paging": {"cursors": {"before": "QVFIU0", "after": "QVFIU0"}},
        }

    async def get_number(request: Request, mgmt: ManagementState) -> Any:
        pid = _require_phone(state, request)
        return _select(_phone_view(state, pid, mgmt.phones[pid]), _fields(request))

    async def post_number(request: Request, mgmt: ManagementState) -> Any:
        pid = _require_phone(state, request)
        body = await _json_body(request)
        unknown = set(body) - {"pin", "webhook_configuration"}
        if unknown or not body:
            raise _param(
                f"Param(s) {sorted(unknown) or '(none)'} are not supported by the sandbox on this node; "
                "use pin or webhook_configuration."
            )
        if "pin" in body:
            mgmt.phones[pid].pin = _pin_of(body)
        if "webhook_configuration" in body:
            conf = body["webhook_configuration"]
            uri = conf.get("override_callback_uri") if isinstance(conf, dict) else None
            if not isinstance(uri, str) or not re.match(r"^https?://[^\s/]+", uri):
                raise _param("Invalid parameter: webhook_configuration.override_callback_uri must be a URL")
            if not isinstance(conf.get("verify_token"), str) or not conf["verify_token"]:
                raise GraphError(131008, "The parameter webhook_configuration.verify_token is required.")
            # A number-level override wins over the WABA's and the app's callback for this number.
            mgmt.phones[pid].webhook_override = uri
            state.config.webhook_url = uri
        return {"success": True}

    async def register(request: Request, mgmt: ManagementState) -> Any:
        phone = mgmt.phones[_require_phone(state, request)]
        body = await _json_body(request)
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(131008, "The parameter messaging_product is required and must be 'whatsapp'.")
        pin = _pin_of(body)
        region = body.get("data_localization_region")
        if region is not None and (not isinstance(region, str) or not re.fullmatch(r"[A-Z]{2}", region)):
            raise _param("Param data_localization_region must be a 2-letter country code.")
        _register_budget(state, phone)
        if not phone.verified:
            raise GraphError(133006, "The phone number must be verified (request_code, verify_code) first.")
        if phone.pin is not None and pin != phone.pin:
            raise GraphError(133005, "The two-step verification PIN is incorrect.")
        phone.pin = pin
        phone.registered = True
        return {"success": True}

    async def deregister(request: Request, mgmt: ManagementState) -> Any:
        phone = mgmt.phones[_require_phone(state, request)]
        _register_budget(state, phone)
        if not phone.registered:
            raise _param("Phone number not registered on the WhatsApp Business Platform.", subcode=2207051)
        phone.registered = False
        return {"success": True}

    async def request_code(request: Request, mgmt: ManagementState) -> Any:
        phone = mgmt.phones[_require_phone(state, request)]
        body = await _json_body(request)
        method = body.get("code_method")
        if method not in ("SMS", "VOICE"):
            raise _param("Invalid parameter: code_method must be SMS or VOICE")
        language = body.get("language")
        if not isinstance(language, str) or not _LOCALE.match(language):
            raise _param("Invalid parameter: language must be a locale such as en_US")
        phone.code_requested = True
        return {"success": True}

    async def verify_code(request: Request, mgmt: ManagementState) -> Any:
        pid = _require_phone(state, request)
        phone = mgmt.phones[pid]
        body = await _json_body(request)
        code = _pin_of(body, "code")
        if not phone.code_requested:
            raise _param("No verification code was requested for this number (call request_code first).")
        if code != mgmt.verification_code:
            raise GraphError(
                100, "The verification code is invalid or has expired", message="(#100) Verification Failed"
            )
        phone.verified = True
        phone.code_requested = False
        return {"success": True, "id": pid}

    return [
        Route("/{waba_id}/phone_numbers", _answer(state, list_numbers, waba_level=True), methods=["GET"]),
        NodeRoute("/{node_id}", _answer(state, get_number), methods=["GET"], owns=owns_phone),
        NodeRoute("/{node_id}", _answer(state, post_number), methods=["POST"], owns=owns_phone),
        Route("/{phone_id}/register", _answer(state, register), methods=["POST"]),
        Route("/{phone_id}/deregister", _answer(state, deregister), methods=["POST"]),
        Route("/{phone_id}/request_code", _answer(state, request_code), methods=["POST"]),
        Route("/{phone_id}/verify_code", _answer(state, verify_code), methods=["POST"]),
    ]


# --- block users --------------------------------------------------------------------------------


def _block_routes(state: SandboxState) -> list[BaseRoute]:
    def users_of(body: Mapping[str, Any]) -> list[str]:
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(131008, "The parameter messaging_product is required and must be 'whatsapp'.")
        items = body.get("block_users")
        if items is None:
            raise GraphError(131008, "The parameter block_users is required.")
        lim = limits.limit("block_users.per_request")
        if not isinstance(items, list) or not lim.min <= len(items) <= lim.max:
            raise _param(f"Param block_users must be an array of {lim.min} to {lim.max} users.")
        users = []
        for i, item in enumerate(items):
            user = item.get("user") if isinstance(item, dict) else None
            if not isinstance(user, str) or not user.strip():
                raise GraphError(131009, f"Param block_users[{i}].user must be a phone number or wa_id.")
            users.append(user)
        return users

    def failed(user: str, details: str) -> dict[str, Any]:
        return {
            "input": user,
            "wa_id": _wa_id(user),
            "errors": [{"message": "(#139100) Bulk block failed", "code": 139100, "error_data": {"details": details}}],
        }

    async def list_blocked(request: Request, mgmt: ManagementState) -> Any:
        _require_phone(state, request)
        data = [{"messaging_product": "whatsapp", "wa_id": c.wa_id} for c in state.customers.values() if c.blocked]
        try:
            limit = int(request.query_params.get("limit", "100"))
            offset = int(request.query_params.get("after", "0") or 0)
        except ValueError:
            raise _param("Params limit and after must be integers.") from None
        page = data[offset : offset + max(1, limit)]
        paging: dict[str, Any] = {"cursors": {"before": str(offset), "after": str(offset + len(page))}}
        if offset + len(page) < len(data):
            paging["next"] = str(request.url.include_query_params(after=offset + len(page)))
        return {"data": page, "paging": paging}

    async def block(request: Request, mgmt: ManagementState) -> Any:
        _require_phone(state, request)
        users = users_of(await _json_body(request))
        now = state.clock.now()
        total = sum(1 for c in state.customers.values() if c.blocked)
        cap = limits.limit("block_users.total").max
        added, failures = [], []
        for user in users:
            customer = state.customers.get(_wa_id(user))
            if customer is None or not customer.window_open(now):
                # Meta: only users who messaged the business in the last 24 hours can be blocked.
                failures.append(failed(user, "Only users who messaged you in the last 24 hours can be blocked."))
                continue
            if not customer.blocked:
                if total >= cap:
                    raise GraphError(139101, f"The blocklist already holds {cap} users.")
                customer.blocked = True
                total += 1
            added.append({"input": user, "wa_id": customer.wa_id})
        result: dict[str, Any] = {"added_users": added}
        if failures:
            result["failed_users"] = failures
        return {"messaging_product": "whatsapp", "block_users": result}

    async def unblock(request: Request, mgmt: ManagementState) -> Any:
        _require_phone(state, request)
        users = users_of(await _json_body(request))
        removed, failures = [], []
        for user in users:
            customer = state.customers.get(_wa_id(user))
            if customer is None or not customer.blocked:
                failures.append(failed(user, "This user is not blocked."))
                continue
            customer.blocked = False
            removed.append({"input": user, "wa_id": customer.wa_id})
        result: dict[str, Any] = {"removed_users": removed}
        if failures:
            result["failed_users"] = failures
        return {"messaging_product": "whatsapp", "block_users": result}

    path = "/{phone_id}/block_users"
    return [
        Route(path, _answer(state, list_blocked), methods=["GET"]),
        Route(path, _answer(state, block), methods=["POST"]),
        Route(path, _answer(state, unblock), methods=["DELETE"]),
    ]


# --- QR codes -----------------------------------------------------------------------------------


def _qr_routes(state: SandboxState) -> list[BaseRoute]:
    def view(qr: dict[str, Any], image: str | None) -> dict[str, Any]:
        out = {k: qr[k] for k in ("code", "prefilled_message", "deep_link_url")}
        if image:
            out["qr_image_url"] = f"https://scontent.sandbox.wacloud/qr/{qr['code']}.{image.lower()}"
        return out

    def image_format(raw: Any) -> str | None:
        if raw is None:
            return None
        if raw not in ("SVG", "PNG"):
            raise _param("Param generate_qr_image must be SVG or PNG.")
        return str(raw)

    def wanted_image(request: Request) -> str | None:
        match = re.search(r"qr_image_url\.format\((SVG|PNG)\)", request.query_params.get("fields", ""))
        return match.group(1) if match else None

    async def create_or_update(request: Request, mgmt: ManagementState) -> Any:
        phone = mgmt.phones[_require_phone(state, request)]
        body = await _json_body(request)
        message = _text(body, "prefilled_message", required=True)
        assert message is not None
        lim = limits.limit("qr.prefilled_message")
        if not lim.min <= len(message) <= lim.max:
            raise _param(f"Invalid prefilled_message length. Maximum {lim.max} characters allowed")
        image = image_format(body.get("generate_qr_image"))
        code = _text(body, "code")
        if code is not None:
            if code not in phone.qr_codes:
                raise _param(f"QR code {code!r} does not exist on this phone number.")
            phone.qr_codes[code]["prefilled_message"] = message
            return view(phone.qr_codes[code], image)
        cap = limits.limit("qr.per_number").max
        if len(phone.qr_codes) >= cap:
            raise _param(f"This phone number already has {cap} QR codes.")
        code = "".join(state.rng.choice(_QR_ALPHABET) for _ in range(14))
        qr = {"code": code, "prefilled_message": message, "deep_link_url": f"https://wa.me/message/{code}"}
        phone.qr_codes[code] = qr
        return view(qr, image)

    async def list_codes(request: Request, mgmt: ManagementState) -> Any:
        phone = mgmt.phones[_require_phone(state, request)]
        code = request.query_params.get("code")
        items = [q for c, q in phone.qr_codes.items() if code is None or c == code]
        return {"data": [view(q, wanted_image(request)) for q in items]}

    def lookup(request: Request, mgmt: ManagementState) -> tuple[PhoneState, str]:
        phone = mgmt.phones[_require_phone(state, request)]
        code = str(request.path_params["code"])
        if not _QR_CODE.match(code) or code not in phone.qr_codes:
            raise _no_object(code, request.method)
        return phone, code

    async def get_code(request: Request, mgmt: ManagementState) -> Any:
        phone, code = lookup(request, mgmt)
        return {"data": [view(phone.qr_codes[code], wanted_image(request))]}

    async def delete_code(request: Request, mgmt: ManagementState) -> Any:
        phone, code = lookup(request, mgmt)
        del phone.qr_codes[code]
        return {"success": True}

    return [
        Route("/{phone_id}/message_qrdls", _answer(state, list_codes), methods=["GET"]),
        Route("/{phone_id}/message_qrdls", _answer(state, create_or_update), methods=["POST"]),
        Route("/{phone_id}/message_qrdls/{code}", _answer(state, get_code), methods=["GET"]),
        Route("/{phone_id}/message_qrdls/{code}", _answer(state, delete_code), methods=["DELETE"]),
    ]


# --- subscribed apps ----------------------------------------------------------------------------


def _app_routes(state: SandboxState) -> list[BaseRoute]:
    async def list_apps(request: Request, mgmt: ManagementState) -> Any:
        return {"data": [dict(a) for a in mgmt.subscribed]}

    async def subscribe(request: Request, mgmt: ManagementState) -> Any:
        body = await _json_body(request)
        unknown = set(body) - {"override_callback_uri", "verify_token"}
        if unknown:
            raise _param(f"Param(s) {sorted(unknown)} are not valid here.")
        uri = _text(body, "override_callback_uri")
        entry: dict[str, Any] = {"whatsapp_business_api_data": dict(SANDBOX_APP)}
        if uri is not None:
            if not re.match(r"^https?://[^\s/]+", uri):
                raise _param("Invalid callback URI format")
            if not _text(body, "verify_token"):
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
        if not mgmt.subscribed:
            raise GraphError(100, "WhatsApp Business Account not found or not subscribed", http_status=400)
        mgmt.subscribed = []
        # Without a subscribed app, Meta delivers no webhooks for the WABA.
        mgmt.unsubscribed_webhook_url = state.config.webhook_url
        state.config.webhook_url = None
        return {"success": True}

    path = "/{waba_id}/subscribed_apps"
    return [
        Route(path, _answer(state, list_apps, waba_level=True), methods=["GET"]),
        Route(path, _answer(state, subscribe, waba_level=True), methods=["POST"]),
        Route(path, _answer(state, unsubscribe, waba_level=True), methods=["DELETE"]),
    ]


# --- flows --------------------------------------------------------------------------------------


def _json_version(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        version = json.loads(raw).get("version")
    except (ValueError, AttributeError):
        return None
    return str(version) if version is not None else None


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
        raise _param("Param categories must be a non-empty array of categories.")
    bad = [c for c in value if c not in _FLOW_CATEGORIES]
    if bad:
        raise _param(f"Param categories has invalid value(s) {bad}; valid: {sorted(_FLOW_CATEGORIES)}.")
    return list(value)


def _flow_routes(state: SandboxState) -> list[BaseRoute]:
    def owns_flow(node: str) -> bool:
        return node in management_state(state).flows

    def flow_of(request: Request, mgmt: ManagementState) -> FlowRecord:
        return mgmt.flows[str(request.path_params["node_id"])]

    async def list_flows(request: Request, mgmt: ManagementState) -> Any:
        return {
            "data": [{k: v for k, v in f.to_graph().items() if k != "json_version"} for f in mgmt.flows.values()],
            "paging": {"cursors": {"before": "QVFIU0", "after": "QVFIU0"}},
        }

    async def create(request: Request, mgmt: ManagementState) -> Any:
        body, _files = await _form_or_json(request)
        name = _text(body, "name", required=True)
        assert name is not None
        _length("name", "flow.name", name)
        if any(f.name == name for f in mgmt.flows.values()):
            raise _param("Flow name is not unique")
        categories = _categories(body.get("categories"))
        flow = FlowRecord(state.ids.object_id(), name, categories, endpoint_uri=_text(body, "endpoint_uri"))
        clone = _text(body, "clone_flow_id")
        if clone is not None:
            if clone not in mgmt.flows:
                raise _param(f"Flow {clone!r} to clone does not exist.")
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
        wanted = _fields(request)
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
        body, _ = await _form_or_json(request)
        if flow.status != "DRAFT" and set(body) - {"endpoint_uri", "application_id"}:
            raise GraphError(139001, "A published or deprecated flow's name and categories cannot be changed.")
        name = _text(body, "name")
        if name is not None:
            _length("name", "flow.name", name)
            if any(f.name == name and f.id != flow.id for f in mgmt.flows.values()):
                raise _param("Flow name is not unique")
            flow.name = name
        if "categories" in body:
            flow.categories = _categories(body["categories"])
        if "endpoint_uri" in body:
            flow.endpoint_uri = _text(body, "endpoint_uri")
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
        body, files = await _form_or_json(request)
        if body.get("asset_type") != "FLOW_JSON":
            raise _param("Param asset_type must be FLOW_JSON.")
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
        return NodeRoute(path, _answer(state, handler), methods=[method], owns=owns_flow)

    return [
        Route("/{waba_id}/flows", _answer(state, list_flows, waba_level=True), methods=["GET"]),
        Route("/{waba_id}/flows", _answer(state, create, waba_level=True), methods=["POST"]),
        node("/{node_id}", get_flow, "GET"),
        node("/{node_id}", update_metadata, "POST"),
        node("/{node_id}", delete_flow, "DELETE"),
        node("/{node_id}/assets", list_assets, "GET"),
        node("/{node_id}/assets", upload_asset, "POST"),
        node("/{node_id}/assets/flow.json", download, "GET"),
        node("/{node_id}/publish", publish, "POST"),
        node("/{node_id}/deprecate", deprecate, "POST"),
    ]


# --- resumable upload ---------------------------------------------------------------------------


def _upload_routes(state: SandboxState) -> list[BaseRoute]:
    def owns_upload(node: str) -> bool:
        return node in management_state(state).uploads

    async def start(request: Request, mgmt: ManagementState) -> Any:
        q = request.query_params
        name, length, ftype = q.get("file_name"), q.get("file_length"), q.get("file_type")
        if not name:
            raise GraphError(131008, "The parameter file_name is required.")
        if not length or not length.isdigit() or int(length) <= 0:
            raise _param("Param file_length must be a positive integer.")
        if int(length) > _UPLOAD_MAX_BYTES:
            raise _param(f"Param file_length must be at most {_UPLOAD_MAX_BYTES} bytes.")
        if ftype not in _UPLOAD_TYPES:
            raise _param(f"Param file_type must be one of {sorted(_UPLOAD_TYPES)}.")
        session = UploadSession(f"upload:{state.ids.token(24)}", name, int(length), str(ftype))
        mgmt.uploads[session.id] = session
        return {"id": session.id}

    async def transfer(request: Request, mgmt: ManagementState) -> Any:
        session = mgmt.uploads[str(request.path_params["node_id"])]
        offset_raw = request.headers.get("file_offset", "0")
        if not offset_raw.isdigit() or int(offset_raw) != len(session.data):
            raise _param(f"file_offset must be {len(session.data)} (the bytes received so far).")
        received = bytearray()
        # Read as a stream and stop at the declared length, so a client can't make the sandbox buffer more.
        async for piece in request.stream():
            received.extend(piece)
            if len(session.data) + len(received) > session.file_length:
                raise _param(f"More bytes than the declared file_length {session.file_length}.")
        session.data.extend(received)
        if len(session.data) < session.file_length:
            return {"id": session.id, "file_offset": len(session.data)}
        if session.handle is None:
            session.handle = f"4::{state.ids.token(12)}:{state.ids.token(32)}"
            mgmt.handles[session.handle] = session
        return {"h": session.handle}

    async def status(request: Request, mgmt: ManagementState) -> Any:
        session = mgmt.uploads[str(request.path_params["node_id"])]
        return {"id": session.id, "file_offset": len(session.data)}

    return [
        Route("/{app_id}/uploads", _answer(state, start), methods=["POST"]),
        NodeRoute("/{node_id}", _answer(state, transfer), methods=["POST"], owns=owns_upload),
        NodeRoute("/{node_id}", _answer(state, status), methods=["GET"], owns=owns_upload),
    ]


def routes(state: SandboxState) -> list[BaseRoute]:
    """The management routes bound to the sandbox ``state`` (paths relative to ``/{version}``)."""
    management_state(state)
    return [
        *_upload_routes(state),
        *_phone_routes(state),
        *_flow_routes(state),
        *_profile_routes(state),
        *_block_routes(state),
        *_qr_routes(state),
        *_app_routes(state),
    ]
