"""The Calling API: place, answer and end WhatsApp voice calls, call permissions, calling settings, analytics.

Calls are signalled through ``POST /{phone-number-id}/calls`` with an ``action`` (connect, pre_accept,
accept, reject, terminate); the media runs over WebRTC, described by SDP offers and answers that this
client passes through untouched. The rules Meta enforces: a business-initiated call (``connect``)
needs the user's call permission (ask with :meth:`CallingApi.send_call_permission_request`, check with
:meth:`CallingApi.get_call_permissions`; error 138006 otherwise), and a call, like a message, opens the
customer-service window.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

import wacloud.errors as errors
import wacloud.phone as phone
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.messaging import MessagingApi, Recipient
from wacloud.client.models import SentMessage, UnexpectedResponse
from wacloud.client.templates import parse_answer, success
from wacloud.limits import limit

_DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
_HHMM = re.compile(r"^([01][0-9]|2[0-3])[0-5][0-9]$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_GRANULARITIES = ("HALF_HOUR", "DAILY", "MONTHLY")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class ActionLimit(_Model):
    """One rate limit on a calling action (e.g. 100 calls per 24 h)."""

    time_period: str | None = None
    current_usage: int | None = None
    max_allowed: int | None = None
    limit_expiration_time: int | None = None


class CallAction(_Model):
    """What the business may do now: ``start_call`` or ``send_call_permission_request``."""

    action_name: str
    can_perform_action: bool = False
    limits: list[ActionLimit] | None = None


class CallPermission(_Model):
    """``granted``, ``pending``, ``denied`` or ``expired``, with the expiry of a granted permission."""

    status: str
    expiration_time: int | None = None


class CallPermissionState(_Model):
    """The answer of ``GET /{phone-number-id}/call_permissions?user_wa_id=``."""

    permission: CallPermission
    actions: list[CallAction] = Field(default_factory=list)

    def can(self, action: str) -> bool:
        """Whether ``action`` (``start_call``, ``send_call_permission_request``) may be performed now."""
        return any(a.action_name == action and a.can_perform_action for a in self.actions)

    @property
    def can_call(self) -> bool:
        """True when a business-initiated call to this user is allowed now."""
        return self.can("start_call")


class CallingSettings(_Model):
    """The ``calling`` block of ``GET /{phone-number-id}/settings`` (unknown keys kept)."""

    status: str | None = None
    call_icon_visibility: str | None = None
    callback_permission_status: str | None = None
    call_hours: dict[str, Any] | None = None
    call_icons: dict[str, Any] | None = None
    sip: dict[str, Any] | None = None
    srtp_key_exchange_protocol: str | None = None
    ip_addresses: dict[str, Any] | None = None


def _sdp(sdp: str, field: str = "session.sdp") -> str:
    # SDP stays opaque (the WebRTC stack owns it); only an obviously empty one is refused here.
    if not isinstance(sdp, str) or not sdp.strip():
        raise errors.ValidationError(field, "an SDP (RFC 8866) string is required")
    return sdp


def _call_id(call_id: str) -> str:
    if not isinstance(call_id, str) or not call_id.strip():
        raise errors.ValidationError("call_id", "a call id (wacid.…) is required")
    return call_id.strip()


def _opaque(data: str | None) -> str | None:
    if data is not None:
        cap = limit("call.biz_opaque_callback_data").max
        if len(data) > cap:
            raise errors.ValidationError("biz_opaque_callback_data", f"at most {cap} characters",
                                         size=len(data), limit=cap)
    return data


def _choice(field: str, value: str, allowed: Sequence[str]) -> str:
    text = value.upper() if isinstance(value, str) else ""
    if text not in allowed:
        raise errors.ValidationError(field, f"{value!r} is not one of {list(allowed)}")
    return text


def _call_hours(hours: Mapping[str, Any]) -> dict[str, Any]:
    """Check a ``call_hours`` block: status, timezone_id, weekly_operating_hours, holiday_schedule."""
    if not isinstance(hours, Mapping):
        raise errors.ValidationError("calling.call_hours", "must be an object")
    out = dict(hours)
    if "status" in out:
        out["status"] = _choice("calling.call_hours.status", out["status"], ("ENABLED", "DISABLED"))
    if out.get("status") == "ENABLED" and not out.get("timezone_id"):
        raise errors.ValidationError("calling.call_hours.timezone_id", "is required when call hours are enabled")
    for i, slot in enumerate(out.get("weekly_operating_hours") or []):
        where = f"calling.call_hours.weekly_operating_hours[{i}]"
        if not isinstance(slot, Mapping):
            raise errors.ValidationError(where, "must be an object")
        _choice(f"{where}.day_of_week", slot.get("day_of_week", ""), _DAYS)
        _window(where, slot.get("open_time"), slot.get("close_time"), "open_time", "close_time")
    for i, day in enumerate(out.get("holiday_schedule") or []):
        where = f"calling.call_hours.holiday_schedule[{i}]"
        if not isinstance(day, Mapping):
            raise errors.ValidationError(where, "must be an object")
        if not isinstance(day.get("date"), str) or not _DATE.match(day["date"]):
            raise errors.ValidationError(f"{where}.date", "must be YYYY-MM-DD")
        _window(where, day.get("start_time"), day.get("end_time"), "start_time", "end_time")
    return out


def _window(where: str, start: Any, end: Any, start_key: str, end_key: str) -> None:
    for key, value in ((start_key, start), (end_key, end)):
        if not isinstance(value, str) or not _HHMM.match(value):
            raise errors.ValidationError(f"{where}.{key}", "must be a 24-hour time HHMM (0000–2359)")
    if start >= end:
        raise errors.ValidationError(f"{where}.{end_key}", f"must be after {start_key}")


def calling_settings_body(
    *,
    status: str | None = None,
    call_icon_visibility: str | None = None,
    callback_permission_status: str | None = None,
    call_hours: Mapping[str, Any] | None = None,
    sip: Mapping[str, Any] | None = None,
    srtp_key_exchange_protocol: str | None = None,
) -> dict[str, Any]:
    """The ``POST /{phone-number-id}/settings`` body for the calling block, checked locally."""
    calling: dict[str, Any] = {}
    if status is not None:
        calling["status"] = _choice("calling.status", status, ("ENABLED", "DISABLED"))
    if call_icon_visibility is not None:
        calling["call_icon_visibility"] = _choice("calling.call_icon_visibility", call_icon_visibility,
                                                  ("DEFAULT", "DISABLE_ALL"))
    if callback_permission_status is not None:
        calling["callback_permission_status"] = _choice("calling.callback_permission_status",
                                                        callback_permission_status, ("ENABLED", "DISABLED"))
    if call_hours is not None:
        calling["call_hours"] = _call_hours(call_hours)
    if sip is not None:
        if not isinstance(sip, Mapping):
            raise errors.ValidationError("calling.sip", "must be an object")
        block = dict(sip)
        if "status" in block:
            block["status"] = _choice("calling.sip.status", block["status"], ("ENABLED", "DISABLED"))
        for i, server in enumerate(block.get("servers") or []):
            if not isinstance(server, Mapping) or not server.get("hostname"):
                raise errors.ValidationError(f"calling.sip.servers[{i}].hostname", "is required")
        calling["sip"] = block
    if srtp_key_exchange_protocol is not None:
        calling["srtp_key_exchange_protocol"] = _choice("calling.srtp_key_exchange_protocol",
                                                        srtp_key_exchange_protocol, ("DTLS-SRTP", "SDES-SRTP"))
    if not calling:
        raise errors.ValidationError("calling", "nothing to update")
    return {"calling": calling}


def _epoch(field: str, value: int | datetime) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise errors.ValidationError(field, "must be a Unix time in seconds or a datetime")


def call_analytics_field(
    start: int | datetime,
    end: int | datetime,
    *,
    granularity: str = "DAILY",
    phone_numbers: Sequence[str] | None = None,
    metric_types: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
) -> str:
    """The ``fields=call_analytics.start(…).end(…)…`` value of the WABA analytics request."""
    s, e = _epoch("start", start), _epoch("end", end)
    if e <= s:
        raise errors.ValidationError("end", "must be after start")
    parts = [f"call_analytics.start({s}).end({e}).granularity({_choice('granularity', granularity, _GRANULARITIES)})"]
    for name, values in (("phone_numbers", phone_numbers), ("metric_types", metric_types),
                         ("dimensions", dimensions)):
        if values:
            quoted = ",".join(f'"{v}"' for v in ([values] if isinstance(values, str) else values))
            parts.append(f"{name}([{quoted}])")
    return ".".join(parts)


class CallingApi(ApiConfig):
    """The Calling API: calls, call permissions, calling settings on the number, call analytics."""

    # --- calls -----------------------------------------------------------------------------------
    @operation
    def connect_call(
        self, to: Recipient, sdp: str, *, biz_opaque_callback_data: str | None = None,
        check_permission: bool = False, phone_number_id: str | None = None,
    ) -> Operation[str]:
        """Start a business-initiated call to ``to`` with an SDP offer; returns the call id (``wacid.…``).

        The user must have granted call permission; without it the API answers 138006
        (:class:`~wacloud.errors.CallPermissionRequired`). ``check_permission`` asks the permission
        endpoint first and raises the same error without placing the call.
        """
        pid = self.require_phone(phone_number_id)
        callee = phone.normalize(to, self.default_region).e164
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "to": callee,
            "action": "connect",
            "session": {"sdp_type": "offer", "sdp": _sdp(sdp)},
        }
        if _opaque(biz_opaque_callback_data) is not None:
            body["biz_opaque_callback_data"] = biz_opaque_callback_data
        if check_permission:
            state = yield from type(self).get_call_permissions.flow(self, callee, phone_number_id=pid)
            if not state.can_call:
                raise errors.CallPermissionRequired(errors.ErrorDetail(
                    code=138006, message=f"no permission to call {callee}",
                    details=f"call permission is {state.permission.status}; send a call permission request",
                ))
        answer = yield from call(Request("POST", f"{pid}/calls", json=body))
        calls = answer.get("calls") if isinstance(answer, Mapping) else None
        if not isinstance(calls, list) or not calls or not isinstance(calls[0], Mapping) or not calls[0].get("id"):
            raise UnexpectedResponse(f"connect answered without a call id: {str(answer)[:200]}")
        return str(calls[0]["id"])

    def _action(self, action: str, call_id: str, sdp: str | None, opaque: str | None,
                phone_number_id: str | None) -> Operation[bool]:
        pid = self.require_phone(phone_number_id)
        body: dict[str, Any] = {"messaging_product": "whatsapp", "call_id": _call_id(call_id), "action": action}
        if sdp is not None:
            body["session"] = {"sdp_type": "answer", "sdp": _sdp(sdp)}
        if _opaque(opaque) is not None:
            body["biz_opaque_callback_data"] = opaque
        answer = yield from call(Request("POST", f"{pid}/calls", json=body))
        return success(answer)

    @operation
    def pre_accept_call(self, call_id: str, sdp: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Pre-accept a user-initiated call with the SDP answer, so media can connect before ``accept``."""
        return (yield from self._action("pre_accept", call_id, sdp, None, phone_number_id))

    @operation
    def accept_call(self, call_id: str, sdp: str, *, biz_opaque_callback_data: str | None = None,
                    phone_number_id: str | None = None) -> Operation[bool]:
        """Answer a user-initiated call with the SDP answer."""
        return (yield from self._action("accept", call_id, sdp, biz_opaque_callback_data, phone_number_id))

    @operation
    def reject_call(self, call_id: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Decline a user-initiated call."""
        return (yield from self._action("reject", call_id, None, None, phone_number_id))

    @operation
    def terminate_call(self, call_id: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Hang up a call in progress (either direction)."""
        return (yield from self._action("terminate", call_id, None, None, phone_number_id))

    # --- permissions -----------------------------------------------------------------------------
    @operation
    def get_call_permissions(self, user_wa_id: str, *, phone_number_id: str | None = None
                             ) -> Operation[CallPermissionState]:
        """Whether this business may call ``user_wa_id`` now, and which calling actions are open."""
        pid = self.require_phone(phone_number_id)
        if not isinstance(user_wa_id, str) or not user_wa_id.strip():
            raise errors.ValidationError("user_wa_id", "the user's WhatsApp id is required")
        answer = yield from call(Request("GET", f"{pid}/call_permissions",
                                         params={"user_wa_id": user_wa_id.strip().lstrip("+")}))
        return parse_answer(CallPermissionState, answer)

    @operation
    def send_call_permission_request(
        self, to: Recipient, body: str, *, footer: str | None = None, reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None, phone_number_id: str | None = None,
    ) -> Operation[SentMessage]:
        """Ask the user for permission to call them (an interactive ``call_permission_request`` message)."""
        from wacloud.messages import CallPermissionRequest

        message = CallPermissionRequest(body=body, footer=footer)
        return (yield from MessagingApi.send.flow(self, to, message, reply_to=reply_to,
                                                  biz_opaque_callback_data=biz_opaque_callback_data,
                                                  phone_number_id=phone_number_id))

    # --- settings and analytics ------------------------------------------------------------------
    @operation
    def get_calling_settings(self, *, include_sip_credentials: bool = False,
                             phone_number_id: str | None = None) -> Operation[CallingSettings]:
        """The number's calling settings (status, call icon, call hours, callback permission, SIP…)."""
        pid = self.require_phone(phone_number_id)
        params = {"include_sip_credentials": "true"} if include_sip_credentials else None
        answer = yield from call(Request("GET", f"{pid}/settings", params=params))
        block = answer.get("calling") if isinstance(answer, Mapping) else None
        return parse_answer(CallingSettings, block if isinstance(block, Mapping) else {})

    @operation
    def update_calling_settings(
        self,
        *,
        status: Literal["ENABLED", "DISABLED"] | None = None,
        call_icon_visibility: Literal["DEFAULT", "DISABLE_ALL"] | None = None,
        callback_permission_status: Literal["ENABLED", "DISABLED"] | None = None,
        call_hours: Mapping[str, Any] | None = None,
        sip: Mapping[str, Any] | None = None,
        srtp_key_exchange_protocol: Literal["DTLS-SRTP", "SDES-SRTP"] | None = None,
        phone_number_id: str | None = None,
    ) -> Operation[bool]:
        """Change the number's calling settings; only the given keys are sent (``call_hours`` replaces all)."""
        pid = self.require_phone(phone_number_id)
        body = calling_settings_body(
            status=status, call_icon_visibility=call_icon_visibility,
            callback_permission_status=callback_permission_status, call_hours=call_hours, sip=sip,
            srtp_key_exchange_protocol=srtp_key_exchange_protocol,
        )
        answer = yield from call(Request("POST", f"{pid}/settings", json=body))
        return success(answer)

    @operation
    def get_call_analytics(
        self,
        start: int | datetime,
        end: int | datetime,
        *,
        granularity: Literal["HALF_HOUR", "DAILY", "MONTHLY"] = "DAILY",
        phone_numbers: Sequence[str] | None = None,
        metric_types: Sequence[str] | None = None,
        dimensions: Sequence[str] | None = None,
        waba_id: str | None = None,
    ) -> Operation[dict[str, Any]]:
        """The WABA's ``call_analytics`` between ``start`` and ``end`` (``data[].data_points[]``)."""
        waba = self.require_waba(waba_id)
        fields = call_analytics_field(start, end, granularity=granularity, phone_numbers=phone_numbers,
                                      metric_types=metric_types, dimensions=dimensions)
        answer = yield from call(Request("GET", waba, params={"fields": fields}))
        block = answer.get("call_analytics") if isinstance(answer, Mapping) else None
        return dict(block) if isinstance(block, Mapping) else {}
