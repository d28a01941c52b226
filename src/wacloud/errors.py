"""The one table of Cloud API error codes, and the exceptions wacloud raises.

``ERROR_CODES`` gives every code documented by Meta a name, a meaning, the HTTP status the sandbox
answers with, and a :class:`RetryClass` that the delivery engine acts on. ``WhatsAppError`` and its
subclasses let a caller ``except`` by meaning (``RateLimited``, ``WindowClosed``…) rather than by number.
:class:`ValidationError` is raised locally, before any request, when a message breaks a documented limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Final


class RetryClass(StrEnum):
    """What a sender should do after an error with this code."""

    BACKOFF = "backoff"  #: transient: retry the same call with exponential backoff (throughput, 5xx)
    RECIPIENT_LATER = "recipient_later"  #: retry later for this recipient only (pair rate, 4^n s)
    NEVER = "never"  #: final for this message (undeliverable, opted out, blocked…)
    NEEDS_TEMPLATE = "needs_template"  #: the 24 h window is closed: only a template can go now
    FIX_REQUEST = "fix_request"  #: the request is wrong: resending it unchanged fails again
    AUTH = "auth"  #: the token or permissions are broken: pause sending, alert an operator


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One row of the error table."""

    code: int
    name: str
    title: str
    meaning: str
    http_status: int
    retry: RetryClass


def _row(code: int, name: str, title: str, meaning: str, http: int, retry: RetryClass) -> ErrorCode:
    return ErrorCode(code, name, title, meaning, http, retry)


_B, _R, _N, _T, _F, _A = (
    RetryClass.BACKOFF,
    RetryClass.RECIPIENT_LATER,
    RetryClass.NEVER,
    RetryClass.NEEDS_TEMPLATE,
    RetryClass.FIX_REQUEST,
    RetryClass.AUTH,
)

# HTTP statuses follow the facts file's advice (§6.2): Meta's current page has no status column.
# Throttling codes answer 400, as observed responses and newer tables do; the sandbox can be told
# to answer 429 instead.
_ROWS: Final[tuple[ErrorCode, ...]] = (
    _row(0, "auth_exception", "AuthException", "Could not authenticate the app user.", 401, _A),
    _row(1, "api_unknown", "API Unknown", "Invalid request or possible server error.", 500, _B),
    _row(2, "api_service", "API Service", "Temporary downtime or overload.", 503, _B),
    _row(3, "api_method", "API Method", "Capability or permission issue.", 403, _A),
    _row(4, "api_too_many_calls", "API Too Many Calls", "The app reached its API call rate limit.", 400, _B),
    _row(10, "api_permission_denied", "API Permission Denied", "Permission not granted or removed.", 403, _A),
    _row(33, "phone_number_deleted", "Phone number deleted", "The business phone number was deleted.", 400, _N),
    _row(100, "invalid_parameter", "Invalid parameter", "Invalid, unsupported or misspelled parameter.", 400, _F),
    _row(104, "no_token", "Missing access token", "An access token is required to request this resource.",
         401, _A),
    _row(190, "access_token_expired", "Access token has expired", "Invalid or expired access token.", 401, _A),
    _row(200, "permission_error", "Permission error", "Permission not granted or removed.", 403, _A),
    _row(368, "temporarily_blocked", "Temporarily blocked for policies violations",
         "The WABA is restricted or disabled for a policy violation.", 403, _N),
    _row(80007, "rate_limit_issues", "Rate limit issues", "The WABA reached its rate limit.", 400, _B),
    _row(80008, "waba_too_many_calls", "Too many calls", "Too many calls to this WABA.", 400, _B),
    _row(130403, "recipient_blocked", "Recipient blocked", "The business has blocked this user.", 400, _N),
    _row(130429, "rate_limit_hit", "Rate limit hit", "Cloud API message throughput has been reached.", 400, _B),
    _row(130472, "experiment_holdout", "User's number is part of an experiment",
         "The user is in a Meta experiment hold-out.", 400, _N),
    _row(130497, "country_restricted", "Business account is restricted from messaging users in this country",
         "The WABA may not message users in that country.", 403, _N),
    _row(131000, "something_went_wrong", "Something went wrong", "Unknown error.", 500, _B),
    _row(131005, "access_denied", "Access denied", "Permission not granted or removed.", 403, _A),
    _row(131008, "required_parameter_missing", "Required parameter is missing",
         "A required parameter is missing.", 400, _F),
    _row(131009, "parameter_value_invalid", "Parameter value is not valid",
         "A parameter value is not valid.", 400, _F),
    _row(131016, "service_unavailable", "Service unavailable", "Service temporarily unavailable.", 503, _B),
    _row(131021, "recipient_is_sender", "Recipient cannot be sender", "Sender and recipient are the same.",
         400, _F),
    _row(131026, "message_undeliverable", "Message undeliverable",
         "Not on WhatsApp, has not accepted the terms, or uses an old client.", 400, _N),
    _row(131030, "recipient_not_allowed", "Recipient phone number not in allowed list",
         "Test numbers may only message the allowed list.", 400, _N),
    _row(131031, "account_locked", "Business Account locked", "The account is locked.", 403, _A),
    _row(131037, "display_name_required", "WhatsApp provided number needs display name approval",
         "A 555 number has no approved display name.", 400, _N),
    _row(131042, "payment_error", "Business eligibility payment issue", "Payment or billing problem.", 400, _N),
    _row(131045, "registration_error", "Incorrect certificate", "Phone number registration error.", 400, _N),
    _row(131047, "reengagement_message", "Re-engagement message",
         "More than 24 hours have passed since the recipient last replied.", 400, _T),
    _row(131048, "spam_rate_limit", "Spam rate limit hit",
         "Messages were restricted because of quality.", 400, _N),
    _row(131049, "ecosystem_engagement", "This message was not delivered to maintain healthy ecosystem engagement",
         "Per-user marketing limit.", 400, _N),
    _row(131050, "marketing_opt_out", "Unable to deliver the message",
         "The user has stopped marketing messages.", 400, _N),
    _row(131051, "unsupported_message_type", "Unsupported message type", "Message type is not supported.",
         400, _F),
    _row(131052, "media_download_error", "Media download error", "Could not download the user's media.",
         400, _N),
    _row(131053, "media_upload_error", "Media upload error", "Could not upload the media.", 400, _F),
    _row(131056, "pair_rate_limit", "(Business Account, Consumer Account) pair rate limit hit",
         "Too many messages to the same recipient in a short time.", 400, _R),
    _row(131057, "account_maintenance", "Account in maintenance mode",
         "The account is in maintenance mode (e.g. a throughput upgrade).", 500, _B),
    _row(131062, "bsuid_not_supported", "Business-scoped User ID recipients are not supported for this message",
         "This message cannot be sent to a BSUID (one-time-password authentication templates need a phone "
         "number): send it to the user's phone number.", 400, _F),
    _row(131063, "marketing_disabled", "Marketing templates disabled",
         "Marketing templates are disabled for Cloud API on this WABA.", 400, _N),
    _row(131064, "template_classification_limit", "Messaging limit hit",
         "Messaging limit because of template classification violations.", 400, _N),
    _row(132000, "template_param_count_mismatch", "Number of parameters does not match the expected number of params",
         "Template parameter count mismatch.", 400, _F),
    _row(132001, "template_does_not_exist", "Template name does not exist in the translation",
         "The template does not exist in that language or is not approved.", 404, _F),
    _row(132005, "template_hydrated_text_too_long", "Translated text too long",
         "The hydrated template text is too long.", 400, _F),
    _row(132007, "template_format_policy", "Template format character policy violated",
         "The template content violates policy.", 400, _F),
    _row(132012, "template_param_format_mismatch", "Parameter format does not match format in the created template",
         "Template parameter format mismatch.", 400, _F),
    _row(132015, "template_paused", "Template is paused", "The template is paused for low quality.", 400, _N),
    _row(132016, "template_disabled", "Template is disabled", "The template is permanently disabled.", 400, _N),
    _row(132018, "template_param_validation", "Template parameter validation error",
         "A template parameter failed validation at send time.", 400, _F),
    _row(132068, "flow_blocked", "Flow is in blocked state", "The flow is blocked.", 400, _N),
    _row(132069, "flow_throttled", "Flow is in throttled state",
         "Ten messages with this flow were sent in the last hour.", 400, _R),
    _row(133000, "incomplete_deregistration", "Incomplete deregistration",
         "A previous deregistration failed; deregister again.", 500, _F),
    _row(133004, "server_temporarily_unavailable", "Server temporarily unavailable",
         "Server temporarily unavailable.", 503, _B),
    _row(133005, "two_step_pin_mismatch", "Two step verification PIN mismatch", "The PIN is incorrect.",
         400, _F),
    _row(133006, "phone_verification_required", "Phone number re-verification needed",
         "The number must be verified before registering.", 400, _F),
    _row(133008, "too_many_pin_guesses", "Too many two step verification PIN guesses",
         "Too many PIN guesses.", 400, _R),
    _row(133009, "pin_guessed_too_fast", "Two step verification PIN guessed too fast",
         "PIN entered too fast.", 400, _R),
    _row(133010, "phone_not_registered", "Phone number Not registered", "The number is not registered.",
         400, _F),
    _row(133015, "phone_recently_deleted", "Please wait a few minutes before attempting to register this phone number",
         "The number was deleted recently; wait 5 minutes.", 400, _R),
    _row(133016, "register_rate_limited", "Account register deregister rate limit exceeded",
         "Too many register/deregister attempts; blocked for 72 hours.", 400, _N),
    # Marketing Messages API (/marketing_messages) additions [reported: Meta's MM API support page].
    _row(134100, "mm_not_marketing_template", "Message must be a marketing template",
         "The Marketing Messages API takes marketing templates only (not free-form messages, authentication "
         "or utility templates).", 400, _F),
    _row(134101, "mm_template_category", "Template category not supported",
         "Only templates categorised MARKETING can be sent through the Marketing Messages API.", 400, _F),
    _row(134102, "mm_template_not_ready", "Template not yet available",
         "A newly created template is still syncing to the Marketing Messages API (up to 10 minutes).",
         400, _B),
    _row(134011, "payments_tos", "WhatsApp Payments terms not accepted", "Payments ToS not accepted.", 400, _N),
    _row(135000, "generic_user_error", "Generic user error", "Unknown error with the request parameters.",
         400, _F),
    _row(139100, "block_users_bulk_failed", "Bulk block failed", "Block-users: bulk failure.", 400, _F),
    _row(139101, "blocklist_limit", "Blocklist limit reached", "Block-users: the blocklist is full.", 400, _N),
    _row(139102, "blocklist_concurrent_update", "Blocklist concurrent update",
         "Block-users: concurrent update.", 400, _B),
    _row(139103, "blocklist_internal", "Internal error", "Block-users: internal error.", 500, _B),
    # Calling API [OFF calling troubleshooting]. 138006: a business-initiated call without the user's permission.
    _row(613, "call_permission_check_limit", "Fetch call permission API limit hit",
         "Too many call-permission checks in a short period.", 429, _B),
    _row(131055, "method_not_allowed_sip", "Method not allowed",
         "Calling endpoints are not used on a number with SIP signalling enabled.", 400, _F),
    _row(138000, "calling_not_enabled", "Calling not enabled", "Calling is not enabled on this number.", 400, _F),
    _row(138001, "receiver_uncallable", "Receiver uncallable", "The user cannot be called right now.", 400, _N),
    _row(138002, "concurrent_calls_limit", "Concurrent calls limit",
         "Too many calls in progress on this number.", 400, _B),
    _row(138003, "duplicate_call", "Duplicate call", "A call to this user is already in progress.", 400, _N),
    _row(138004, "call_connection_error", "Call connection error", "The call could not be connected.", 500, _B),
    _row(138005, "call_rate_limit", "Call rate limit exceeded", "Too many calls from this number.", 400, _B),
    _row(138006, "no_call_permission", "No approved call permission",
         "The user has not granted this business permission to call them.", 400, _N),
    # Groups API [OFF groups error codes]. 131201 (partial success) answers 206 and is not an error row.
    _row(131020, "bad_group", "Bad group", "Messages cannot be sent to a group with a single member.", 400, _F),
    _row(131041, "group_unknown", "Group unknown", "The group does not exist or the business is not in it.",
         400, _N),
    _row(131059, "invalid_cursor", "Invalid cursor", "The paging cursor expired or is corrupt.", 400, _F),
    _row(131202, "duplicate_participant", "Duplicate participant", "A participant is listed twice.", 400, _F),
    _row(131204, "participant_overlimit", "Participant overlimit", "The group would exceed 8 participants.",
         400, _F),
    _row(131207, "group_suspended", "Group suspended", "The group violates platform policies.", 403, _N),
    _row(131208, "group_rate_limit", "Group rate limit hit",
         "Too many group operations from this number in a short period.", 429, _B),
    _row(131209, "group_photo_aspect_ratio", "Invalid group profile picture aspect ratio",
         "The group photo must be square.", 400, _F),
    _row(131210, "group_photo_too_small", "Image is too small to process",
         "The group photo must be larger than 192 px a side.", 400, _F),
    _row(131211, "group_create_limit", "Group create limit reached",
         "The number has reached its 10,000-group limit.", 400, _N),
    _row(131212, "participant_not_in_group", "Participant is not a part of the group",
         "The participant is not in this group.", 400, _F),
    _row(2388019, "template_limit_exceeded", "Message template limit exceeded",
         "The WABA has reached its 250-template limit.", 400, _F),
    _row(2494100, "phone_maintenance", "Phone in maintenance mode", "The number is in maintenance mode.",
         503, _B),
)

#: The table, keyed by code.
ERROR_CODES: Final[Mapping[int, ErrorCode]] = {row.code: row for row in _ROWS}

#: Template-creation subcodes of error 100 [OFF template-management].
TEMPLATE_SUBCODES: Final[Mapping[int, str]] = {
    2388024: "A template with this name and language already exists.",
    2388019: "Message template limit exceeded.",
    2388039: "Invalid template components.",
    2388040: "Template field too long.",
    2388047: "Invalid header format.",
    2388072: "Invalid body format.",
    2388073: "Invalid footer format.",
    2388293: "Too many parameters for the text length.",
    2388299: "Variables at the start or end of the body.",
}


def lookup(code: int) -> ErrorCode | None:
    """Return the table row for ``code``, or None for a code Meta has not documented."""
    row = ERROR_CODES.get(code)
    if row is None and 200 <= code <= 299:
        return ERROR_CODES[200]
    return row


def retry_class(code: int, http_status: int | None = None) -> RetryClass:
    """Decide what to do about ``code``; unknown codes fall back on the HTTP status."""
    row = lookup(code)
    if row is not None:
        return row.retry
    if http_status is not None and (http_status >= 500 or http_status == 429):
        return RetryClass.BACKOFF
    if http_status in (401, 403):
        return RetryClass.AUTH
    return RetryClass.FIX_REQUEST


# --- Exceptions ---------------------------------------------------------------------------------


class WacloudError(Exception):
    """Base of everything wacloud raises on purpose."""


class ValidationError(WacloudError, ValueError):
    """A value breaks a documented rule; raised before any request is made.

    ``field`` is the dotted path of the offending value, ``size`` its measured size (characters or
    items, when the rule is a length) and ``limit`` the bound it broke.
    """

    def __init__(self, field: str, reason: str, *, size: int | None = None, limit: int | None = None) -> None:
        self.field = field
        self.reason = reason
        self.size = size
        self.limit = limit
        detail = f"{field}: {reason}"
        if size is not None and limit is not None:
            detail += f" (size {size}, limit {limit})"
        super().__init__(detail)


class TransportError(WacloudError):
    """The request did not get an answer: connection refused or dropped, timeout."""


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """Meta's error object, parsed in full."""

    code: int
    message: str = ""
    type: str | None = None
    title: str | None = None
    error_subcode: int | None = None
    details: str | None = None
    fbtrace_id: str | None = None
    is_transient: bool | None = None
    error_user_title: str | None = None
    error_user_msg: str | None = None
    href: str | None = None

    @classmethod
    def from_graph(cls, obj: Mapping[str, Any]) -> ErrorDetail:
        """Parse an error object (the value of ``"error"``, or one item of a webhook ``errors[]``)."""
        raw_code = obj.get("code")
        try:
            code = int(raw_code) if raw_code is not None else 0
        except (TypeError, ValueError, OverflowError):
            code = 0
        error_data = obj.get("error_data")
        details = error_data.get("details") if isinstance(error_data, Mapping) else None
        sub = obj.get("error_subcode")
        return cls(
            code=code,
            message=str(obj.get("message") or ""),
            type=_opt_str(obj.get("type")),
            title=_opt_str(obj.get("title")),
            error_subcode=int(sub) if isinstance(sub, int | str) and str(sub).isdigit() else None,
            details=_opt_str(details),
            fbtrace_id=_opt_str(obj.get("fbtrace_id")),
            is_transient=obj.get("is_transient") if isinstance(obj.get("is_transient"), bool) else None,
            error_user_title=_opt_str(obj.get("error_user_title")),
            error_user_msg=_opt_str(obj.get("error_user_msg")),
            href=_opt_str(obj.get("href")),
        )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


class WhatsAppError(WacloudError):
    """The Cloud API answered with an error object. Subclasses group codes by meaning."""

    def __init__(self, detail: ErrorDetail, http_status: int | None = None) -> None:
        self.detail = detail
        self.code = detail.code
        self.http_status = http_status
        self.fbtrace_id = detail.fbtrace_id
        self.details = detail.details
        self.retry = retry_class(detail.code, http_status)
        row = lookup(detail.code)
        title = detail.title or (row.title if row is not None else "error")
        text = detail.message or f"(#{detail.code}) {title}"
        if detail.details and detail.details not in text:
            text += f": {detail.details}"
        if detail.fbtrace_id:
            text += f" [fbtrace_id={detail.fbtrace_id}]"
        super().__init__(text)


class RateLimited(WhatsAppError):
    """Throughput or API-call rate reached (130429, 4, 80007, 80008): back off and retry."""


class PairRateLimited(WhatsAppError):
    """Too many messages to one recipient (131056): wait for that recipient only."""


class WindowClosed(WhatsAppError):
    """The 24-hour customer-service window is closed (131047): send a template instead."""


class RecipientOptedOut(WhatsAppError):
    """The user stopped marketing messages (131050): never retry marketing to them."""


class RecipientUnavailable(WhatsAppError):
    """The message cannot reach this user (131026, 130403, 131030, 130472…)."""


class AuthError(WhatsAppError):
    """Token expired or invalid, or a permission is missing (0, 190, 10, 200–299…)."""


class InvalidRequest(WhatsAppError):
    """The request is wrong (100, 131008, 131009, 131051…): fix it before sending again."""


class TemplateError(InvalidRequest):
    """A template send does not match the template (1320xx)."""


class CallPermissionRequired(WhatsAppError):
    """A business-initiated call needs the user's call permission (138006): send a permission request first."""


class GroupUnavailable(WhatsAppError):
    """The group is unknown to this number or suspended (131041, 131207)."""


class RecipientIdNotSupported(InvalidRequest):
    """This message cannot go to a business-scoped user id (131062): send it to the phone number."""


class TemplateNotReady(WhatsAppError):
    """The template is not yet usable on the Marketing Messages API (134102): retry in a few minutes."""


class ServerError(WhatsAppError):
    """A transient server-side failure (1, 2, 131000, 131016, 131057, 133004, 5xx)."""


_BY_CODE: Final[Mapping[int, type[WhatsAppError]]] = {
    130429: RateLimited,
    4: RateLimited,
    80007: RateLimited,
    80008: RateLimited,
    131056: PairRateLimited,
    131047: WindowClosed,
    131050: RecipientOptedOut,
    131026: RecipientUnavailable,
    130403: RecipientUnavailable,
    131030: RecipientUnavailable,
    130472: RecipientUnavailable,
    131049: RecipientUnavailable,
    613: RateLimited,
    131208: RateLimited,
    138006: CallPermissionRequired,
    131041: GroupUnavailable,
    131207: GroupUnavailable,
    131062: RecipientIdNotSupported,
    134100: TemplateError,
    134101: TemplateError,
    134102: TemplateNotReady,
}

_BY_RETRY: Final[Mapping[RetryClass, type[WhatsAppError]]] = {
    RetryClass.BACKOFF: ServerError,
    RetryClass.RECIPIENT_LATER: PairRateLimited,
    RetryClass.NEVER: WhatsAppError,
    RetryClass.NEEDS_TEMPLATE: WindowClosed,
    RetryClass.FIX_REQUEST: InvalidRequest,
    RetryClass.AUTH: AuthError,
}


def exception_class(code: int, http_status: int | None = None) -> type[WhatsAppError]:
    """The most specific exception class for ``code``."""
    if code in _BY_CODE:
        return _BY_CODE[code]
    if http_status == 429 and lookup(code) is None:
        return RateLimited
    if 132000 <= code <= 132099 and retry_class(code, http_status) is RetryClass.FIX_REQUEST:
        return TemplateError
    return _BY_RETRY[retry_class(code, http_status)]


def from_response(body: object, http_status: int) -> WhatsAppError:
    """Build the exception for an error response (``{"error": {...}}``), whatever its shape."""
    obj = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(obj, Mapping) and _has_code(obj):
        detail = ErrorDetail.from_graph(obj)
        return exception_class(detail.code, http_status)(detail, http_status)
    # No usable code: say so, keep what the object does carry, and classify by HTTP status alone
    # (a missing code must not read as code 0, "AuthException").
    partial = ErrorDetail.from_graph(obj) if isinstance(obj, Mapping) else ErrorDetail(code=0)
    detail = replace(partial, code=0 if http_status in (401, 403) else 1,
                     message=partial.message or f"HTTP {http_status} without a Graph error code")
    return _status_class(http_status)(detail, http_status)


def _has_code(obj: Mapping[str, Any]) -> bool:
    raw = obj.get("code")
    try:
        return raw is not None and not isinstance(raw, bool) and int(raw) >= 0
    except (TypeError, ValueError, OverflowError):
        return False


def _status_class(http_status: int) -> type[WhatsAppError]:
    if http_status in (401, 403):
        return AuthError
    if http_status == 429:
        return RateLimited
    return ServerError if http_status >= 500 else InvalidRequest


def error_body(code: int, details: str | None = None, *, fbtrace_id: str, message: str | None = None,
               subcode: int | None = None) -> dict[str, Any]:
    """Meta's error object for ``code`` (as the sandbox answers and tests expect)."""
    row = lookup(code)
    title = row.title if row is not None else "Error"
    err: dict[str, Any] = {
        "message": message or f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details or (row.meaning if row else title)},
        "fbtrace_id": fbtrace_id,
    }
    if subcode is not None:
        err["error_subcode"] = subcode
    return {"error": err}


def http_status_for(code: int) -> int:
    """The HTTP status the sandbox answers ``code`` with."""
    row = lookup(code)
    return row.http_status if row is not None else 400
