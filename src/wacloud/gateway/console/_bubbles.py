"""A message body (a Graph send body or a webhook's incoming message) as one chat bubble to render.

Both directions use the same shape, so the inbox and the sandbox phone draw messages alike: text,
media, location, contacts, reactions, interactive messages with their buttons or list rows, templates
with their parameters filled in (when the template's definition is known).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_MEDIA = ("image", "video", "audio", "document", "sticker")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass
class Bubble:
    """What a chat bubble shows."""

    kind: str
    text: str = ""
    header: str = ""
    footer: str = ""
    media: str = ""  #: image, video, audio, document, sticker
    caption: str = ""
    location: dict[str, Any] | None = None
    contacts: list[str] = field(default_factory=list)
    #: Reply buttons (id, title); for a template, quick replies and other buttons (payload or "", text).
    buttons: list[tuple[str, str]] = field(default_factory=list)
    list_button: str = ""
    #: List rows: (section title, row id, row title, description).
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    link: tuple[str, str] | None = None  #: a call-to-action URL button (text, url)
    template: str = ""
    reaction: str = ""
    replied_with: str = ""  #: what a customer tapped (button or list row title)


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _interactive(b: Bubble, inter: dict[str, Any]) -> None:
    kind = _s(inter.get("type"))
    for reply_kind in ("button_reply", "list_reply"):
        if reply_kind in inter:  # the customer's answer to an interactive message
            b.replied_with = _s(_d(inter[reply_kind]).get("title"))
            b.text = b.replied_with
            return
    if kind == "nfm_reply":
        b.text = "Flow answered"
        return
    header = _d(inter.get("header"))
    b.header = _s(header.get("text")) or (f"[{header.get('type')}]" if header.get("type") else "")
    b.text = _s(_d(inter.get("body")).get("text"))
    b.footer = _s(_d(inter.get("footer")).get("text"))
    action = _d(inter.get("action"))
    if kind == "button":
        b.buttons = [(_s(_d(x.get("reply")).get("id")), _s(_d(x.get("reply")).get("title")))
                     for x in action.get("buttons", []) if isinstance(x, dict)]
    elif kind == "list":
        b.list_button = _s(action.get("button")) or "Menu"
        for section in action.get("sections", []):
            for row in _d(section).get("rows", []):
                row = _d(row)
                b.rows.append((_s(_d(section).get("title")), _s(row.get("id")), _s(row.get("title")),
                               _s(row.get("description"))))
    elif kind == "cta_url":
        params = _d(action.get("parameters"))
        b.link = (_s(params.get("display_text")), _s(params.get("url")))
    elif kind in ("flow", "location_request_message", "address_message"):
        b.buttons = [("", _s(_d(action.get("parameters")).get("flow_cta")) or action.get("name", kind))]


def _template(b: Bubble, tpl: dict[str, Any], definition: dict[str, Any] | None) -> None:
    b.template = _s(tpl.get("name"))
    values: dict[str, list[str]] = {}
    for comp in tpl.get("components", []) or []:
        comp = _d(comp)
        params = [p for p in comp.get("parameters", []) or [] if isinstance(p, dict)]
        texts = [str(p.get("text", p.get("payload", ""))) for p in params]
        names = [_s(p.get("parameter_name")) for p in params]
        ctype = _s(comp.get("type")).lower()
        values[ctype] = texts
        values[ctype + ":names"] = names
    if definition is None:
        b.text = " · ".join(values.get("body", [])) or f"template {b.template}"
        return
    for comp in definition.get("components", []):
        comp = _d(comp)
        ctype = _s(comp.get("type")).lower()
        filled = _fill(_s(comp.get("text")), values.get(ctype, []), values.get(ctype + ":names", []))
        if ctype == "header":
            b.header = filled or (f"[{_s(comp.get('format')).lower()}]" if comp.get("format") else "")
        elif ctype == "body":
            b.text = filled
        elif ctype == "footer":
            b.footer = filled
        elif ctype == "buttons":
            b.buttons = [(_s(x.get("type")), _s(x.get("text"))) for x in comp.get("buttons", []) if isinstance(x, dict)]


def _fill(text: str, values: list[str], names: list[str]) -> str:
    by_name = {n: v for n, v in zip(names, values, strict=False) if n}

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key.isdigit() and 0 < int(key) <= len(values):
            return values[int(key) - 1]
        return by_name.get(key, m.group(0))

    return _PLACEHOLDER.sub(one, text)


def bubble(
    body: dict[str, Any] | None, summary: str = "", templates: dict[str, dict[str, Any]] | None = None
) -> Bubble:
    """The bubble for ``body`` (``summary`` when the body is unknown, e.g. a status-only row)."""
    if not body:
        return Bubble(kind="unknown", text=summary)
    kind = _s(body.get("type")) or "unknown"
    b = Bubble(kind=kind)
    content = body.get(kind)
    if kind == "text":
        b.text = _s(_d(content).get("body"))
    elif kind in _MEDIA:
        media = _d(content)
        b.media = kind
        b.caption = _s(media.get("caption")) or _s(media.get("filename"))
    elif kind == "location":
        b.location = _d(content)
    elif kind == "contacts":
        for c in content if isinstance(content, list) else []:
            c = _d(c)
            name = _s(_d(c.get("name")).get("formatted_name"))
            phones = ", ".join(_s(_d(p).get("phone")) for p in c.get("phones", []) or [])
            b.contacts.append(f"{name} {phones}".strip())
    elif kind == "interactive":
        _interactive(b, _d(content))
    elif kind == "button":  # the customer tapped a template's quick reply
        b.replied_with = b.text = _s(_d(content).get("text"))
    elif kind == "reaction":
        b.reaction = _s(_d(content).get("emoji")) or "(reaction removed)"
    elif kind == "template":
        tpl = _d(content)
        name = _s(tpl.get("name"))
        lang = _s(_d(tpl.get("language")).get("code"))
        known = (templates or {})
        _template(b, tpl, known.get(f"{name}:{lang}") or known.get(name))
    else:
        b.text = summary or f"[{kind}]"
    return b
