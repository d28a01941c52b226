"""The Calling API emulation: simulated calls with opaque SDP signalling, call permissions, the ``calls``
webhooks (connect, status, terminate) and the numbers' calling settings. No media flows.

The rules: a business-initiated call needs the user's permission (138006 without it), which the user
grants by answering a call permission request message; a user calling the business opens the customer's
service window like a message does; one call at a time per user (138003).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import wacloud.sandbox._payloads as _payloads
import wacloud.sandbox._portfolio as _portfolio
from wacloud import limits
from wacloud.sandbox._errors import ControlError, GraphError, missing, param
from wacloud.sandbox._model import Call, CallPermission, InboundMessage

if TYPE_CHECKING:
    from wacloud.sandbox._model import Customer, OutboundMessage
    from wacloud.sandbox._state import SandboxState

USER = "USER_INITIATED"
BUSINESS = "BUSINESS_INITIATED"
#: How long a granted permission lasts (Meta's temporary permission: 7 days).
PERMISSION_TTL_S = 7 * 24 * 3600.0
#: Business-initiated calls per user per 24 h the sandbox allows, shown in the permission's limits.
CALLS_PER_DAY = 100
_DAY = 24 * 3600.0
#: The sandbox's default calling settings of a number (calling on, so calls work out of the box).
DEFAULT_SETTINGS: dict[str, Any] = {
    "status": "ENABLED",
    "call_icon_visibility": "DEFAULT",
    "callback_permission_status": "DISABLED",
    "srtp_key_exchange_protocol": "DTLS-SRTP",
    "sip": {"status": "DISABLED"},
}
_ENUMS = {
    "status": ("ENABLED", "DISABLED"),
    "call_icon_visibility": ("DEFAULT", "DISABLE_ALL"),
    "callback_permission_status": ("ENABLED", "DISABLED"),
    "srtp_key_exchange_protocol": ("DTLS-SRTP", "SDES-SRTP"),
}


# --- settings ------------------------------------------------------------------------------------


def settings(state: SandboxState, pid: str) -> dict[str, Any]:
    """The number's ``calling`` settings block."""
    current = state.calling.settings.get(pid)
    return {**DEFAULT_SETTINGS, **(current or {})}


def update_settings(state: SandboxState, pid: str, body: dict[str, Any]) -> None:
    """Apply ``POST /{phone-number-id}/settings``: merge the given calling keys (call_hours replaces)."""
    calling = body.get("calling")
    if calling is None:
        raise missing("calling")
    if not isinstance(calling, dict) or not calling:
        raise param("Param calling must be a non-empty object.")
    known = {*_ENUMS, "call_hours", "sip", "call_icons", "restrict_to_user_countries"}
    unknown = sorted(set(calling) - known)
    if unknown:
        raise param(f"Param calling has unknown keys {unknown}.")
    for key, allowed in _ENUMS.items():
        if key in calling and calling[key] not in allowed:
            raise param(f"Param calling.{key} must be one of {list(allowed)}.")
    for key in ("call_hours", "sip", "call_icons"):
        if key in calling and not isinstance(calling[key], dict):
            raise param(f"Param calling.{key} must be an object.")
    hours = calling.get("call_hours")
    if isinstance(hours, dict) and hours.get("status") == "ENABLED" and not hours.get("timezone_id"):
        raise missing("calling.call_hours.timezone_id")
    merged = state.calling.settings.setdefault(pid, {})
    merged.update(calling)


def _enabled(state: SandboxState, pid: str) -> None:
    current = settings(state, pid)
    if current.get("status") != "ENABLED":
        raise GraphError(138000, f"Calling is not enabled on phone number {pid}.")
    sip = current.get("sip")
    if isinstance(sip, dict) and sip.get("status") == "ENABLED":
        raise GraphError(131055, "Calling endpoints are not used on a number with SIP signalling enabled.")


# --- permissions ---------------------------------------------------------------------------------


def _request_sent(state: SandboxState, pid: str, wa_id: str) -> OutboundMessage | None:
    """The latest call permission request message this number sent the user."""
    for wamid in reversed(state.by_customer.get(wa_id, [])):
        msg = state.messages.get(wamid)
        if msg is None or msg.phone_number_id != pid or msg.type != "interactive":
            continue
        if msg.body.get("interactive", {}).get("type") == "call_permission_request":
            return msg
    return None


def _calls_today(state: SandboxState, pid: str, wa_id: str, now: float) -> int:
    return sum(
        1
        for c in state.calling.calls.values()
        if c.phone_number_id == pid and c.wa_id == wa_id and c.direction == BUSINESS and now - c.created_at < _DAY
    )


def permission_status(state: SandboxState, pid: str, wa_id: str, now: float) -> tuple[str, float | None]:
    """``granted`` / ``denied`` / ``expired`` / ``pending`` and the expiry of a granted permission."""
    answer = state.calling.permissions.get((pid, wa_id))
    request = _request_sent(state, pid, wa_id)
    if answer is not None and (request is None or request.created_at <= answer.at):
        if answer.status == "granted" and answer.expires_at is not None and now >= answer.expires_at:
            return "expired", None
        return answer.status, answer.expires_at
    if request is not None:
        return "pending", None
    return "denied", None


def permission_view(state: SandboxState, pid: str, wa_id: str) -> dict[str, Any]:
    """The answer of ``GET /{phone-number-id}/call_permissions``."""
    now = state.clock.now()
    status, expires = permission_status(state, pid, wa_id, now)
    used = _calls_today(state, pid, wa_id, now)
    permission: dict[str, Any] = {"status": status}
    if expires is not None:
        permission["expiration_time"] = int(expires)
    return {
        "messaging_product": "whatsapp",
        "permission": permission,
        "actions": [
            {
                "action_name": "start_call",
                "can_perform_action": status == "granted" and used < CALLS_PER_DAY,
                "limits": [
                    {
                        "time_period": "PT24H",
                        "current_usage": used,
                        "max_allowed": CALLS_PER_DAY,
                        "limit_expiration_time": int(now + _DAY),
                    }
                ],
            },
            {"action_name": "send_call_permission_request", "can_perform_action": status in ("denied", "expired")},
        ],
    }


def answer_permission_request(state: SandboxState, data: dict[str, Any]) -> dict[str, Any]:
    """The simulated user answers the latest call permission request (control API): the business gets the
    ``call_permission_reply`` message webhook, and a business-initiated call is allowed (or not)."""
    wa_id = data.get("wa_id")
    if not isinstance(wa_id, str) or not wa_id.isdigit():
        raise ControlError("wa_id must be the customer's WhatsApp id (digits)")
    pid = data.get("phone_number_id", state.config.phone_number_id)
    if pid not in state.config.numbers:
        raise ControlError(f"phone_number_id must be one of {sorted(state.config.numbers)}")
    response = data.get("response", "accept")
    if response not in ("accept", "reject"):
        raise ControlError("response must be accept or reject")
    request = _request_sent(state, pid, wa_id)
    if request is None:
        raise ControlError(f"the business has sent {wa_id} no call permission request to answer")
    now = state.clock.now()
    granted = response == "accept"
    expires = now + PERMISSION_TTL_S if granted else None
    state.calling.permissions[(pid, wa_id)] = CallPermission("granted" if granted else "denied", now, expires)
    customer = state.customers.get(wa_id) or state.add_customer({"wa_id": wa_id})
    reply: dict[str, Any] = {"response": response, "response_source": "user_action"}
    if expires is not None:
        reply["expiration_timestamp"] = int(expires)
    wamid = state.ids.wamid(wa_id, inbound=True)
    message = {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(int(now)),
        "type": "interactive",
        "context": {"from": state.config.numbers[pid], "id": request.id},
        "interactive": {"type": "call_permission_reply", "call_permission_reply": reply},
    }
    # Answering is a message from the user: it opens the service window like any other.
    customer.last_inbound_at = now
    state.inbound[wamid] = InboundMessage(wamid, wa_id, "interactive", now, message)
    value = {
        "messaging_product": "whatsapp",
        "metadata": _payloads.metadata(state, pid),
        "contacts": [_contact(customer)],
        "messages": [message],
    }
    state.dispatcher.emit(wa_id, "messages", value)
    return {"id": wamid, "permission": permission_view(state, pid, wa_id)["permission"]}


# --- calls ---------------------------------------------------------------------------------------


def _contact(customer: Customer) -> dict[str, Any]:
    return {"profile": {"name": customer.profile_name}, "wa_id": customer.wa_id}


def _busy(state: SandboxState, pid: str, wa_id: str) -> None:
    for call in state.calling.calls.values():
        if call.active and call.phone_number_id == pid and call.wa_id == wa_id:
            raise GraphError(138003, f"A call with {wa_id} is already in progress ({call.id}).")


def _event(state: SandboxState, call: Call, event: str, now: float) -> dict[str, Any]:
    business = state.config.numbers[call.phone_number_id]
    user_first = call.direction == USER
    item: dict[str, Any] = {
        "id": call.id,
        "from": call.wa_id if user_first else business,
        "to": business if user_first else call.wa_id,
        "event": event,
        "timestamp": str(int(now)),
        "direction": call.direction,
    }
    if call.biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = call.biz_opaque_callback_data
    return item


def _emit_calls(state: SandboxState, call: Call, key: str, item: dict[str, Any]) -> None:
    customer = state.customers.get(call.wa_id)
    metadata = _payloads.metadata(state, call.phone_number_id)
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": metadata}
    if customer is not None and key == "calls":
        value["contacts"] = [_contact(customer)]
    value[key] = [item]
    state.dispatcher.emit(call.wa_id, "calls", value)


def _status(state: SandboxState, call: Call, status: str, now: float) -> None:
    item: dict[str, Any] = {
        "id": call.id,
        "timestamp": str(int(now)),
        "type": "call",
        "status": status,
        "recipient_id": call.wa_id,
    }
    if call.biz_opaque_callback_data is not None:
        item["biz_opaque_callback_data"] = call.biz_opaque_callback_data
    _emit_calls(state, call, "statuses", item)


def _end(state: SandboxState, call: Call, outcome: str, error: int | None = None) -> None:
    """End ``call`` and send its ``terminate`` webhook (COMPLETED when it was answered)."""
    now = state.clock.now()
    call.state = "ended"
    call.ended_at = now
    call.outcome = outcome
    item = _event(state, call, "terminate", now)
    item["status"] = "COMPLETED" if outcome == "COMPLETED" else "FAILED"
    if call.accepted_at is not None:
        item["start_time"] = str(int(call.accepted_at))
        item["end_time"] = str(int(now))
        item["duration"] = call.duration
    if error is not None:
        item["errors"] = [_payloads.error_item(error)]
    _emit_calls(state, call, "calls", item)


def _sdp(body: dict[str, Any], sdp_type: str) -> str:
    session = body.get("session")
    if session is None:
        raise missing("session")
    if not isinstance(session, dict):
        raise param("Param session must be an object.")
    if session.get("sdp_type") != sdp_type:
        raise param(f"Param session.sdp_type must be {sdp_type!r} for this action.")
    sdp = session.get("sdp")
    if sdp is None:
        raise missing("session.sdp")
    if not isinstance(sdp, str) or not sdp.strip():
        raise param("Param session.sdp must be a non-empty SDP string.")
    return sdp


def _opaque(body: dict[str, Any]) -> str | None:
    data = body.get("biz_opaque_callback_data")
    if data is None:
        return None
    cap = limits.limit("call.biz_opaque_callback_data").max
    if not isinstance(data, str) or len(data) > cap:
        raise param(f"Param biz_opaque_callback_data must be a string of at most {cap} characters.")
    return data


def _find(state: SandboxState, pid: str, body: dict[str, Any]) -> Call:
    call_id = body.get("call_id")
    if call_id is None:
        raise missing("call_id")
    call = state.calling.calls.get(call_id) if isinstance(call_id, str) else None
    if call is None or call.phone_number_id != pid:
        raise param(f"Param call_id {call_id!r} is not a call of this phone number.")
    return call


def business_action(state: SandboxState, pid: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /{phone-number-id}/calls``: connect, pre_accept, accept, reject or terminate."""
    if body.get("messaging_product") != "whatsapp":
        raise param("The parameter messaging_product is required and must be 'whatsapp'.")
    action = body.get("action")
    if action is None:
        raise missing("action")
    if action == "connect":
        return _connect(state, pid, body)
    if action not in ("pre_accept", "accept", "reject", "terminate"):
        raise param("Param action must be one of connect, pre_accept, accept, reject, terminate.")
    call = _find(state, pid, body)
    if not call.active:
        raise param(f"Call {call.id} has already ended.")
    now = state.clock.now()
    if action == "terminate":
        _end(state, call, "COMPLETED" if call.accepted_at is not None else "FAILED")
        return {"messaging_product": "whatsapp", "success": True}
    # The other three answer a call the user placed, before it was accepted.
    if call.direction != USER:
        raise param(f"Param action {action!r} applies to user-initiated calls; {call.id} was placed by the business.")
    if call.state == "ongoing":
        raise param(f"Call {call.id} has already been accepted.")
    if action == "reject":
        _end(state, call, "REJECTED")
    else:
        call.answer_sdp = _sdp(body, "answer")
        opaque = _opaque(body)
        if opaque is not None:
            call.biz_opaque_callback_data = opaque
        if action == "pre_accept":
            call.state = "pre_accepted"
        else:
            call.state = "ongoing"
            call.accepted_at = now
    return {"messaging_product": "whatsapp", "success": True}


def _connect(state: SandboxState, pid: str, body: dict[str, Any]) -> dict[str, Any]:
    to = body.get("to")
    if to is None:
        raise missing("to")
    if not isinstance(to, str):
        raise param("Param to must be a string.")
    wa_id = "".join(ch for ch in to if ch.isdigit())
    if not 7 <= len(wa_id) <= 15:
        raise GraphError(131009, f"Param to is not valid: {to!r} is not a phone number")
    sdp = _sdp(body, "offer")
    opaque = _opaque(body)
    _enabled(state, pid)
    now = state.clock.now()
    status, _ = permission_status(state, pid, wa_id, now)
    if status != "granted":
        raise GraphError(
            138006,
            f"No approved call permission from {wa_id} (permission is {status}); send a call permission request.",
        )
    if _calls_today(state, pid, wa_id, now) >= CALLS_PER_DAY:
        raise GraphError(138005, f"More than {CALLS_PER_DAY} calls to {wa_id} in 24 hours.")
    customer = state.customers.get(wa_id)
    if customer is None or not customer.on_whatsapp:
        raise GraphError(138001, f"{wa_id} cannot be called.")
    _busy(state, pid, wa_id)
    call = Call(_call_id(state), pid, wa_id, BUSINESS, now)
    call.offer_sdp = sdp
    call.biz_opaque_callback_data = opaque
    state.calling.calls[call.id] = call
    _status(state, call, "RINGING", now)
    return {"messaging_product": "whatsapp", "calls": [{"id": call.id}]}


def _call_id(state: SandboxState) -> str:
    return f"wacid.{state.ids.token(24)}"


# --- the simulated user (control API) ------------------------------------------------------------


def user_calls(state: SandboxState, data: dict[str, Any]) -> Call:
    """A simulated customer calls the business: the ``connect`` webhook with their SDP offer."""
    wa_id = data.get("from")
    if not isinstance(wa_id, str) or not wa_id.isdigit():
        raise ControlError("from must be the customer's wa_id (digits)")
    pid = data.get("to", state.config.phone_number_id)
    if pid not in state.config.numbers:
        raise ControlError(f"to must be one of the business numbers {sorted(state.config.numbers)}")
    sdp = data.get("sdp", _SANDBOX_OFFER)
    if not isinstance(sdp, str) or not sdp.strip():
        raise ControlError("sdp must be a non-empty string (the caller's SDP offer)")
    if settings(state, pid).get("status") != "ENABLED":
        raise ControlError(f"calling is disabled on {pid}: the call button is hidden from users")
    try:
        _busy(state, pid, wa_id)
    except GraphError as exc:
        raise ControlError(exc.details) from None
    now = state.clock.now()
    customer = state.customers.get(wa_id) or state.add_customer({"wa_id": wa_id})
    if isinstance(data.get("profile_name"), str) and data["profile_name"]:
        customer.profile_name = data["profile_name"]
    # A call from the user opens (or renews) the customer-service window, like a message.
    customer.last_inbound_at = now
    call = Call(_call_id(state), pid, wa_id, USER, now, offer_sdp=sdp)
    state.calling.calls[call.id] = call
    item = _event(state, call, "connect", now)
    item["session"] = {"sdp_type": "offer", "sdp": sdp}
    _emit_calls(state, call, "calls", item)
    return call


def user_acts(state: SandboxState, call_id: str, data: dict[str, Any]) -> Call:
    """The simulated customer answers, declines or hangs up (``action``: accept, reject, terminate)."""
    call = state.calling.calls.get(call_id)
    if call is None:
        raise ControlError(f"no call {call_id}", 404)
    if not call.active:
        raise ControlError(f"call {call_id} has already ended")
    action = data.get("action")
    now = state.clock.now()
    if action == "terminate":
        _end(state, call, "COMPLETED" if call.accepted_at is not None else "FAILED")
    elif action in ("accept", "reject"):
        if call.direction != BUSINESS or call.state != "ringing":
            raise ControlError("the customer accepts or rejects only a ringing business-initiated call")
        if action == "reject":
            _status(state, call, "REJECTED", now)
            call.state, call.ended_at, call.outcome = "ended", now, "REJECTED"
        else:
            sdp = data.get("sdp", _SANDBOX_ANSWER)
            if not isinstance(sdp, str) or not sdp.strip():
                raise ControlError("sdp must be a non-empty string (the callee's SDP answer)")
            call.answer_sdp, call.state, call.accepted_at = sdp, "ongoing", now
            _status(state, call, "ACCEPTED", now)
            item = _event(state, call, "connect", now)
            item["session"] = {"sdp_type": "answer", "sdp": sdp}
            _emit_calls(state, call, "calls", item)
    else:
        raise ControlError("action must be accept, reject or terminate")
    return call


# --- analytics -----------------------------------------------------------------------------------

_GRANULARITY_S = {"HALF_HOUR": 1800, "DAILY": 86400, "MONTHLY": 30 * 86400}


def analytics(state: SandboxState, spec: str) -> dict[str, Any]:
    """The ``call_analytics`` field: counts of the simulated calls, per time bucket (and direction)."""
    args = _field_args(spec)
    try:
        start, end = int(args["start"]), int(args["end"])
    except (KeyError, ValueError):
        raise param("call_analytics needs start(<unix time>) and end(<unix time>).") from None
    if end <= start:
        raise param("call_analytics: end must be after start.")
    granularity = args.get("granularity", "DAILY")
    if granularity not in _GRANULARITY_S:
        raise param(f"call_analytics: granularity must be one of {list(_GRANULARITY_S)}.")
    phones = _list_arg(args.get("phone_numbers"))
    by_direction = "DIRECTION" in _list_arg(args.get("dimensions"))
    step = _GRANULARITY_S[granularity]
    buckets: dict[tuple[int, str], list[Call]] = {}
    for call in state.calling.calls.values():
        display = state.config.numbers.get(call.phone_number_id, "")
        if phones and display not in phones and call.phone_number_id not in phones:
            continue
        if not start <= call.created_at < end:
            continue
        slot = start + int((call.created_at - start) // step) * step
        buckets.setdefault((slot, call.direction if by_direction else ""), []).append(call)
    points = []
    for (slot, direction), calls in sorted(buckets.items()):
        point: dict[str, Any] = {
            "start": slot,
            "end": min(slot + step, end),
            "count": len(calls),
            "cost": 0,
            "average_duration": round(sum(c.duration for c in calls) / len(calls)),
        }
        if direction:
            point["direction"] = direction
        points.append(point)
    return {"data": [{"data_points": points}]}


def _field_args(spec: str, prefix: str = "call_analytics") -> dict[str, str]:
    """``call_analytics.start(1).end(2).granularity(DAILY)`` → {"start": "1", …}."""
    out: dict[str, str] = {}
    rest = spec[len(prefix) :]
    while rest.startswith("."):
        name, _, tail = rest[1:].partition("(")
        depth, i = 1, 0
        while i < len(tail) and depth:
            depth += {"(": 1, ")": -1}.get(tail[i], 0)
            i += 1
        if depth:
            raise param(f"call_analytics: unbalanced parentheses after {name!r}.")
        out[name] = tail[: i - 1]
        rest = tail[i:]
    if rest:
        raise param(f"call_analytics: cannot read {rest!r}.")
    return out


def pricing_analytics(state: SandboxState, spec: str) -> dict[str, Any]:
    """The ``pricing_analytics`` field: delivered messages' volume and cost (the sandbox's ``prices``)."""
    args = _field_args(spec, "pricing_analytics")
    try:
        start, end = int(args["start"]), int(args["end"])
    except (KeyError, ValueError):
        raise param("pricing_analytics needs start(<unix time>) and end(<unix time>).") from None
    if end <= start:
        raise param("pricing_analytics: end must be after start.")
    granularity = args.get("granularity", "DAILY")
    if granularity not in _GRANULARITY_S:
        raise param(f"pricing_analytics: granularity must be one of {list(_GRANULARITY_S)}.")
    points = _portfolio.pricing_points(list(state.messages.values()), state.portfolio.prices, start, end,
                                       _GRANULARITY_S[granularity])
    return {"data": [{"data_points": points}]}


def _list_arg(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [item.strip().strip('"') for item in raw.strip("[]").split(",") if item.strip()]


_SANDBOX_OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n"
_SANDBOX_ANSWER = "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n"
