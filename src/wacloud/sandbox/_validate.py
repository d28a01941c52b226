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

from typing import Any

from wacloud.sandbox._errors import GraphError, invalid, missing, param
from wacloud.sandbox._identity import is_bsuid
from wacloud.sandbox._validate_base import (
    _DATE,
    _ENVELOPE_KEYS,
    _STATUS_KEYS,
    MEDIA_TYPES,
    MESSAGE_TYPES,
    ParsedSend,
    _bool,
    _count,
    _enum,
    _get_obj,
    _keys,
    _list,
    _location,
    _media,
    _obj,
    _str,
    normalize_to,
)
from wacloud.sandbox._validate_interactive import _validate_interactive
from wacloud.sandbox._validate_template import _validate_template


def _recipient(raw: Any) -> str:
    """``recipient``: a BSUID or parent BSUID (``US.13491208655302741918``, ``US.ENT.…``)."""
    if not isinstance(raw, str):
        raise param("Param recipient must be a string.")
    if not is_bsuid(raw):
        raise invalid("recipient", f"{raw!r} is not a business-scoped user id (like US.13491208655302741918)")
    return raw


# --- entry point -------------------------------------------------------------------------------


def validate_send(body: Any) -> ParsedSend:
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
        # Group sends are handled before validation (``_groups.send``); this body came another way.
        raise invalid("recipient_type", "a group send goes through POST /{phone-number-id}/messages")
    _enum(rtype if isinstance(rtype, str) else "?", {"individual"}, "recipient_type")
    recipient = None
    if body.get("to") is None and body.get("recipient") is not None:
        # A BSUID send; with both, "to" wins (Meta's rule) and "recipient" is only checked for shape.
        recipient = _recipient(body["recipient"])
        to, wa_id = recipient, ""
    else:
        to, wa_id = normalize_to(body.get("to"))
        if body.get("recipient") is not None:
            _recipient(body["recipient"])
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
    req = ParsedSend(kind="message", to=to, wa_id=wa_id, type=mtype, recipient=recipient)
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


def _validate_status(body: dict[str, Any]) -> ParsedSend:
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
    return ParsedSend(kind="read", message_id=message_id, typing=typing is not None)


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
