"""The sandbox's plain data: customers, messages, media, templates, pacing, and the management records.

Pure data with its JSON views; no module of the sandbox's services is imported here, so every other
module can import these types without a circle.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from wacloud import limits

_CUSTOMER_FIELDS = (
    "wa_id",
    "profile_name",
    "on_whatsapp",
    "marketing_opt_out",
    "blocked",
    "read_receipts",
    "last_inbound_at",
    "username",
)


@dataclass(slots=True)
class Customer:
    """A simulated WhatsApp user."""

    wa_id: str
    profile_name: str = "Sandbox User"
    on_whatsapp: bool = True
    marketing_opt_out: bool = False
    blocked: bool = False
    #: When False the user never sends ``read`` receipts (a WhatsApp privacy setting).
    read_receipts: bool = True
    #: Sandbox time of the user's last message; None means the 24 h window has never opened.
    last_inbound_at: float | None = None
    #: When the user last came in through an ad (free entry point window).
    referral_at: float | None = None
    #: The business-scoped user id (BSUID) and, when the sandbox simulates a portfolio with parent ids,
    #: the parent BSUID (``wacloud.sandbox._identity``).
    user_id: str = ""
    parent_user_id: str | None = None
    #: The username the user adopted (shown in webhooks), if any.
    username: str | None = None
    #: False for a username-only customer: ``wa_id`` then holds their BSUID and no phone is ever shown.
    has_phone: bool = True
    #: Sandbox time of the user's last message to each business number: each number has its own window.
    inbound_by_number: dict[str, float] = field(default_factory=dict)

    @property
    def phone(self) -> str | None:
        """The phone number, None for a username-only customer."""
        return self.wa_id if self.has_phone else None

    def inbound_at(self, phone_number_id: str | None = None) -> float | None:
        """When the window with ``phone_number_id`` (any number when None) was last opened.

        ``last_inbound_at`` (set by the control API) opens the window with every number; a message to
        one number opens that number's window only."""
        if phone_number_id is None:
            times = [t for t in (self.last_inbound_at, *self.inbound_by_number.values()) if t is not None]
            return max(times, default=None)
        return self.inbound_by_number.get(phone_number_id, self.last_inbound_at)

    def window_open(self, now: float, phone_number_id: str | None = None) -> bool:
        """True inside the customer-service window with ``phone_number_id`` (with any number when None)."""
        at = self.inbound_at(phone_number_id)
        return at is not None and now - at < limits.SERVICE_WINDOW_S

    def fep_open(self, now: float) -> bool:
        """True inside a free-entry-point window (72 h after an ad click reply)."""
        return self.referral_at is not None and now - self.referral_at < limits.FREE_ENTRY_POINT_WINDOW_S

    def to_dict(self, now: float) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "wa_id": self.wa_id,
            "profile_name": self.profile_name,
            "on_whatsapp": self.on_whatsapp,
            "marketing_opt_out": self.marketing_opt_out,
            "blocked": self.blocked,
            "read_receipts": self.read_receipts,
            "last_inbound_at": self.inbound_at(),
            "window_open": self.window_open(now),
            "windows": {pid: self.window_open(now, pid) for pid in self.inbound_by_number},
            "phone": self.phone,
            "user_id": self.user_id,
            "parent_user_id": self.parent_user_id,
            "username": self.username,
        }

    def update(self, data: dict[str, Any]) -> None:
        """Apply a partial update; raises ``ValueError`` on unknown keys or wrong types."""
        for key, value in data.items():
            if key not in _CUSTOMER_FIELDS or key == "wa_id":
                if key == "wa_id" and value == self.wa_id:
                    continue
                raise ValueError(f"unknown or read-only customer field {key!r}")
            if key == "profile_name":
                if not isinstance(value, str) or not value:
                    raise ValueError("profile_name must be a non-empty string")
            elif key == "username":
                if value is not None and (not isinstance(value, str) or not value):
                    raise ValueError("username must be a non-empty string or null")
            elif key == "last_inbound_at":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                    raise ValueError("last_inbound_at must be a number (sandbox epoch seconds) or null")
                # Setting the time sets it for every number (the control API's way to open or close windows).
                self.inbound_by_number.clear()
            elif not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
            setattr(self, key, value)


@dataclass(slots=True)
class OutboundMessage:
    """A message the business sent (accepted with a wamid), with its status history."""

    id: str
    phone_number_id: str
    to: str
    wa_id: str
    type: str
    body: dict[str, Any]
    created_at: float
    version: tuple[int, int]
    category: str = "service"
    pricing_type: str = "free_customer_service"
    billable: bool = False
    template_id: str | None = None
    statuses: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "id": self.id,
            "to": self.to,
            "wa_id": self.wa_id,
            "type": self.type,
            "category": self.category,
            "created_at": self.created_at,
            "status": self.statuses[-1]["status"] if self.statuses else "accepted",
            "statuses": list(self.statuses),
            "body": self.body,
        }


@dataclass(slots=True)
class InboundMessage:
    """A message a customer sent (injected through the control API)."""

    id: str
    wa_id: str
    type: str
    timestamp: float
    message: dict[str, Any]
    read: bool = False


@dataclass(slots=True)
class Media:
    """An uploaded (or customer-sent) media file."""

    id: str
    phone_number_id: str
    mime_type: str
    data: bytes
    sha256_hex: str
    uploaded_at: float
    filename: str | None = None


@dataclass(slots=True)
class Attempt:
    """One call to ``POST /messages`` and how it ended (``code`` 0 = accepted)."""

    seq: int
    at: float
    phone_number_id: str
    to: str | None
    wa_id: str | None
    type: str | None
    code: int
    http_status: int
    outcome: str
    wamid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "seq": self.seq,
            "at": self.at,
            "phone_number_id": self.phone_number_id,
            "to": self.to,
            "wa_id": self.wa_id,
            "type": self.type,
            "code": self.code,
            "http_status": self.http_status,
            "outcome": self.outcome,
            "wamid": self.wamid,
        }


@dataclass(slots=True)
class TemplatePacing:
    """The pacing of one template: on or off, the threshold, sends counted and messages held."""

    enabled: bool = False
    #: Sends answered ``accepted`` before holding starts; None means ``SandboxConfig.template_pacing_threshold``.
    threshold: int | None = None
    sends: int = 0
    #: Held messages: wamid and the delivery failure decided at send time (None: deliverable).
    held: list[tuple[str, tuple[int, str] | None]] = field(default_factory=list)
    #: Set once the template has been paced, so an unpause paces it again (as Meta does).
    ever: bool = False

    def view(self, default_threshold: int) -> dict[str, Any]:
        """JSON view for the control API (``default_threshold``: the sandbox setting)."""
        return {
            "pacing": self.enabled,
            "threshold": self.limit(default_threshold),
            "sends": self.sends,
            "held": [wamid for wamid, _ in self.held],
        }

    def limit(self, default_threshold: int) -> int:
        """The threshold in force (``default_threshold``: ``SandboxConfig.template_pacing_threshold``)."""
        return self.threshold if self.threshold is not None else default_threshold

    def start(self) -> None:
        """Pace the template from now on (its count starts again)."""
        self.enabled = True
        self.ever = True
        self.sends = 0


@dataclass(slots=True)
class Template:
    """A message template of the WABA, as created (components in Meta's creation format)."""

    id: str
    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"
    status: str = "PENDING"
    rejected_reason: str = "NONE"
    #: The status an ARCHIVED template goes back to when unarchived (``_template_ops``).
    archived_from: str | None = None
    #: The library template it was created from (``library_template_name``), if any.
    library_template_name: str | None = None
    created_at: float = 0.0
    edits: int = 0
    # Derived from the components by ``analyse``.
    header_format: str | None = None
    header_vars: list[str] = field(default_factory=list)
    header_text: str = ""
    body_text: str = ""
    body_vars: list[str] = field(default_factory=list)
    buttons: list[dict[str, Any]] = field(default_factory=list)
    #: Template pacing (``wacloud.sandbox._pacing``); not part of what Graph shows.
    pacing: TemplatePacing = field(default_factory=TemplatePacing)

    def to_graph(self) -> dict[str, Any]:
        """The template as ``GET /{template-id}`` returns it."""
        out: dict[str, Any] = {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }
        if self.status == "REJECTED":
            out["rejected_reason"] = self.rejected_reason
        return out


def json_version(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        version = json.loads(raw).get("version")
    except (ValueError, AttributeError):
        return None
    return str(version) if version is not None else None


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
    #: Business identity (``_routes_identity``): username and its status, a display name change
    #: request under review, the conversational components and the commerce settings.
    username: str | None = None
    username_status: str | None = None
    verified_name: str = "wacloud sandbox"
    new_display_name: str | None = None
    new_name_status: str = "NONE"
    automation: dict[str, Any] = field(
        default_factory=lambda: {"enable_welcome_message": False, "prompts": [], "commands": []}
    )
    commerce: dict[str, bool] = field(default_factory=lambda: {"is_cart_enabled": True, "is_catalog_visible": True})
    #: Coexistence: the number is also used in the WhatsApp Business app (``_coexistence``).
    on_biz_app: bool = False


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
            "json_version": json_version(self.flow_json),
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


# --- Calling API and Groups API (issue 17) ----------------------------------------------------------


@dataclass(slots=True)
class Call:
    """One simulated voice call: who, which direction, its signalling state and the opaque SDPs."""

    id: str
    phone_number_id: str
    wa_id: str
    #: ``USER_INITIATED`` or ``BUSINESS_INITIATED``.
    direction: str
    created_at: float
    #: ringing → (pre_accepted) → ongoing → ended.
    state: str = "ringing"
    offer_sdp: str | None = None
    answer_sdp: str | None = None
    accepted_at: float | None = None
    ended_at: float | None = None
    #: COMPLETED, FAILED or REJECTED once the call ended.
    outcome: str | None = None
    biz_opaque_callback_data: str | None = None

    @property
    def active(self) -> bool:
        """True until the call has ended."""
        return self.state != "ended"

    @property
    def duration(self) -> int:
        """Seconds between answer and hang-up (0 for a call never answered)."""
        if self.accepted_at is None or self.ended_at is None:
            return 0
        return max(0, int(self.ended_at - self.accepted_at))

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "id": self.id,
            "phone_number_id": self.phone_number_id,
            "wa_id": self.wa_id,
            "direction": self.direction,
            "state": self.state,
            "created_at": self.created_at,
            "accepted_at": self.accepted_at,
            "ended_at": self.ended_at,
            "outcome": self.outcome,
            "duration": self.duration,
            "offer_sdp": self.offer_sdp,
            "answer_sdp": self.answer_sdp,
        }


@dataclass(slots=True)
class CallPermission:
    """A user's answer to a call permission request: ``granted`` until ``expires_at``, or ``denied``."""

    status: str
    at: float
    expires_at: float | None = None


@dataclass(slots=True)
class CallingState:
    """Calls, call permissions and the calling settings of every business number."""

    calls: dict[str, Call] = field(default_factory=dict)
    #: (phone_number_id, wa_id) → the user's latest answer.
    permissions: dict[tuple[str, str], CallPermission] = field(default_factory=dict)
    #: phone_number_id → the ``calling`` settings block (absent: the sandbox default, calling enabled).
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class Group:
    """A WhatsApp group owned by a business number, with its simulated members."""

    id: str
    phone_number_id: str
    subject: str
    created_at: float
    description: str = ""
    join_approval_mode: str = "auto_approve"
    #: The code of the live invite link (None after a revoke until a new one is made).
    invite_code: str | None = None
    #: wa_id → when the member joined.
    participants: dict[str, float] = field(default_factory=dict)
    #: join_request_id → (wa_id, when asked).
    join_requests: dict[str, tuple[str, float]] = field(default_factory=dict)
    suspended: bool = False
    #: When a member last wrote: one member's message opens the service window for the whole group.
    last_inbound_at: float | None = None
    #: Messages the members wrote (as the webhook carried them).
    inbound: list[dict[str, Any]] = field(default_factory=list)

    def window_open(self, now: float) -> bool:
        """True inside the group's customer-service window."""
        return self.last_inbound_at is not None and now - self.last_inbound_at < limits.SERVICE_WINDOW_S

    def to_dict(self) -> dict[str, Any]:
        """JSON view for the control API."""
        return {
            "id": self.id,
            "phone_number_id": self.phone_number_id,
            "subject": self.subject,
            "description": self.description,
            "join_approval_mode": self.join_approval_mode,
            "invite_link": invite_link(self.invite_code) if self.invite_code else None,
            "participants": list(self.participants),
            "join_requests": [{"join_request_id": k, "wa_id": v[0]} for k, v in self.join_requests.items()],
            "suspended": self.suspended,
            "inbound": list(self.inbound),
        }


def invite_link(code: str) -> str:
    """The ``https://chat.whatsapp.com/…`` link of an invite code."""
    return f"https://chat.whatsapp.com/{code}"


@dataclass(slots=True)
class GroupsState:
    """Every group of every business number, and the group messages the business sent."""

    groups: dict[str, Group] = field(default_factory=dict)
    #: wamids of messages members wrote in groups (read receipts and reactions are refused for them).
    member_messages: dict[str, str] = field(default_factory=dict)
