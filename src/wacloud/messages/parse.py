"""Raw Graph API bodies in: ``parse(body)`` turns the JSON a user would POST to ``/messages`` into models.

This is the stable entry point the gateway and ``Client.send_body`` use. Choices:

- ``parse(body) -> SendRequest`` takes send bodies only; a mark-as-read / typing body (it has
  ``"status": "read"``) is refused with a hint. ``parse_mark_read(body) -> MarkRead`` takes those, and
  ``parse_any(body)`` takes either, returning ``SendRequest | MarkRead``.
- Anything invalid raises :class:`wacloud.errors.ValidationError` naming the dotted field path, and for
  length/count rules the size and the limit; no other exception escapes, whatever the input.
- Unknown keys are refused (a misspelt key would otherwise be dropped silently), except inside the
  region-specific payment payloads of order_details/order_status, which pass through unchanged.
- The constructors' shortcuts (``body="text"``, ``buttons=[...]`` beside the action, a template
  language or contact name as a plain string) are for Python callers; a raw body must be in the Graph
  format, so they are refused here.
- A missing ``type`` is taken from the one content key present (Meta would assume ``text``); the
  body given back by ``to_graph()`` always names it, as it always names ``recipient_type``.
- Template button ``sub_type`` in any case and a numeric ``index`` are accepted; they are sent back
  lower-case and as a string, as the spec writes them.
"""

from __future__ import annotations

from typing import Any

from wacloud.errors import ValidationError

from ._base import WaModel
from .commerce import CallPermissionRequest, Catalog, OrderDetails, OrderStatus, Product, ProductList
from .contacts import Contacts
from .envelope import MarkRead, Message, SendRequest
from .interactive import CtaUrl, FlowMessage, Interactive, ListMessage, LocationRequest, ReplyButtons
from .location import Location
from .media import Audio, Document, Image, Sticker, Video
from .reaction import Reaction
from .template import Template
from .text import Text

#: Content model per top-level ``type`` (``interactive`` dispatches further on ``interactive.type``).
CONTENT_TYPES: dict[str, type[WaModel]] = {
    "text": Text, "image": Image, "video": Video, "audio": Audio, "document": Document, "sticker": Sticker,
    "location": Location, "contacts": Contacts, "reaction": Reaction, "template": Template,
}
INTERACTIVE_TYPES: dict[str, type[Interactive]] = {
    cls.interactive_type: cls
    for cls in (ReplyButtons, ListMessage, CtaUrl, LocationRequest, FlowMessage, Product, ProductList,
                Catalog, OrderDetails, OrderStatus, CallPermissionRequest)
}
_KINDS = (*CONTENT_TYPES, "interactive")
_ENVELOPE = frozenset(
    {"messaging_product", "recipient_type", "to", "recipient", "type", "context", "biz_opaque_callback_data"}
)


def parse(body: object) -> SendRequest:
    """A Graph API send body → :class:`SendRequest`; raises ``ValidationError`` if it is invalid."""
    try:
        return _parse_send(body)
    except RecursionError:
        raise ValidationError("body", "is nested too deeply") from None


def parse_mark_read(body: object) -> MarkRead:
    """A mark-as-read body (optionally with ``typing_indicator``) → :class:`MarkRead`."""
    obj = _object(body)
    _messaging_product(obj)
    for key in obj:
        if key not in ("messaging_product", "status", "message_id", "typing_indicator"):
            raise ValidationError(_name(key), "unexpected field in a mark-as-read body")
    if obj.get("status") != "read":
        raise ValidationError("status", "must be \"read\"")
    typing = "typing_indicator" in obj
    if typing and obj["typing_indicator"] != {"type": "text"}:
        raise ValidationError("typing_indicator", "must be {\"type\": \"text\"}")
    return MarkRead(message_id=obj.get("message_id"), typing=typing)


def parse_any(body: object) -> SendRequest | MarkRead:
    """Either kind of ``/messages`` body: a send, or a mark-as-read (it carries ``status``)."""
    if isinstance(body, dict) and "status" in body:
        return parse_mark_read(body)
    return parse(body)


def parse_message(kind: str, value: object) -> Message:
    """The content of one ``type`` (the value under the body's ``kind`` key) → its model."""
    if kind == "interactive":
        obj = _object(value, "interactive")
        sub = obj.get("type")
        cls = INTERACTIVE_TYPES.get(sub) if isinstance(sub, str) else None
        if cls is None:
            known = ", ".join(sorted(INTERACTIVE_TYPES))
            raise ValidationError("interactive.type", f"unknown interactive type {sub!r} (known: {known})")
        message: Any = cls.from_graph({k: v for k, v in obj.items() if k != "type"})
        return message  # type: ignore[no-any-return]
    cls_ = CONTENT_TYPES.get(kind)
    if cls_ is None:
        raise ValidationError("type", f"unknown message type {kind!r} (known: {', '.join(_KINDS)})")
    content: Any = cls_.from_graph(value)
    return content  # type: ignore[no-any-return]


def _parse_send(body: object) -> SendRequest:
    obj = _object(body)
    if "status" in obj:
        raise ValidationError("status", "this is a mark-as-read body: use parse_mark_read() or parse_any()")
    _messaging_product(obj)
    kind = obj.get("type")
    if kind is None:
        present = [k for k in _KINDS if k in obj]
        if len(present) != 1:
            raise ValidationError("type", "is required (or give exactly one content object)")
        kind = present[0]
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValidationError("type", f"unknown message type {kind!r} (known: {', '.join(_KINDS)})")
    for key in obj:
        if key not in _ENVELOPE and key != kind:
            reason = f"does not belong in a message of type {kind!r}" if key in _KINDS else "unexpected field"
            raise ValidationError(_name(key), reason)
    if kind not in obj:
        raise ValidationError(kind, f"is required for a {kind} message")
    message = parse_message(kind, obj[kind])
    context_id = None
    if "context" in obj:
        context = _object(obj["context"], "context")
        for key in context:
            if key != "message_id":
                raise ValidationError(f"context.{_name(key)}", "unexpected field")
        if "message_id" not in context:
            raise ValidationError("context.message_id", "is required")
        context_id = context["message_id"]
    envelope = {k: obj[k] for k in ("to", "recipient", "recipient_type", "biz_opaque_callback_data") if k in obj}
    try:
        return SendRequest(message=message, context_message_id=context_id, **envelope)
    except ValidationError as exc:
        if exc.field == "context_message_id":
            raise ValidationError("context.message_id", exc.reason) from None
        raise


def _name(key: object) -> str:
    """A key as an error field; an empty or non-string key is shown quoted so the field is never blank."""
    if isinstance(key, str) and key and key.isprintable() and key.encode("utf-8", "replace").decode() == key:
        return key
    return ascii(key)  # empty, not a string, or holding NUL/control/lone surrogates: shown escaped


def _object(value: object, field: str = "body") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(field, f"must be a JSON object, not {type(value).__name__}")
    return value


def _messaging_product(obj: dict[str, Any]) -> None:
    if obj.get("messaging_product") != "whatsapp":
        raise ValidationError("messaging_product", "must be \"whatsapp\"")
