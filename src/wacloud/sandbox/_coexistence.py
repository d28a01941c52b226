"""Coexistence in the sandbox: a business number also used in the WhatsApp Business app.

The control API flags a number as shared with the app (its Graph view then shows ``is_on_biz_app`` and its
throughput drops to 20 msg/s), and makes the webhooks such a number gets: ``history`` (past chats,
imported after onboarding, or the refusal), ``smb_message_echoes`` (what the business typed in the app),
``smb_app_state_sync`` (the app's contact book) and the customer's ``edit`` and ``revoke`` of a message.
None of them opens a customer-service window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import wacloud.sandbox._identity as _identity
import wacloud.sandbox._payloads as _payloads
from wacloud import limits
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._state import management_state

if TYPE_CHECKING:
    from wacloud.sandbox._model import Customer, PhoneState
    from wacloud.sandbox._state import SandboxState

#: The error a ``history`` webhook carries when the business declined to share its chats.
HISTORY_DECLINED_CODE = 2593109
_HISTORY_STATUSES = ("PENDING", "SENT", "DELIVERED", "READ", "PLAYED", "ERROR")


def _number(state: SandboxState, data: dict[str, Any]) -> tuple[str, PhoneState]:
    pid = str(data.get("phone_number_id") or state.config.phone_number_id)
    phone = management_state(state).phones.get(pid)
    if phone is None:
        raise ControlError(f"phone_number_id must be one of the business numbers {sorted(state.config.numbers)}")
    return pid, phone


def _shared(state: SandboxState, data: dict[str, Any]) -> str:
    """The coexistence number the webhook is for (a number not shared with the app gets none of them)."""
    pid, phone = _number(state, data)
    if not phone.on_biz_app:
        raise ControlError(f"number {pid} is not shared with the Business app: POST /_sandbox/coexistence/number "
                           "{\"on_biz_app\": true} first")
    return pid


def _customer(state: SandboxState, wa_id: Any, field: str) -> Customer:
    if not isinstance(wa_id, str) or not wa_id.isdigit():
        raise ControlError(f"{field} must be the customer's phone number (digits)")
    found = state.customers.get(wa_id)
    return found if found is not None else state.add_customer({"wa_id": wa_id})


def _text(data: dict[str, Any], key: str = "text") -> str:
    text = data.get(key)
    if not isinstance(text, str) or not text:
        raise ControlError(f"{key} (the message text) is required")
    return text


def _timestamp(state: SandboxState, value: Any) -> int:
    if value is None:
        return int(state.clock.now())
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError("timestamp must be a Unix time in seconds")
    return int(value)


def flag_number(state: SandboxState, data: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/coexistence/number {phone_number_id?, on_biz_app}``: share the number with the app."""
    pid, phone = _number(state, data)
    on = data.get("on_biz_app", True)
    if not isinstance(on, bool):
        raise ControlError("on_biz_app must be true or false")
    phone.on_biz_app = on
    configured = state.config.number_rates().get(pid, state.config.mps)
    if on:
        state.limiter.per_number[pid] = limits.number_mps(configured, coexistence=True)
    elif pid in state.config.number_rates():
        state.limiter.per_number[pid] = configured
    else:
        state.limiter.per_number.pop(pid, None)
    state.limiter.reset()  # buckets are made at the new rate on the next send
    return {"phone_number_id": pid, "on_biz_app": on, "mps": limits.number_mps(configured, coexistence=on)}


def history(state: SandboxState, data: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/coexistence/history``: one chunk of past chats with a customer, or the refusal.

    ``{wa_id, messages: [{text, from_business?, timestamp?, status?}], phase?, chunk_order?, progress?}``;
    ``{"declined": true}`` sends the error Meta sends when the business turned history sharing off.
    """
    pid = _shared(state, data)
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": _payloads.metadata(state, pid)}
    if data.get("declined") is True:
        value["history"] = [{"errors": [{
            "code": HISTORY_DECLINED_CODE, "title": "History sync is turned off by the business",
            "message": "History sync is turned off by the business",
            "error_data": {"details": "The business declined to share chat history."},
        }]}]
        state.dispatcher.emit(pid, "history", value)
        return {"ids": [], "payload": _payloads.envelope(state, "history", value)}
    customer = _customer(state, data.get("wa_id"), "wa_id")
    items = data.get("messages")
    if not isinstance(items, list) or not items:
        raise ControlError("messages (a list of {text, from_business?, timestamp?, status?}) is required")
    business = state.config.numbers[pid]
    messages: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ControlError(f"messages[{i}] must be an object")
        mine = item.get("from_business") is True
        status = str(item.get("status", "READ" if not mine else "DELIVERED")).upper()
        if status not in _HISTORY_STATUSES:
            raise ControlError(f"messages[{i}].status must be one of {list(_HISTORY_STATUSES)}")
        message: dict[str, Any] = {
            "from": business if mine else customer.wa_id,
            "id": state.ids.wamid(customer.wa_id, inbound=not mine),
            "timestamp": str(_timestamp(state, item.get("timestamp"))),
            "type": "text",
            "text": {"body": _text(item)},
            "history_context": {"status": status},
        }
        if mine:
            message["to"] = customer.wa_id
        messages.append(message)
    progress = {key: data.get(key, default) for key, default in (("phase", 0), ("chunk_order", 1), ("progress", 100))}
    value["history"] = [{"metadata": progress, "threads": [{"id": customer.wa_id, "messages": messages}]}]
    # Past chats are history: no window opens, the customer's last message time stays as it was.
    state.dispatcher.emit(customer.wa_id, "history", value)
    return {"ids": [m["id"] for m in messages], "payload": _payloads.envelope(state, "history", value)}


def echo(state: SandboxState, data: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/coexistence/echo {to, text}``: the business wrote to a customer from the app."""
    pid = _shared(state, data)
    customer = _customer(state, data.get("to"), "to")
    wamid = state.ids.wamid(customer.wa_id)
    message = {"from": state.config.numbers[pid], "to": customer.wa_id, "id": wamid,
               "timestamp": str(int(state.clock.now())), "type": "text", "text": {"body": _text(data)}}
    value = {"messaging_product": "whatsapp", "metadata": _payloads.metadata(state, pid),
             "contacts": [_identity.contact_entry(customer)], "message_echoes": [message]}
    state.dispatcher.emit(customer.wa_id, "smb_message_echoes", value)
    return {"id": wamid, "payload": _payloads.envelope(state, "smb_message_echoes", value)}


def contacts(state: SandboxState, data: dict[str, Any]) -> dict[str, Any]:
    """``POST /_sandbox/coexistence/contacts {phone_number, full_name?, first_name?, action?}``: the app's
    contact book changed (``action`` add, the default, or remove)."""
    pid = _shared(state, data)
    number = data.get("phone_number")
    if not isinstance(number, str) or not number.isdigit():
        raise ControlError("phone_number (digits) is required")
    action = data.get("action", "add")
    if action not in ("add", "remove"):
        raise ControlError("action must be add or remove")
    contact: dict[str, Any] = {"phone_number": number}
    if action == "add":
        for key in ("full_name", "first_name"):
            if isinstance(data.get(key), str):
                contact[key] = data[key]
    value = {"messaging_product": "whatsapp", "metadata": _payloads.metadata(state, pid), "state_sync": [
        {"type": "contact", "contact": contact, "action": action,
         "metadata": {"timestamp": str(int(state.clock.now()))}}]}
    state.dispatcher.emit(number, "smb_app_state_sync", value)
    return {"payload": _payloads.envelope(state, "smb_app_state_sync", value)}


def change(state: SandboxState, data: dict[str, Any], kind: str) -> dict[str, Any]:
    """``POST /_sandbox/coexistence/edit {from, original_message_id, text}`` or ``…/revoke {from,
    original_message_id}``: the customer edits or deletes one of their messages."""
    pid = _shared(state, data)
    customer = _customer(state, data.get("from"), "from")
    original = data.get("original_message_id")
    sent = state.inbound.get(original) if isinstance(original, str) else None
    if sent is None or sent.wa_id != customer.wa_id:
        raise ControlError(f"original_message_id {original!r} is not a message {customer.wa_id} sent")
    wamid = state.ids.wamid(customer.wa_id, inbound=True)
    message: dict[str, Any] = {"from": customer.wa_id, "id": wamid, "timestamp": str(int(state.clock.now())),
                               "type": kind}
    if kind == "edit":
        content = {"type": "text", "text": {"body": _text(data)}}
        message["edit"] = {"original_message_id": original, "message": content}
        sent.message = {**sent.message, **content}
    else:
        message["revoke"] = {"original_message_id": original}
    value = {"messaging_product": "whatsapp", "metadata": _payloads.metadata(state, pid),
             "contacts": [_identity.contact_entry(customer)], "messages": [message]}
    state.dispatcher.emit(customer.wa_id, "messages", value)
    return {"id": wamid, "payload": _payloads.envelope(state, "messages", value)}
