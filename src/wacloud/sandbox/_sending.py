"""``POST /{phone-number-id}/messages``: validate, rate-limit, accept, and plan the statuses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import wacloud.sandbox._faults as _faults
import wacloud.sandbox._groups as _groups
import wacloud.sandbox._pacing as _pacing
from wacloud import errors, limits
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._model import OutboundMessage
from wacloud.sandbox._state import management_state
from wacloud.sandbox._statuses import plan_statuses
from wacloud.sandbox._templates import check_send, find_for_send
from wacloud.sandbox._validate import validate_send
from wacloud.sandbox._validate_base import ParsedSend

if TYPE_CHECKING:
    from wacloud.sandbox._model import Customer
    from wacloud.sandbox._state import SandboxState

_SUCCESS = {"success": True}


@dataclass(slots=True)
class SendResult:
    """The HTTP answer to give, plus a fault to act out (drop the connection, time out…)."""

    status: int
    body: dict[str, Any]
    fault: _faults.Fault | None = None


def error_result(state: SandboxState, err: GraphError) -> SendResult:
    """An error answer in Meta's shape."""
    return SendResult(err.http_status, err.body(state.ids.fbtrace_id()))


def process(
    state: SandboxState,
    phone_number_id: str,
    raw: bytes,
    version: tuple[int, int],
    fault: _faults.Fault | None,
    marketing: bool = False,
) -> SendResult:
    """Handle one send (``marketing``: through ``/marketing_messages``); every outcome is logged and counted."""
    to: str | None = None
    wa_id: str | None = None
    mtype: str | None = None
    try:
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile deep nesting
            raise GraphError(100, "The request body is not valid JSON.") from None
        if isinstance(body, dict):
            raw_to = body.get("to")
            to = raw_to if isinstance(raw_to, str) else None
            raw_type = body.get("type", "text")
            mtype = raw_type if isinstance(raw_type, str) else None
        if not management_state(state).is_registered(phone_number_id):
            # A deregistered number can't send anything until it registers again (Meta's 133010).
            raise GraphError(
                133010, f"Phone number {phone_number_id} is not registered on the WhatsApp Business Platform."
            )
        if isinstance(body, dict) and body.get("recipient_type") == "group":
            result = _groups.send(state, phone_number_id, body, version)
            state.log_attempt(phone_number_id=phone_number_id, to=to, wa_id=None, type_=mtype, code=0,
                              http_status=200, outcome="accepted", wamid=result["messages"][0]["id"])
            return SendResult(200, result)
        if marketing:
            body = _marketing_body(body)
        req = validate_send(body)
        mtype = req.type or mtype
        if req.kind == "read":
            _mark_read(state, req)
            return SendResult(200, _SUCCESS)
        wa_id = req.wa_id
        if marketing and req.type != "template":
            raise GraphError(134100, "Message must be a marketing template.")
        return _send(state, phone_number_id, req, body, version, fault, marketing)
    except GraphError as err:
        if err.code == 130429:
            err.http_status = state.config.throttle_http_status
        state.log_attempt(
            phone_number_id=phone_number_id,
            to=to,
            wa_id=wa_id,
            type_=mtype,
            code=err.code,
            http_status=err.http_status,
            outcome="error",
        )
        return error_result(state, err)


def _mark_read(state: SandboxState, req: ParsedSend) -> None:
    assert req.message_id is not None
    _groups.refuse_read(state, req.message_id)
    inbound = state.inbound.get(req.message_id)
    if inbound is not None:
        # Marking one message read marks the earlier ones from that customer read too.
        for other in state.inbound.values():
            if other.wa_id == inbound.wa_id and other.timestamp <= inbound.timestamp:
                other.read = True
    elif not req.message_id.startswith("wamid."):
        raise GraphError(131009, f"Param message_id is not valid: {req.message_id!r} is not a message id")


def _send(
    state: SandboxState,
    phone_number_id: str,
    req: ParsedSend,
    body: dict[str, Any],
    version: tuple[int, int],
    fault: _faults.Fault | None,
    marketing: bool = False,
) -> SendResult:
    cfg = state.config
    now = state.clock.now()
    upgrading = state.portfolio.upgrading.get(phone_number_id)
    if upgrading is not None and now < upgrading[0]:
        raise GraphError(131057, "Throughput upgrade in progress: the account is in maintenance mode.")
    by_bsuid = req.recipient is not None
    customer: Customer | None = None
    if req.recipient is not None:
        customer = state.customer_for_recipient(req.recipient)
        # The customer's key (their number, or their BSUID when they have none) keys windows and limits.
        req.wa_id = customer.wa_id if customer is not None else req.recipient
    if req.wa_id in cfg.numbers.values():
        raise GraphError(131021, "The recipient is the business phone number itself.")
    template = None
    if req.type == "template":
        assert req.template_name is not None and req.template_language is not None
        template = find_for_send(state, req.template_name, req.template_language)
        check_send(template, req, version)
        if marketing and template.category != "MARKETING":
            raise GraphError(134101, f"Template {template.name} is {template.category}: the Marketing Messages "
                                  "API sends marketing templates only.")
        if by_bsuid and _needs_phone(template):
            raise GraphError(131062, "Business-scoped User ID recipients are not supported for this message.")
    async_error = _check_media(state, req)
    if fault is not None and fault.kind == "code":
        raise GraphError(
            fault.code,
            errors.ERROR_CODES[fault.code].meaning if fault.code in errors.ERROR_CODES else "Injected fault",
        )
    if not state.limiter.take_throughput(phone_number_id, now):
        raise GraphError(130429, f"Cloud API message throughput ({cfg.mps:g} mps) has been reached.")
    if not state.limiter.take_pair(phone_number_id, req.wa_id, now):
        raise GraphError(131056, "Too many messages sent to this recipient in a short time.")
    if not by_bsuid:
        customer = state.customer_for_send(req.wa_id)
    if (template is not None and customer is not None and not customer.window_open(now, phone_number_id)
            and not state.portfolio.admit(customer.wa_id, now)):
        # Meta documents no dedicated code for the portfolio's messaging limit: the sandbox answers 131048.
        raise GraphError(131048, "Messaging limit reached: this business portfolio has reached "
                                 f"{state.portfolio.tier_name} unique customers in 24 hours.")
    failure = _delivery_failure(state, customer, req, template, now, phone_number_id)
    if failure is None and async_error is not None:
        failure = async_error
    if failure is not None and cfg.failure_channels.get(failure[0]) == "sync":
        raise GraphError(failure[0], failure[1])
    wamid = state.ids.wamid(req.wa_id)
    msg = OutboundMessage(
        id=wamid,
        phone_number_id=phone_number_id,
        to=req.to,
        wa_id=req.wa_id,
        type=req.type,
        body=body,
        created_at=now,
        version=version,
        template_id=template.id if template is not None else None,
    )
    _price(msg, customer, template, now, phone_number_id)
    state.messages[wamid] = msg
    state.by_customer.setdefault(req.wa_id, []).append(wamid)
    never = fault is not None and fault.kind == "never_deliver"
    outcome = (
        "accepted_undelivered"
        if never
        else ("accepted_dropped" if fault is not None and fault.kind == "drop_after_accept" else "accepted")
    )
    state.log_attempt(
        phone_number_id=phone_number_id,
        to=req.to,
        wa_id=req.wa_id,
        type_=req.type,
        code=0,
        http_status=200,
        outcome=outcome,
        wamid=wamid,
    )
    item: dict[str, Any] = {"id": wamid}
    if template is not None:
        item["message_status"] = _pacing.message_status(state, template)
    if template is not None and item["message_status"] == _pacing.HELD and not never:
        _pacing.hold(template, wamid, failure)  # its statuses wait for the quality assessment
    elif not never:
        plan_statuses(state, msg, customer, failure, now)
    # A BSUID send is answered with the BSUID (``user_id``), a phone send with the ``wa_id``.
    contact = (
        {"input": req.to, "user_id": customer.user_id if customer is not None else req.to}
        if by_bsuid
        else {"input": req.to, "wa_id": req.wa_id}
    )
    result = SendResult(200, {"messaging_product": "whatsapp", "contacts": [contact], "messages": [item]})
    if fault is not None and fault.kind == "drop_after_accept":
        result.fault = fault
    return result


def _check_media(state: SandboxState, req: ParsedSend) -> tuple[int, str] | None:
    """Uploaded ids must exist and fit the message kind (131053 now); bad links fail later."""
    later: tuple[int, str] | None = None
    now = state.clock.now()
    for ref in req.media:
        if ref.id is not None:
            media = state.media.get(ref.id)
            if media is None or now - media.uploaded_at > limits.MEDIA_TTL_S:
                raise GraphError(131053, f"{ref.path}: media id {ref.id} does not exist or has expired.")
            kind = limits.media_kind_for_mime(media.mime_type)
            if kind is None or (kind.value != ref.kind and not (ref.kind == "image" and kind.value == "sticker")):
                raise GraphError(
                    131053,
                    f"{ref.path}: media {ref.id} is {media.mime_type}, which a {ref.kind} can't carry.",
                )
        elif ref.link is not None and not ref.link.startswith(("http://", "https://")):
            later = (131053, f"{ref.path}: could not download the media from {ref.link!r}")
    return later


def _needs_phone(template: Any) -> bool:
    """Authentication templates with a one-tap, zero-tap or copy-code button go to phone numbers only."""
    return template.category == "AUTHENTICATION" and any(
        str(b.get("type", "")).upper() == "OTP"
        and str(b.get("otp_type", "COPY_CODE")).upper() in ("ONE_TAP", "ZERO_TAP", "COPY_CODE")
        for b in template.buttons
    )


def _delivery_failure(
    state: SandboxState, customer: Customer | None, req: ParsedSend, template: Any, now: float, phone_number_id: str
) -> tuple[int, str] | None:
    if customer is None or not customer.on_whatsapp:
        return (131026, "Message undeliverable: the recipient is not on WhatsApp.")
    if customer.blocked:
        return (130403, "The business has blocked this user.")
    if template is not None:
        if template.category == "MARKETING" and customer.marketing_opt_out:
            return (131050, "The user has stopped marketing messages.")
        return None
    if not customer.window_open(now, phone_number_id):
        return (
            131047,
            "Message failed to send because more than 24 hours have passed since the customer "
            "last replied to this number.",
        )
    if req.type == "reaction":
        target = req.content.get("message_id")
        sent = state.messages.get(target) if isinstance(target, str) else None
        got = state.inbound.get(target) if isinstance(target, str) else None
        ok = (sent is not None and sent.wa_id == customer.wa_id and sent.type != "reaction") or (
            got is not None and got.wa_id == customer.wa_id and got.type != "reaction"
        )
        if not ok:
            return (131009, f"Reaction target {target!r} is not a message of this conversation.")
    return None


def _price(msg: OutboundMessage, customer: Customer | None, template: Any, now: float, phone_number_id: str) -> None:
    if template is None:
        msg.category, msg.pricing_type, msg.billable = "service", "free_customer_service", False
        return
    category = template.category.lower()
    if customer is not None and customer.fep_open(now):
        msg.category, msg.pricing_type, msg.billable = "referral_conversion", "free_entry_point", False
    elif category == "utility" and customer is not None and customer.window_open(now, phone_number_id):
        msg.category, msg.pricing_type, msg.billable = "utility", "free_customer_service", False
    else:
        msg.category, msg.pricing_type, msg.billable = category, "regular", True


def _marketing_body(body: Any) -> Any:
    """A ``/marketing_messages`` body as a ``/messages`` one: its own fields checked, then left out."""
    if not isinstance(body, dict):
        return body
    policy = body.get("product_policy")
    if policy is not None and policy not in ("STRICT", "CLOUD_API_FALLBACK"):
        raise GraphError(100, "Param product_policy must be one of {STRICT, CLOUD_API_FALLBACK}.")
    sharing = body.get("message_activity_sharing")
    if sharing is not None and not isinstance(sharing, bool):
        raise GraphError(100, "Param message_activity_sharing must be a boolean.")
    return {k: v for k, v in body.items() if k not in ("product_policy", "message_activity_sharing")}
