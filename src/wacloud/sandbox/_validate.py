"""Validation of raw ``POST /messages`` bodies, on their own (no wacloud.messages), with Meta's codes.

Rule of thumb for the codes (documented in docs/sandbox.md):

- 100: a Graph parameter error: wrong JSON type, unexpected key, value outside an enum, a length or
  count limit from :mod:`wacloud.limits`.
- 131008: a required parameter is missing.
- 131009: a value is present and well-typed but not valid (both ``id`` and ``link``, duplicate button
  ids, a bad phone number, a bad URL, …).
- 131051: an unsupported message type.

Hand-written rather than jsonschema: it runs on every request and must be cheap.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from wacloud.limits import LIMITS, MediaKind
from wacloud.sandbox._errors import GraphError, invalid, missing, param

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
_ENVELOPE_KEYS = frozenset({"messaging_product", "recipient_type", "to", "type", "context", "biz_opaque_callback_data"})
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
class SendRequest:
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


# --- entry point -------------------------------------------------------------------------------


def validate_send(body: Any) -> SendRequest:
    """Check a decoded ``/messages`` body; raise :class:`GraphError` with Meta's code when it is invalid."""
    if not isinstance(body, dict):
        raise param("The request body must be a JSON object.")
    product = body.get("messaging_product")
    if product is None:
        raise param("The parameter messaging_product is required.")
    if product != "whatsapp":
        raise param("Param messaging_product must be one of {WHATSAPP}.")
    if "status" in body:
        return _validate_status(body)
    rtype = body.get("recipient_type", "individual")
    if rtype == "group":
        raise invalid("recipient_type", "groups are not emulated by the sandbox")
    _enum(rtype if isinstance(rtype, str) else "?", {"individual"}, "recipient_type")
    to, wa_id = normalize_to(body.get("to"))
    mtype = body.get("type")
    if mtype is None:
        # Meta defaults a missing type to text; a body carrying exactly one other content object (the
        # spec's "Send Reply to List Message" example) is taken as that type.
        present = [k for k in body if k in MESSAGE_TYPES]
        mtype = present[0] if len(present) == 1 else "text"
    if not isinstance(mtype, str):
        raise param("Param type must be a string.")
    if mtype not in MESSAGE_TYPES:
        raise GraphError(131051, f"Message type {mtype!r} is not supported.")
    _keys(body, _ENVELOPE_KEYS | {mtype}, "message")
    req = SendRequest(kind="message", to=to, wa_id=wa_id, type=mtype)
    context = body.get("context")
    if context is not None:
        context = _obj(context, "context")
        _keys(context, {"message_id"}, "context")
        req.context_id = _str(context, "message_id", "context", required=True, min_len=1)
    req.biz_opaque_callback_data = _str(body, "biz_opaque_callback_data", "", limit="biz_opaque_callback_data")
    content = body.get(mtype)
    if content is None:
        raise missing(mtype)
    if mtype == "contacts":
        _validate_contacts(_list(content, "contacts"))
        req.content = {"contacts": content}
        return req
    content = _obj(content, mtype)
    req.content = content
    if mtype == "text":
        _keys(content, {"body", "preview_url"}, "text")
        _str(content, "body", "text", required=True, limit="text.body")
        _bool(content, "preview_url", "text")
    elif mtype in MEDIA_TYPES:
        req.media.append(
            _media(
                content,
                mtype,
                mtype,
                caption=mtype in ("image", "video", "document"),
                filename=mtype == "document",
            )
        )
    elif mtype == "location":
        _location(content, "location")
    elif mtype == "reaction":
        _keys(content, {"message_id", "emoji"}, "reaction")
        _str(content, "message_id", "reaction", required=True, min_len=1)
        emoji = content.get("emoji")
        if emoji is None:
            raise missing("reaction['emoji']")
        if not isinstance(emoji, str):
            raise param("Param reaction['emoji'] must be a string.")
        if len(emoji) > 16:
            raise invalid("reaction['emoji']", "must be a single emoji")
    elif mtype == "interactive":
        _validate_interactive(content, req)
    else:
        _validate_template(content, req)
    return req


def _validate_status(body: dict[str, Any]) -> SendRequest:
    _keys(body, _STATUS_KEYS, "message")
    status = body.get("status")
    if status != "read":
        raise param("Param status must be one of {read}.")
    message_id = _str(body, "message_id", "", required=True, min_len=1)
    typing = body.get("typing_indicator")
    if typing is not None:
        typing = _obj(typing, "typing_indicator")
        _keys(typing, {"type"}, "typing_indicator")
        kind = _str(typing, "type", "typing_indicator", required=True)
        _enum(kind, {"text"}, "typing_indicator['type']")
    return SendRequest(kind="read", message_id=message_id, typing=typing is not None)


def _media(obj: Any, kind: str, path: str, *, caption: bool, filename: bool = False) -> MediaRef:
    obj = _obj(obj, path)
    allowed = {"id", "link"}
    if caption:
        allowed.add("caption")
    if filename:
        allowed.add("filename")
    _keys(obj, allowed, path)
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


_CONTACT_KEYS = frozenset({"addresses", "birthday", "emails", "name", "org", "phones", "urls"})
_CONTACT_SUB = {
    "addresses": ({"street", "city", "state", "zip", "country", "country_code", "type"}, None),
    "emails": ({"email", "type"}, "email"),
    "phones": ({"phone", "type", "wa_id"}, "phone"),
    "urls": ({"url", "type"}, "url"),
}


def _validate_contacts(contacts: list[Any]) -> None:
    _count(contacts, "contacts", "contacts")
    for i, item in enumerate(contacts):
        path = f"contacts[{i}]"
        contact = _obj(item, path)
        _keys(contact, _CONTACT_KEYS, path)
        name = _get_obj(contact, "name", path)
        assert name is not None
        _keys(
            name,
            {"formatted_name", "first_name", "last_name", "middle_name", "suffix", "prefix"},
            f"{path}['name']",
        )
        for key in name:
            _str(name, key, f"{path}['name']", required=key == "formatted_name", max_len=1000)
        _str(name, "formatted_name", f"{path}['name']", required=True, min_len=1)
        birthday = _str(contact, "birthday", path)
        if birthday is not None and not _DATE.match(birthday):
            raise invalid(f"{path}['birthday']", "must be YYYY-MM-DD")
        org = _get_obj(contact, "org", path, required=False)
        if org is not None:
            _keys(org, {"company", "department", "title"}, f"{path}['org']")
            for key in org:
                _str(org, key, f"{path}['org']", max_len=1000)
        for key, (allowed, required) in _CONTACT_SUB.items():
            items = contact.get(key)
            if items is None:
                continue
            for j, sub in enumerate(_list(items, f"{path}['{key}']")):
                where = f"{path}['{key}'][{j}]"
                sub = _obj(sub, where)
                _keys(sub, allowed, where)
                for sub_key in sub:
                    _str(sub, sub_key, where, required=sub_key == required, max_len=1000)
                if required is not None:
                    _str(sub, required, where, required=True, min_len=1)


# --- interactive --------------------------------------------------------------------------------

_HEADERS_ALLOWED = {
    "button": {"text", "image", "video", "document"},
    "list": {"text"},
    "cta_url": {"text", "image", "video", "document"},
    "flow": {"text", "image", "video", "document"},
    "product_list": {"text"},
    "order_details": {"image"},
}
_BODY_OPTIONAL = frozenset({"product", "catalog_message", "call_permission_request", "voice_call"})
_FOOTER_NOT_ALLOWED = frozenset({"location_request_message"})


def _validate_interactive(obj: dict[str, Any], req: SendRequest) -> None:
    _keys(obj, {"type", "header", "body", "footer", "action"}, "interactive")
    itype = _str(obj, "type", "interactive", required=True)
    _enum(itype, INTERACTIVE_TYPES, "interactive['type']")
    assert itype is not None
    header = _get_obj(obj, "header", "interactive", required=itype == "product_list")
    if header is not None:
        allowed = _HEADERS_ALLOWED.get(itype)
        if not allowed:
            raise invalid("interactive['header']", f"a header is not allowed for {itype} messages")
        _header(header, allowed, req)
    body = _get_obj(obj, "body", "interactive", required=itype not in _BODY_OPTIONAL)
    if body is not None:
        _keys(body, {"text"}, "interactive['body']")
        _str(body, "text", "interactive['body']", required=True, limit="interactive.body.text")
    footer = _get_obj(obj, "footer", "interactive", required=False)
    if footer is not None:
        if itype in _FOOTER_NOT_ALLOWED:
            raise invalid("interactive['footer']", f"a footer is not allowed for {itype} messages")
        _keys(footer, {"text"}, "interactive['footer']")
        _str(footer, "text", "interactive['footer']", required=True, limit="interactive.footer.text")
    action = _get_obj(obj, "action", "interactive", required=itype != "call_permission_request")
    if action is None:
        return
    _ACTIONS[itype](action)


def _header(header: dict[str, Any], allowed: set[str], req: SendRequest) -> None:
    path = "interactive['header']"
    _keys(header, {"type", "text", "sub_text", "image", "video", "document"}, path)
    htype = _str(header, "type", path, required=True)
    _enum(htype, {"text", "image", "video", "document"}, f"{path}['type']")
    assert htype is not None
    if htype not in allowed:
        raise invalid(f"{path}['type']", f"{htype} headers are not allowed here")
    if htype == "text":
        _str(header, "text", path, required=True, limit="interactive.header.text", min_len=1)
        _str(header, "sub_text", path, limit="interactive.header.text")
    else:
        if header.get(htype) is None:
            raise missing(f"{path}['{htype}']")
        req.media.append(
            _media(header[htype], htype, f"{path}['{htype}']", caption=False, filename=htype == "document")
        )


def _action_button(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"buttons"}, path)
    if action.get("buttons") is None:
        raise missing(f"{path}['buttons']")
    buttons = _list(action["buttons"], f"{path}['buttons']")
    _count(buttons, "interactive.button.buttons", f"{path}['buttons']")
    ids: set[str] = set()
    titles: set[str] = set()
    for i, item in enumerate(buttons):
        where = f"{path}['buttons'][{i}]"
        button = _obj(item, where)
        _keys(button, {"type", "reply"}, where)
        _enum(_str(button, "type", where, required=True), {"reply"}, f"{where}['type']")
        reply = _get_obj(button, "reply", where)
        assert reply is not None
        _keys(reply, {"id", "title"}, f"{where}['reply']")
        bid = _str(reply, "id", f"{where}['reply']", required=True, limit="interactive.button.id")
        title = _str(reply, "title", f"{where}['reply']", required=True, limit="interactive.button.title")
        assert bid is not None and title is not None
        if bid != bid.strip():
            raise invalid(f"{where}['reply']['id']", "must not start or end with spaces")
        if bid in ids:
            raise invalid(f"{where}['reply']['id']", "button ids must be unique")
        if title in titles:
            raise invalid(f"{where}['reply']['title']", "button titles must be unique")
        ids.add(bid)
        titles.add(title)


def _action_list(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"button", "sections"}, path)
    _str(action, "button", path, required=True, limit="interactive.list.button")
    if action.get("sections") is None:
        raise missing(f"{path}['sections']")
    sections = _list(action["sections"], f"{path}['sections']")
    _count(sections, "interactive.list.sections", f"{path}['sections']")
    total = 0
    row_ids: set[str] = set()
    for i, item in enumerate(sections):
        where = f"{path}['sections'][{i}]"
        section = _obj(item, where)
        _keys(section, {"title", "rows"}, where)
        _str(section, "title", where, required=len(sections) > 1, limit="interactive.list.section.title")
        if section.get("rows") is None:
            raise missing(f"{where}['rows']")
        rows = _list(section["rows"], f"{where}['rows']")
        if not rows:
            raise missing(f"{where}['rows']")
        for j, row_item in enumerate(rows):
            rwhere = f"{where}['rows'][{j}]"
            row = _obj(row_item, rwhere)
            _keys(row, {"id", "title", "description"}, rwhere)
            rid = _str(row, "id", rwhere, required=True, limit="interactive.list.row.id")
            _str(row, "title", rwhere, required=True, limit="interactive.list.row.title")
            _str(row, "description", rwhere, limit="interactive.list.row.description")
            assert rid is not None
            if rid in row_ids:
                raise invalid(f"{rwhere}['id']", "row ids must be unique")
            row_ids.add(rid)
        total += len(rows)
    if total > _MAX["interactive.list.rows_total"]:
        raise param(
            f"Param {path}['sections'] must have at most {_MAX['interactive.list.rows_total']} "
            f"rows in total (it has {total})."
        )


def _named_action(action: dict[str, Any], name: str) -> dict[str, Any] | None:
    path = "interactive['action']"
    _keys(action, {"name", "parameters"}, path)
    _enum(_str(action, "name", path, required=True), {name}, f"{path}['name']")
    return _get_obj(action, "parameters", path, required=False)


def _action_cta_url(action: dict[str, Any]) -> None:
    params = _named_action(action, "cta_url")
    path = "interactive['action']['parameters']"
    if params is None:
        raise missing(path)
    _keys(params, {"display_text", "url"}, path)
    _str(params, "display_text", path, required=True, limit="interactive.cta_url.display_text")
    url = _str(params, "url", path, required=True, min_len=1)
    if url is not None and not _is_url(url):
        raise invalid(f"{path}['url']", "must be an http or https URL")


def _action_location_request(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"name"}, path)
    _enum(_str(action, "name", path, required=True), {"send_location"}, f"{path}['name']")


def _action_flow(action: dict[str, Any]) -> None:
    params = _named_action(action, "flow")
    path = "interactive['action']['parameters']"
    if params is None:
        raise missing(path)
    _keys(
        params,
        {
            "flow_message_version",
            "flow_id",
            "flow_name",
            "flow_cta",
            "flow_token",
            "mode",
            "flow_action",
            "flow_action_payload",
        },
        path,
    )
    version = params.get("flow_message_version")
    if version is None:
        raise missing(f"{path}['flow_message_version']")
    if str(version) != "3":
        raise invalid(f"{path}['flow_message_version']", "the only version is 3")
    flow_id = _str(params, "flow_id", path, min_len=1)
    flow_name = _str(params, "flow_name", path, min_len=1)
    if flow_id is None and flow_name is None:
        raise missing(f"{path}['flow_id'] or {path}['flow_name']")
    if flow_id is not None and flow_name is not None:
        raise invalid(path, "use either flow_id or flow_name, not both")
    _str(params, "flow_cta", path, required=True, limit="interactive.flow.flow_cta")
    _str(params, "flow_token", path)
    _enum(_str(params, "mode", path), {"draft", "published"}, f"{path}['mode']")
    flow_action = _str(params, "flow_action", path)
    _enum(flow_action, {"navigate", "data_exchange"}, f"{path}['flow_action']")
    payload = _get_obj(params, "flow_action_payload", path, required=False)
    if payload is not None:
        _keys(payload, {"screen", "data"}, f"{path}['flow_action_payload']")
        _str(payload, "screen", f"{path}['flow_action_payload']", min_len=1)
        if payload.get("data") is not None:
            _obj(payload["data"], f"{path}['flow_action_payload']['data']")


def _action_product(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"catalog_id", "product_retailer_id"}, path)
    _str(action, "catalog_id", path, required=True, min_len=1)
    _str(action, "product_retailer_id", path, required=True, min_len=1)


def _action_product_list(action: dict[str, Any]) -> None:
    path = "interactive['action']"
    _keys(action, {"catalog_id", "sections"}, path)
    _str(action, "catalog_id", path, required=True, min_len=1)
    if action.get("sections") is None:
        raise missing(f"{path}['sections']")
    sections = _list(action["sections"], f"{path}['sections']")
    _count(sections, "interactive.product_list.sections", f"{path}['sections']")
    total = 0
    for i, item in enumerate(sections):
        where = f"{path}['sections'][{i}]"
        section = _obj(item, where)
        _keys(section, {"title", "product_items"}, where)
        _str(section, "title", where, required=True, limit="interactive.list.section.title")
        if section.get("product_items") is None:
            raise missing(f"{where}['product_items']")
        products = _list(section["product_items"], f"{where}['product_items']")
        if not products:
            raise missing(f"{where}['product_items']")
        for j, product in enumerate(products):
            pwhere = f"{where}['product_items'][{j}]"
            product = _obj(product, pwhere)
            _keys(product, {"product_retailer_id"}, pwhere)
            _str(product, "product_retailer_id", pwhere, required=True, min_len=1)
        total += len(products)
    if total > _MAX["interactive.product_list.items_total"]:
        raise param(
            f"Param {path}['sections'] must have at most "
            f"{_MAX['interactive.product_list.items_total']} products in total (it has {total})."
        )


def _action_catalog(action: dict[str, Any]) -> None:
    params = _named_action(action, "catalog_message")
    if params is not None:
        path = "interactive['action']['parameters']"
        _keys(params, {"thumbnail_product_retailer_id"}, path)
        _str(params, "thumbnail_product_retailer_id", path, min_len=1)


def _generic_named(name: str) -> Any:
    def check(action: dict[str, Any]) -> None:
        """Check a named action."""
        path = "interactive['action']"
        _enum(_str(action, "name", path, required=True), {name}, f"{path}['name']")
        if action.get("parameters") is not None:
            _obj(action["parameters"], f"{path}['parameters']")

    return check


_ACTIONS: dict[str, Any] = {
    "button": _action_button,
    "list": _action_list,
    "cta_url": _action_cta_url,
    "location_request_message": _action_location_request,
    "flow": _action_flow,
    "product": _action_product,
    "product_list": _action_product_list,
    "catalog_message": _action_catalog,
    "order_details": _generic_named("review_and_pay"),
    "order_status": _generic_named("review_order"),
    "call_permission_request": _generic_named("call_permission_request"),
    "voice_call": _generic_named("voice_call"),
}


# --- template (structure only; the match against the stored template is in templates.py) ------

_COMPONENT_TYPES = frozenset({"header", "body", "button", "carousel", "limited_time_offer", "footer", "order_status"})
_PARAM_TYPES = frozenset(
    {
        "text",
        "currency",
        "date_time",
        "image",
        "video",
        "document",
        "location",
        "payload",
        "coupon_code",
        "action",
        "product",
        "limited_time_offer",
        "gif",
        "ttl",
    }
)


def _validate_template(obj: dict[str, Any], req: SendRequest) -> None:
    _keys(obj, {"name", "language", "components", "namespace"}, "template")
    req.template_name = _str(obj, "name", "template", required=True, limit="template.name")
    language = _get_obj(obj, "language", "template")
    assert language is not None
    _keys(language, {"code", "policy"}, "template['language']")
    req.template_language = _str(language, "code", "template['language']", required=True, min_len=1)
    _enum(_str(language, "policy", "template['language']"), {"deterministic"}, "template['language']['policy']")
    components = obj.get("components")
    if components is None:
        return
    for i, item in enumerate(_list(components, "template['components']")):
        path = f"template['components'][{i}]"
        comp = _obj(item, path)
        _keys(comp, {"type", "sub_type", "index", "parameters", "cards"}, path)
        ctype = _str(comp, "type", path, required=True)
        assert ctype is not None
        ctype = ctype.lower()
        _enum(ctype, _COMPONENT_TYPES, f"{path}['type']")
        sub_type = None
        index = None
        if ctype == "button":
            sub_type = _str(comp, "sub_type", path, required=True)
            assert sub_type is not None
            sub_type = sub_type.lower()
            raw_index = comp.get("index")
            if raw_index is None:
                raise missing(f"{path}['index']")
            if isinstance(raw_index, bool) or not isinstance(raw_index, int | str):
                raise param(f"Param {path}['index'] must be a string.")
            if not str(raw_index).isdigit() or int(raw_index) > _MAX["template.button.index"]:
                raise invalid(f"{path}['index']", f"must be 0 to {_MAX['template.button.index']}")
            index = int(raw_index)
        params: list[TemplateParam] = []
        raw_params = comp.get("parameters")
        if raw_params is not None:
            for j, raw in enumerate(_list(raw_params, f"{path}['parameters']")):
                params.append(_template_param(raw, f"{path}['parameters'][{j}]", ctype, req))
        if ctype == "carousel" and comp.get("cards") is not None:
            _list(comp["cards"], f"{path}['cards']")
        req.template_components.append(TemplateComponentSend(ctype, sub_type, index, params, path))


def _template_param(raw: Any, path: str, component: str, req: SendRequest) -> TemplateParam:
    obj = _obj(raw, path)
    ptype = _str(obj, "type", path, required=True)
    assert ptype is not None
    ptype = ptype.lower()
    _enum(ptype, _PARAM_TYPES, f"{path}['type']")
    _keys(obj, {"type", "parameter_name", ptype}, path)
    name = _str(obj, "parameter_name", path, min_len=1)
    value = obj.get(ptype)
    if value is None:
        raise missing(f"{path}['{ptype}']")
    where = f"{path}['{ptype}']"
    if ptype == "text":
        if component == "button" and isinstance(value, bool | int | float):
            # Meta's own spec example sends booleans here; the value is used as text.
            value = str(value).lower() if isinstance(value, bool) else str(value)
        elif not isinstance(value, str):
            raise param(f"Param {where} must be a string.")
        if len(value) > _MAX["template.parameter.text"]:
            raise param(f"Param {where} must be at most {_MAX['template.parameter.text']} characters long.")
        if not value:
            raise missing(where)
    elif ptype in ("payload", "coupon_code"):
        if not isinstance(value, str):
            raise param(f"Param {where} must be a string.")
    elif ptype == "currency":
        cur = _obj(value, where)
        _keys(cur, {"fallback_value", "code", "amount_1000"}, where)
        _str(cur, "fallback_value", where, required=True, min_len=1)
        code = _str(cur, "code", where, required=True, min_len=1)
        if code is not None and (len(code) != 3 or not code.isalpha()):
            raise invalid(f"{where}['code']", "must be an ISO 4217 currency code")
        amount = cur.get("amount_1000")
        if amount is None:
            raise missing(f"{where}['amount_1000']")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise param(f"Param {where}['amount_1000'] must be an integer.")
    elif ptype == "date_time":
        dt = _obj(value, where)
        _str(dt, "fallback_value", where, required=True, min_len=1)
    elif ptype in ("image", "video", "document", "gif"):
        req.media.append(
            _media(
                value,
                "video" if ptype == "gif" else ptype,
                where,
                caption=False,
                filename=ptype == "document",
            )
        )
    elif ptype == "location":
        _location(_obj(value, where), where)
    else:
        _obj(value, where)
    return TemplateParam(ptype, value, name, path)
