"""Webhook updates as events: what the gateway's dispatcher appends to the event log.

A message or status belongs to the business number in its ``metadata``; account-wide changes (templates,
the account, number quality and throughput, which Meta sends per WhatsApp Business Account) are keyed
``waba:<WABA id>``, so each account's events have their own gap-free sequence too.
"""

from __future__ import annotations

import time
from typing import Any

from wacloud.events.log import NewEvent
from wacloud.identity import CustomerIds
from wacloud.webhooks import (
    AccountAlertUpdate,
    AccountReviewUpdate,
    AccountUpdate,
    BusinessCapabilityUpdate,
    GroupUpdate,
    MessageUpdate,
    PartnerSolutionUpdate,
    PaymentConfigurationUpdate,
    PhoneNumberNameUpdate,
    PhoneNumberQualityUpdate,
    SecurityUpdate,
    StatusUpdate,
    TemplateCategoryUpdate,
    TemplateQualityUpdate,
    TemplateStatusUpdate,
    Update,
)
from wacloud.webhooks.calls import CallStatusUpdate, CallUpdate
from wacloud.webhooks.identity import UserIdentity

#: Account-wide update classes → event type (number quality has two, see :func:`account_event`).
_ACCOUNT_TYPES: dict[type[Update], str] = {
    TemplateStatusUpdate: "template.status_changed",
    TemplateQualityUpdate: "template.quality_changed",
    TemplateCategoryUpdate: "template.category_changed",
    AccountUpdate: "account.updated",
    PhoneNumberQualityUpdate: "number.quality_changed",
    # The other account-wide fields: data.field says which (the event type's description lists them).
    AccountAlertUpdate: "account.updated",
    AccountReviewUpdate: "account.updated",
    BusinessCapabilityUpdate: "account.updated",
    PhoneNumberNameUpdate: "account.updated",
    SecurityUpdate: "account.updated",
    PaymentConfigurationUpdate: "account.updated",
    PartnerSolutionUpdate: "account.updated",
}


def customer(who: UserIdentity) -> CustomerIds | None:
    """The event's contact from what a webhook says about the customer (None when it says nothing)."""
    ids = CustomerIds(contact_id=who.key, wa_id=who.wa_id, bsuid=who.user_id, parent_bsuid=who.parent_user_id,
                      username=who.username)
    return ids if ids.as_dict() else None


def _number(update: MessageUpdate | StatusUpdate, fallback: str) -> str:
    meta = update.metadata
    return meta.phone_number_id if meta is not None and meta.phone_number_id else fallback


def _when(update: Update, default: float | None = None) -> float | None:
    return update.time.timestamp() if update.time is not None else default


def inbound_event(update: MessageUpdate, fallback_number: str) -> NewEvent:
    """``message.received`` for a customer's message."""
    raw = update.raw if isinstance(update.raw, dict) else {"type": update.type}
    data: dict[str, Any] = {"wamid": update.id, "type": update.type, "name": update.name, "message": raw}
    at = update.message.timestamp.timestamp()
    return NewEvent("message.received", _number(update, fallback_number), data, customer(update.sender), at)


def status_event(update: StatusUpdate, fallback_number: str, job_id: str | None) -> NewEvent:
    """``message.status`` for a status webhook (``job_id``: the outbox job that sent it, when known)."""
    st = update.status
    data: dict[str, Any] = {"wamid": st.id, "status": st.status, "job_id": job_id,
                            "errors": [e.model_dump(mode="json", exclude_none=True) for e in st.errors],
                            "raw": update.raw if isinstance(update.raw, dict) else None}
    return NewEvent("message.status", _number(update, fallback_number), data, customer(update.recipient),
                    st.timestamp.timestamp())


def account_event(update: Update) -> NewEvent | None:
    """The event for a template, account or number change (None for any other update)."""
    kind = next((t for cls, t in _ACCOUNT_TYPES.items() if isinstance(update, cls)), None)
    if kind is None:
        return None
    value = update.raw if isinstance(update.raw, dict) else {}
    if kind == "number.quality_changed" and str(value.get("event", "")).upper() == "THROUGHPUT_UPGRADE":
        kind = "number.throughput_changed"
    data = {"field": update.field, "waba_id": update.waba_id, "value": value}
    event = NewEvent(kind, f"waba:{update.waba_id or 'unknown'}", data)
    at = _when(update)
    return event if at is None else NewEvent(event.type, event.phone_number_id, event.data, None, at)


def _number_of(update: CallUpdate | CallStatusUpdate | GroupUpdate, fallback: str) -> str:
    meta = update.metadata
    return meta.phone_number_id if meta is not None and meta.phone_number_id else fallback


def call_event(update: Update, fallback_number: str) -> NewEvent | None:
    """``call.updated`` for a ``calls`` webhook (connect, terminate, or a ringing status); None otherwise.

    ``data.event`` is connect, terminate or status; the call id is what ``/v1/calls/{id}/…`` takes. The SDP
    of a connect is passed on as the opaque string it is (the WebRTC side needs it to answer).
    """
    if isinstance(update, CallUpdate):
        call = update.call
        data: dict[str, Any] = {
            "call_id": call.id, "event": call.event, "direction": call.direction, "status": call.status,
            "duration": call.duration, "sdp_type": call.session.sdp_type if call.session else None,
            "sdp": call.sdp, "biz_opaque_callback_data": call.biz_opaque_callback_data,
            "errors": [e.model_dump(mode="json", exclude_none=True) for e in call.errors],
        }
        who = UserIdentity.of(update.contact, wa_id=update.user)
        at = call.timestamp.timestamp() if call.timestamp else (_when(update) or time.time())
    elif isinstance(update, CallStatusUpdate):
        st = update.status
        data = {"call_id": st.id, "event": "status", "status": st.status,
                "biz_opaque_callback_data": st.biz_opaque_callback_data,
                "errors": [e.model_dump(mode="json", exclude_none=True) for e in st.errors]}
        who = UserIdentity(wa_id=st.recipient_id)
        at = st.timestamp.timestamp() if st.timestamp else (_when(update) or time.time())
    else:
        return None
    return NewEvent("call.updated", _number_of(update, fallback_number), data, customer(who), at)


def group_event(update: Update, fallback_number: str) -> NewEvent | None:
    """``group.updated`` for a group_* webhook (``data.type`` is Meta's: group_create, group_participants_add…)."""
    if not isinstance(update, GroupUpdate):
        return None
    g = update.group
    data = {"field": update.field, "group_id": g.group_id, "type": g.type, "request_id": g.request_id,
            "value": update.raw if isinstance(update.raw, dict) else {}}
    at = g.timestamp.timestamp() if g.timestamp else (_when(update) or time.time())
    return NewEvent("group.updated", _number_of(update, fallback_number), data, None, at)
