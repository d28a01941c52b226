"""Meta-shaped webhook payloads: the envelope, status objects, template status updates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import wacloud.sandbox._identity as _identity
from wacloud import errors

if TYPE_CHECKING:
    from wacloud.sandbox._model import Customer, OutboundMessage, Template
    from wacloud.sandbox._state import SandboxState

ERROR_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"


def metadata(state: SandboxState, phone_number_id: str | None = None) -> dict[str, str]:
    """``value.metadata`` for a business number (the main one by default)."""
    phone = phone_number_id or state.config.phone_number_id
    display = state.config.numbers.get(phone, state.config.display_phone_number)
    return {"display_phone_number": display, "phone_number_id": phone}


def envelope(state: SandboxState, field: str, value: dict[str, Any], *, with_time: bool = False) -> dict[str, Any]:
    """``{"object": "whatsapp_business_account", "entry": [...]}`` around one change.

    The entry is the WABA of the business number in ``value.metadata`` (numbers may sit in several WABAs)."""
    meta = value.get("metadata")
    phone = meta.get("phone_number_id") if isinstance(meta, dict) else None
    entry: dict[str, Any] = {"id": state.config.waba_of(phone), "changes": [{"value": value, "field": field}]}
    if with_time:
        entry["time"] = int(state.clock.now())
    return {"object": "whatsapp_business_account", "entry": [entry]}


def error_item(code: int, details: str | None = None) -> dict[str, Any]:
    """One ``errors[]`` item as webhooks carry it (title and message are the same)."""
    row = errors.lookup(code)
    title = row.title if row is not None else "Error"
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or (row.meaning if row else title)},
        "href": ERROR_HREF,
    }


def status_object(
    state: SandboxState,
    msg: OutboundMessage,
    status: str,
    ts: float,
    *,
    pricing: bool = False,
    conversation: dict[str, Any] | None = None,
    error: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """One ``statuses[]`` item."""
    obj: dict[str, Any] = {"id": msg.id, "status": status, "timestamp": str(int(ts))}
    customer = state.customers.get(msg.wa_id)
    by_bsuid = "recipient" in msg.body and "to" not in msg.body
    if customer is not None and customer.has_phone:
        obj["recipient_id"] = msg.wa_id
    elif customer is None:
        # Nobody by that address (an undeliverable send): echo the address it was sent to.
        obj["recipient_user_id" if by_bsuid else "recipient_id"] = msg.wa_id
    # BSUID-era keys: recipient_user_id (+ parent) and the recipient as a contact.
    obj.update(_identity.status_identity(customer, status, sent_to_bsuid=by_bsuid))
    opaque = msg.body.get("biz_opaque_callback_data")
    if opaque is not None:
        obj["biz_opaque_callback_data"] = opaque
    if conversation is not None:
        obj["conversation"] = conversation
    if pricing:
        obj["pricing"] = {
            "billable": msg.billable,
            "pricing_model": "PMP",
            "type": msg.pricing_type,
            "category": msg.category,
        }
    if error is not None:
        obj["errors"] = [error_item(*error)]
    return obj


def statuses_value(
    state: SandboxState, statuses: list[dict[str, Any]], phone_number_id: str | None = None
) -> dict[str, Any]:
    """``value`` of a ``messages`` change carrying statuses."""
    return {"messaging_product": "whatsapp", "metadata": metadata(state, phone_number_id), "statuses": statuses}


def template_status_value(tpl: Template, event: str, reason: str | None) -> dict[str, Any]:
    """``value`` of a ``message_template_status_update`` change."""
    value: dict[str, Any] = {
        "event": event,
        "message_template_id": int(tpl.id),
        "message_template_name": tpl.name,
        "message_template_language": tpl.language,
        "reason": reason,
        "message_template_category": tpl.category,
    }
    if event == "PAUSED":
        value["other_info"] = {
            "title": "FIRST_PAUSE",
            "description": "Your template was paused because of low quality.",
        }
    elif event == "DISABLED":
        value["disable_info"] = {"disable_date": str(int(tpl.created_at))}
    elif event == "REJECTED" and reason == "INVALID_FORMAT":
        value["rejection_info"] = {
            "reason": "INVALID_FORMAT",
            "recommendation": "Check the variables and the format of the template.",
        }
    return value


def user_preferences_value(state: SandboxState, customer: Customer, now: float) -> dict[str, Any]:
    """``value`` of a ``user_preferences`` change: the customer stopped or resumed marketing messages."""
    stop = customer.marketing_opt_out
    return {
        "messaging_product": "whatsapp",
        "metadata": metadata(state),
        "contacts": [_identity.contact_entry(customer)],
        "user_preferences": [
            {
                **({"wa_id": customer.wa_id} if customer.has_phone else {"user_id": customer.user_id}),
                "detail": "User requested to stop marketing messages" if stop else "User resumed marketing messages",
                "category": "marketing_messages",
                "value": "stop" if stop else "resume",
                "timestamp": int(now),
            }
        ],
    }
