"""The shapes and small checks every part of ``_validate`` shares: the parsed send (``ParsedSend`` and its
parts), the message-type tables, and the typed-field helpers that answer with Meta's codes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wacloud.limits import LIMITS, MediaKind
from wacloud.sandbox._errors import invalid, missing, param

MESSAGE_TYPES = frozenset(
    {
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "interactive",
        "template",
    }
)
MEDIA_TYPES = frozenset(k.value for k in MediaKind)
INTERACTIVE_TYPES = frozenset(
    {
        "button",
        "list",
        "cta_url",
        "location_request_message",
        "flow",
        "product",
        "product_list",
        "catalog_message",
        "order_details",
        "order_status",
        "call_permission_request",
        "voice_call",
    }
)
_ENVELOPE_KEYS = frozenset(
    {"messaging_product", "recipient_type", "to", "recipient", "type", "context", "biz_opaque_callback_data"}
)
_STATUS_KEYS = frozenset({"messaging_product", "status", "message_id", "typing_indicator"})
_TO_STRIP = str.maketrans("", "", "+-() ")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX = {name: lim.max for name, lim in LIMITS.items()}
_MIN = {name: lim.min for name, lim in LIMITS.items()}


@dataclass(slots=True)
class MediaRef:
    """A media object in a send: by uploaded ``id`` or by ``link``."""

    kind: str
    id: str | None
    link: str | None
    path: str


@dataclass(slots=True)
class TemplateParam:
    """One parameter of a template send component."""

    type: str
    value: Any
    name: str | None
    path: str


@dataclass(slots=True)
class TemplateComponentSend:
    """One component of a template send (header, body, button…)."""

    type: str
    sub_type: str | None
    index: int | None
    params: list[TemplateParam]
    path: str


@dataclass(slots=True)
class ParsedSend:
    """What a valid ``/messages`` body asks for."""

    kind: str  # "message" or "read"
    to: str = ""
    wa_id: str = ""
    type: str = ""
    content: dict[str, Any] = field(default_factory=dict)
    context_id: str | None = None
    biz_opaque_callback_data: str | None = None
    media: list[MediaRef] = field(default_factory=list)
    template_name: str | None = None
    template_language: str | None = None
    template_components: list[TemplateComponentSend] = field(default_factory=list)
    message_id: str | None = None
    typing: bool = False
    #: ``recipient``: the BSUID (or parent BSUID) the message goes to, when there is no ``to``.
    recipient: str | None = None


# --- small helpers -----------------------------------------------------------------------------


def _keys(obj: dict[str, Any], allowed: frozenset[str] | set[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            raise param(f'Unexpected key "{key}" on param "{path}".')


def _obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise param(f"Param {path} must be a JSON object.")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise param(f"Param {path} must be an array.")
    return value


def _get_obj(obj: dict[str, Any], key: str, path: str, *, required: bool = True) -> dict[str, Any] | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise missing(f"{path}['{key}']" if path else key)
        return None
    return _obj(value, f"{path}['{key}']" if path else key)


def _str(
    obj: dict[str, Any],
    key: str,
    path: str,
    *,
    required: bool = False,
    limit: str | None = None,
    max_len: int | None = None,
    min_len: int = 0,
) -> str | None:
    value = obj.get(key)
    where = f"{path}['{key}']" if path else key
    if value is None:
        if required:
            raise missing(where)
        return None
    if not isinstance(value, str):
        raise param(f"Param {where} must be a string.")
    if limit is not None:
        max_len = _MAX[limit]
        min_len = max(min_len, _MIN[limit])
    if max_len is not None and len(value) > max_len:
        raise param(f"Param {where} must be at most {max_len} characters long (it has {len(value)}).")
    if len(value) < min_len:
        if required and not value:
            raise missing(where)
        raise param(f"Param {where} must be at least {min_len} characters long.")
    return value


def _bool(obj: dict[str, Any], key: str, path: str) -> None:
    value = obj.get(key)
    if value is not None and not isinstance(value, bool):
        raise param(f"Param {path}['{key}'] must be a boolean.")


def _enum(value: str | None, allowed: frozenset[str] | set[str], where: str) -> None:
    if value is not None and value not in allowed:
        raise param(f"Param {where} must be one of {{{', '.join(sorted(allowed))}}}.")


def _count(items: list[Any], limit: str, where: str) -> None:
    n, lo, hi = len(items), _MIN[limit], _MAX[limit]
    if n < lo:
        raise missing(where) if n == 0 else param(f"Param {where} must have at least {lo} items.")
    if n > hi:
        raise param(f"Param {where} must have at most {hi} items (it has {n}).")


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://")) and len(value) > 8 and " " not in value


def normalize_to(raw: Any) -> tuple[str, str]:
    """``to`` as given and its ``wa_id``: digits only, with Mexico's and Argentina's mobile prefixes."""
    if raw is None:
        raise missing("to")
    if not isinstance(raw, str):
        raise param("Param to must be a string.")
    digits = raw.translate(_TO_STRIP)
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise invalid("to", f"{raw!r} is not a valid WhatsApp phone number")
    # Meta's wa_id for mobiles in Mexico keeps the "1" after +52, and in Argentina the "9" after +54.
    if digits.startswith("52") and len(digits) == 12:
        digits = "521" + digits[2:]
    elif digits.startswith("54") and len(digits) == 12 and digits[2] != "9":
        digits = "549" + digits[2:]
    return raw, digits


def _media(obj: Any, kind: str, path: str, *, caption: bool, filename: bool = False) -> MediaRef:
    obj = _obj(obj, path)
    allowed = {"id", "link"}
    if caption:
        allowed.add("caption")
    if filename:
        allowed.add("filename")
    if kind == "audio":
        allowed.add("voice")  # a voice note (Meta documents it; only voice notes get "played")
    _keys(obj, allowed, path)
    if kind == "audio":
        _bool(obj, "voice", path)
    media_id = _str(obj, "id", path, min_len=1)
    link = _str(obj, "link", path, min_len=1)
    if media_id is not None and link is not None:
        raise invalid(path, "use either id or link, not both")
    if media_id is None and link is None:
        raise missing(f"{path}['id'] or {path}['link']")
    if caption:
        _str(obj, "caption", path, limit="caption")
    if filename:
        _str(obj, "filename", path, limit="document.filename")
    return MediaRef(kind=kind, id=media_id, link=link, path=path)


def _number(obj: dict[str, Any], key: str, path: str, bound: float) -> None:
    value = obj.get(key)
    where = f"{path}['{key}']"
    if value is None:
        raise missing(where)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise param(f"Param {where} must be a number.")
    try:
        number = float(value)
    except ValueError:
        raise invalid(where, f"{value!r} is not a number") from None
    if not -bound <= number <= bound:
        raise invalid(where, f"must be between -{bound:g} and {bound:g}")


def _location(obj: dict[str, Any], path: str) -> None:
    _keys(obj, {"latitude", "longitude", "name", "address"}, path)
    _number(obj, "latitude", path, 90)
    _number(obj, "longitude", path, 180)
    _str(obj, "name", path, max_len=1000)
    _str(obj, "address", path, max_len=1000)
