"""Injected customer messages: build Meta's ``messages`` webhook for what "the customer sends"."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

import wacloud.sandbox._identity as _identity
import wacloud.sandbox._payloads as _payloads
from wacloud import limits
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._model import Customer, InboundMessage, Media

if TYPE_CHECKING:
    from wacloud.sandbox._model import OutboundMessage
    from wacloud.sandbox._state import SandboxState

_MEDIA_DEFAULT_MIME = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/ogg; codecs=opus",
    "document": "application/pdf",
    "sticker": "image/webp",
}
_SIMPLE = ("text", "location", "contacts", "order", "reaction")
_TYPES = frozenset(
    {
        "text",
        "image",
        "video",
        "audio",
        "document",
        "sticker",
        "location",
        "contacts",
        "button",
        "interactive",
        "reaction",
        "order",
        "system",
        "unsupported",
        "request_welcome",
    }
)
_INTERACTIVE_REPLIES = ("button_reply", "list_reply", "nfm_reply")


def _infer_type(data: dict[str, Any]) -> str:
    if isinstance(data.get("type"), str):
        return str(data["type"])
    for key in data:
        if key in _TYPES:
            return key
        if key in _INTERACTIVE_REPLIES:
            return "interactive"
    raise ControlError("say what the customer sends: a type and its object (text, image, button_reply, …)")


def _replied(state: SandboxState, data: dict[str, Any], wa_id: str, *, required: bool) -> OutboundMessage | None:
    ref = data.get("reply_to")
    if ref is None:
        if required:
            raise ControlError("reply_to (the wamid of the message the customer answers) is required")
        return None
    msg = state.messages.get(ref)
    if msg is None or msg.wa_id != wa_id:
        raise ControlError(f"reply_to {ref!r} is not a message sent to {wa_id}")
    return msg


def inject(state: SandboxState, data: dict[str, Any]) -> dict[str, Any]:
    """Handle ``POST /_sandbox/inbound``; returns the new message id and the webhook payload.

    ``from`` is the customer's phone number (a new one is created) or BSUID (a username-only customer)."""
    now = state.clock.now()
    customer = _sender(state, data.get("from", data.get("from_user_id")))
    wa_id = customer.wa_id
    if isinstance(data.get("profile_name"), str):
        customer.profile_name = data["profile_name"]
    if isinstance(data.get("username"), str) and data["username"]:
        customer.username = data["username"]
    mtype = _infer_type(data)
    if mtype not in _TYPES:
        raise ControlError(f"unknown inbound type {mtype!r}")
    wamid = state.ids.wamid(wa_id, inbound=True)
    message: dict[str, Any] = {"id": wamid, "timestamp": str(int(now)), "type": mtype}
    if customer.has_phone:
        message["from"] = wa_id
    if customer.user_id:
        message["from_user_id"] = customer.user_id
    replied = _replied(
        state,
        data,
        wa_id,
        required=mtype in ("button", "interactive") and "interactive" not in data and "button" not in data,
    )
    if mtype == "interactive" and "interactive" not in data:
        replied = _replied(state, data, wa_id, required=True)
    # Which business number the customer writes to: "to", else the one that sent reply_to, else the main one.
    phone = data.get("to") or (replied.phone_number_id if replied is not None else state.config.phone_number_id)
    if phone not in state.config.numbers:
        raise ControlError(f"to must be one of the business numbers {sorted(state.config.numbers)}")
    if replied is not None:
        message["context"] = {"from": state.config.numbers[phone], "id": replied.id}
    elif isinstance(data.get("context"), dict):
        message["context"] = data["context"]
    if mtype == "text":
        text = data.get("text")
        message["text"] = {"body": text} if isinstance(text, str) else _need_obj(data, "text")
    elif mtype in _MEDIA_DEFAULT_MIME:
        message[mtype] = _media(state, mtype, data.get(mtype) or {}, now, phone)
    elif mtype in _SIMPLE:
        message[mtype] = data.get(mtype)
        if message[mtype] is None:
            raise ControlError(f"{mtype} needs its object")
        if mtype == "order":
            message["order"] = {
                "catalog_id": "0",
                "text": "",
                "product_items": [],
                **_need_obj(data, "order"),
            }
        if mtype == "reaction":
            reaction = _need_obj(data, "reaction")
            if not isinstance(reaction.get("message_id"), str):
                raise ControlError("reaction needs message_id")
    elif mtype == "button":
        message["button"] = _template_button(data, replied)
    elif mtype == "interactive":
        message["interactive"] = (
            data["interactive"] if isinstance(data.get("interactive"), dict) else _interactive_reply(data, replied)
        )
    elif mtype == "system":
        message["system"] = _system(state, customer, _need_obj(data, "system"))
        if message["system"]["type"] == "customer_identity_changed":
            message["identity"] = _identity_object(_need_obj(data, "system"), now)
    elif mtype == "unsupported":
        message["errors"] = [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ]
    if isinstance(data.get("referral"), dict):
        message["referral"] = _referral(data["referral"])
        customer.referral_at = now
    if mtype != "system":
        # Any customer message opens (or renews) the 24-hour customer-service window with that number.
        customer.inbound_by_number[phone] = now
    state.inbound[wamid] = InboundMessage(wamid, customer.wa_id, mtype, now, message)
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": _payloads.metadata(state, phone)}
    if mtype != "system":
        value["contacts"] = [_identity.contact_entry(customer)]
    value["messages"] = [message]
    state.dispatcher.emit(customer.wa_id, "messages", value)
    return {"id": wamid, "payload": _payloads.envelope(state, "messages", value)}


def _sender(state: SandboxState, who: Any) -> Customer:
    """The customer an injected message comes from: by phone number (created if new) or by BSUID."""
    if _identity.is_bsuid(who):
        found = state.customer_by_user_id(who)
        if found is None:
            raise ControlError(f"no customer has the BSUID {who!r} (create one: POST /_sandbox/customers)")
        return found
    if not isinstance(who, str) or not who.isdigit():
        raise ControlError("from must be the customer's wa_id (digits) or BSUID")
    customer = state.customers.get(who)
    # (``identify``: a customer restored from a save made before BSUIDs gets its ids now.)
    return state.identify(customer) if customer is not None else state.add_customer({"wa_id": who})


def _identity_object(spec: dict[str, Any], now: float) -> dict[str, Any]:
    """The message-level ``identity`` of a ``customer_identity_changed`` system message."""
    given = spec.get("identity")
    given = given if isinstance(given, dict) else {}
    return {
        "acknowledged": bool(given.get("acknowledged", False)),
        "created_timestamp": int(given.get("created_timestamp", now)),
        "hash": str(given.get("hash", "sandbox-identity-hash")),
    }


def _need_obj(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ControlError(f"{key} must be an object")
    return value


def _media(state: SandboxState, kind: str, spec: dict[str, Any], now: float, phone: str) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise ControlError(f"{kind} must be an object")
    mime = str(spec.get("mime_type", _MEDIA_DEFAULT_MIME[kind]))
    if isinstance(spec.get("data_base64"), str):
        try:
            data = base64.b64decode(spec["data_base64"], validate=True)
        except ValueError:
            raise ControlError("data_base64 is not valid base64") from None
    else:
        data = f"sandbox {kind} from the customer {state.ids.token(8)}".encode()
    media = Media(
        id=state.ids.object_id(),
        phone_number_id=phone,
        mime_type=mime.split(";")[0].strip(),
        data=data,
        sha256_hex=hashlib.sha256(data).hexdigest(),
        uploaded_at=now - limits.MEDIA_TTL_S + limits.WEBHOOK_MEDIA_TTL_S,
        filename=spec.get("filename"),
    )
    state.media[media.id] = media
    out: dict[str, Any] = {
        "mime_type": mime,
        "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode(),
        "id": media.id,
    }
    if kind in ("image", "video", "document") and isinstance(spec.get("caption"), str):
        out["caption"] = spec["caption"]
    if kind == "document":
        out["filename"] = str(spec.get("filename", "document.pdf"))
    if kind == "audio":
        out["voice"] = bool(spec.get("voice", True))
    if kind == "sticker":
        out["animated"] = bool(spec.get("animated", False))
    return out


def _template_button(data: dict[str, Any], replied: OutboundMessage | None) -> dict[str, Any]:
    spec = data.get("button") if isinstance(data.get("button"), dict) else {}
    assert isinstance(spec, dict)
    if "text" in spec and "payload" in spec:
        return {"payload": str(spec["payload"]), "text": str(spec["text"])}
    if replied is None or replied.type != "template":
        raise ControlError("a template button reply needs reply_to: a template message sent to this customer")
    index = spec.get("index", 0)
    if not isinstance(index, int):
        raise ControlError("button.index must be an integer")
    template = replied.body.get("template", {})
    payload = None
    for comp in template.get("components", []) or []:
        if str(comp.get("type", "")).lower() == "button" and str(comp.get("index")) == str(index):
            for p in comp.get("parameters", []) or []:
                payload = p.get("payload") or p.get("text")
    text = spec.get("text")
    if text is None:
        text = f"Button {index}"
    return {"payload": str(spec.get("payload", payload if payload is not None else text)), "text": str(text)}


def _sent_interactive(replied: OutboundMessage | None, wanted: str) -> dict[str, Any]:
    if replied is None or replied.type != "interactive":
        raise ControlError("reply_to must be an interactive message sent to this customer")
    inter = replied.body.get("interactive", {})
    if inter.get("type") != wanted:
        raise ControlError(f"reply_to is a {inter.get('type')} message, not {wanted}")
    return dict(inter)


def _interactive_reply(data: dict[str, Any], replied: OutboundMessage | None) -> dict[str, Any]:
    if "button_reply" in data:
        bid = _need_obj(data, "button_reply").get("id")
        inter = _sent_interactive(replied, "button")
        for button in inter.get("action", {}).get("buttons", []):
            if button.get("reply", {}).get("id") == bid:
                return {
                    "type": "button_reply",
                    "button_reply": {"id": bid, "title": button["reply"]["title"]},
                }
        raise ControlError(f"the message has no button with id {bid!r}")
    if "list_reply" in data:
        rid = _need_obj(data, "list_reply").get("id")
        inter = _sent_interactive(replied, "list")
        for section in inter.get("action", {}).get("sections", []):
            for row in section.get("rows", []):
                if row.get("id") == rid:
                    reply = {"id": rid, "title": row["title"]}
                    if row.get("description") is not None:
                        reply["description"] = row["description"]
                    return {"type": "list_reply", "list_reply": reply}
        raise ControlError(f"the message has no row with id {rid!r}")
    if "nfm_reply" in data:
        spec = _need_obj(data, "nfm_reply")
        inter = _sent_interactive(replied, "flow")
        params = inter.get("action", {}).get("parameters", {})
        response = dict(spec.get("response", {})) if isinstance(spec.get("response"), dict) else {}
        response.setdefault("flow_token", params.get("flow_token", "unused"))
        return {
            "type": "nfm_reply",
            "nfm_reply": {"name": "flow", "body": "Sent", "response_json": json.dumps(response)},
        }
    raise ControlError("an interactive reply needs button_reply, list_reply or nfm_reply")


def _system(state: SandboxState, customer: Customer, spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec.get("type", "user_changed_number")
    if kind == "user_changed_number":
        new = spec.get("wa_id")
        if not isinstance(new, str) or not new.isdigit() or not 7 <= len(new) <= 15:
            raise ControlError("system.wa_id (the new number, 7 to 15 digits) is required")
        if new in state.customers and state.customers[new] is not customer:
            raise ControlError(f"another customer already uses {new}")
        old = state.change_number(customer, new)
        return {
            "body": f"User {customer.profile_name} changed from {old} to {new}",
            "type": kind,
            "wa_id": new,
        }
    if kind == "customer_identity_changed":
        body = {"body": "User identity changed", "type": kind}
        if customer.has_phone:
            body["customer"] = customer.wa_id
        return body
    raise ControlError("system.type must be user_changed_number or customer_identity_changed")


def _referral(spec: dict[str, Any]) -> dict[str, Any]:
    out = {
        "source_url": "https://fb.me/sandbox",
        "source_id": "120226305854810726",
        "source_type": "ad",
        "body": "Sandbox ad",
        "headline": "Chat with us",
        "media_type": "image",
        "image_url": "https://example.com/ad.jpg",
        "ctwa_clid": "sandbox-click-id",
    }
    out.update({k: v for k, v in spec.items() if isinstance(k, str)})
    return out
