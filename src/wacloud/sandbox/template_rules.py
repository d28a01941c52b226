"""Meta's template-creation rules on the raw ``POST /{waba-id}/message_templates`` body, answered with
Meta's code 100 and the 2388xxx subcodes.

The sandbox judges raw JSON on its own (it shares only ``wacloud.limits`` and ``wacloud.errors`` with the
client), yet must refuse exactly what the client's pre-check (``wacloud.templates.rules``) refuses, with
the same subcodes: ``tests/sandbox/test_template_create_rules.py`` compares the two on every broken variant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeGuard

from wacloud.limits import limit
from wacloud.sandbox.errors import GraphError

LANGUAGE_RE: Final = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
HEADER_FORMATS: Final = frozenset({"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "GIF", "PRODUCT"})
MEDIA_FORMATS: Final = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "GIF"})
BUTTON_TYPES: Final = frozenset(
    {"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "FLOW", "OTP", "MPM", "CATALOG", "SPM", "VOICE_CALL", "APP"}
)
OTP_TYPES: Final = frozenset({"COPY_CODE", "ONE_TAP", "ZERO_TAP"})
COMPONENT_TYPES: Final = frozenset({"HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER"})

_VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_NAMED = re.compile(r"^[a-z_][a-z0-9_]*$")
_POSITIONAL = re.compile(r"^[1-9][0-9]*$")
_PHONE = re.compile(r"\+?[0-9]{5,20}")
# Subcodes of the error table (wacloud.errors.TEMPLATE_SUBCODES).
_COMPONENTS, _TOO_LONG, _HEADER, _BODY, _FOOTER, _EDGE = 2388039, 2388040, 2388047, 2388072, 2388073, 2388299
_PER_TYPE_CAPS: Final = (
    ("URL", "template.buttons.url"),
    ("PHONE_NUMBER", "template.buttons.phone_number"),
    ("COPY_CODE", "template.buttons.copy_code"),
    ("FLOW", "template.buttons.flow"),
)


def _fail(field: str, reason: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, f"Invalid parameter {field}: {reason}.", subcode=subcode)


def _upper(value: object) -> str:
    return value.upper() if isinstance(value, str) else ""


def _is_list(value: object) -> TypeGuard[Sequence[Any]]:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _distinct_vars(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in _VARIABLE.finditer(text)))


def _length(field: str, key: str, text: str, subcode: int | None) -> None:
    lim = limit(key)
    if len(text) > lim.max:
        raise _fail(field, f"is {len(text)} characters, at most {lim.max} allowed", subcode)
    if len(text) < lim.min:
        raise _fail(field, "must not be empty", subcode)


def check_language(language: object) -> None:
    """100 unless ``language`` looks like a template locale code (``en_US``, ``pt_BR``, ``de``…)."""
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise _fail("language", f"{language!r} is not a template language code such as 'en_US'")


def check_components(components: object, category: str, parameter_format: str) -> None:
    """Raise Meta's error for components ``POST message_templates`` refuses (``category`` upper-case)."""
    if not _is_list(components) or not components:
        raise _fail("components", "at least a BODY component is required", _COMPONENTS)
    _components(components, category, parameter_format == "NAMED", "components", top_level=True)


def _components(components: Sequence[Any], category: str, named: bool, path: str, *, top_level: bool) -> None:
    seen: dict[str, int] = {}
    for i, comp in enumerate(components):
        if not isinstance(comp, Mapping):
            raise _fail(f"{path}[{i}]", "a component must be an object", _COMPONENTS)
        ctype = _upper(comp.get("type"))
        if ctype not in COMPONENT_TYPES:
            raise _fail(f"{path}[{i}].type", f"{comp.get('type')!r} is not a component type", _COMPONENTS)
        if ctype in seen:
            raise _fail(f"{path}[{i}].type", f"only one {ctype} component is allowed", _COMPONENTS)
        seen[ctype] = i
    if "BODY" not in seen and category != "AUTHENTICATION":
        raise _fail(path, "a BODY component is required", _COMPONENTS)
    if not top_level and ({"CAROUSEL", "LIMITED_TIME_OFFER", "FOOTER"} & seen.keys()):
        raise _fail(path, "a carousel card has only HEADER, BODY and BUTTONS", _COMPONENTS)
    card = not top_level
    for ctype, i in seen.items():
        comp = components[i]
        where = f"{path}[{i}]"
        if ctype == "HEADER":
            _header(comp, named, where, card=card)
        elif ctype == "BODY":
            _body(comp, category, named, where, card=card)
        elif ctype == "FOOTER":
            _footer(comp, category, where)
        elif ctype == "BUTTONS":
            _buttons(comp, category, where, card=card)
        elif ctype == "CAROUSEL":
            if "HEADER" in seen or "FOOTER" in seen:
                raise _fail(where, "a carousel template has no top-level HEADER or FOOTER", _COMPONENTS)
            _carousel(comp, category, named, where)
        elif ctype == "LIMITED_TIME_OFFER":
            _limited_time_offer(comp, category, where, has_footer="FOOTER" in seen)


def _examples(text: str, example: object, named: bool, where: str, *, kind: str, subcode: int) -> list[str]:
    """The variables of ``text``, after checking that ``example`` gives one sample for each."""
    names = _distinct_vars(text)
    if not names:
        return names
    pattern = _NAMED if named else _POSITIONAL
    for n in names:
        if not pattern.match(n):
            fmt = "NAMED" if named else "POSITIONAL"
            raise _fail(f"{where}.text", f"variable {{{{{n}}}}} does not fit parameter_format {fmt}", subcode)
    if not named:
        numbers = sorted(int(n) for n in names)
        if numbers != list(range(1, len(numbers) + 1)):
            raise _fail(f"{where}.text", "positional variables must be numbered {{1}}…{{n}} without gaps", subcode)
    ex = example if isinstance(example, Mapping) else {}
    if named:
        items = ex.get(f"{kind}_text_named_params")
        given = (
            {str(it.get("param_name")): it.get("example") for it in items if isinstance(it, Mapping)}
            if _is_list(items)
            else {}
        )
        missing = [n for n in names if not given.get(n)]
        if missing:
            raise _fail(f"{where}.example.{kind}_text_named_params", f"no example for {', '.join(missing)}", subcode)
        extra = sorted(set(given) - set(names))
        if extra:
            raise _fail(
                f"{where}.example.{kind}_text_named_params",
                f"examples for variables the text does not have: {', '.join(extra)}",
                subcode,
            )
        return names
    samples = ex.get(f"{kind}_text")
    # The body's samples are one row inside a list (``[["a", "b"]]``); the header's are a flat list.
    if kind == "body" and _is_list(samples) and samples and _is_list(samples[0]):
        samples = samples[0]
    if not _is_list(samples):
        raise _fail(f"{where}.example.{kind}_text", f"examples are required for {len(names)} variable(s)", subcode)
    if not all(isinstance(s, str) and s for s in samples):
        raise _fail(f"{where}.example.{kind}_text", "example values must be non-empty strings", subcode)
    if len(samples) != len(names):
        raise _fail(
            f"{where}.example.{kind}_text", f"{len(names)} variable(s) but {len(samples)} example value(s)", subcode
        )
    return names


def _header(comp: Mapping[str, Any], named: bool, where: str, *, card: bool) -> None:
    fmt = _upper(comp.get("format"))
    if fmt not in HEADER_FORMATS:
        raise _fail(f"{where}.format", f"{comp.get('format')!r} is not a header format", _HEADER)
    if card and fmt not in ("IMAGE", "VIDEO"):
        raise _fail(f"{where}.format", "a carousel card header is IMAGE or VIDEO", _HEADER)
    if fmt == "TEXT":
        text = comp.get("text")
        if not isinstance(text, str) or not text:
            raise _fail(f"{where}.text", "a TEXT header needs text", _HEADER)
        _length(f"{where}.text", "template.header.text", text, _TOO_LONG)
        names = _examples(text, comp.get("example"), named, where, kind="header", subcode=_HEADER)
        cap = limit("template.header.variables").max
        if len(names) > cap:
            raise _fail(f"{where}.text", f"a header may have at most {cap} variable", _HEADER)
    elif fmt in MEDIA_FORMATS:
        ex = comp.get("example")
        handles = ex.get("header_handle") if isinstance(ex, Mapping) else None
        if not _is_list(handles) or not handles or not all(isinstance(h, str) and h for h in handles):
            raise _fail(
                f"{where}.example.header_handle",
                f"a {fmt} header needs a sample media handle (from the resumable upload API)",
                _HEADER,
            )


def _body(comp: Mapping[str, Any], category: str, named: bool, where: str, *, card: bool) -> None:
    text = comp.get("text")
    if category == "AUTHENTICATION" and not card:
        if text is not None:
            raise _fail(f"{where}.text", "authentication templates have a fixed body (no text)", _BODY)
        return
    if not isinstance(text, str) or not text.strip():
        raise _fail(f"{where}.text", "the body needs text", _BODY)
    _length(f"{where}.text", "template.carousel.card.body.text" if card else "template.body.text", text, _TOO_LONG)
    stripped = text.strip()
    if stripped.startswith("{{") or stripped.endswith("}}"):
        raise _fail(f"{where}.text", "a variable may not be at the start or the end of the body", _EDGE)
    _examples(text, comp.get("example"), named, where, kind="body", subcode=_BODY)


def _footer(comp: Mapping[str, Any], category: str, where: str) -> None:
    if category == "AUTHENTICATION":
        minutes = comp.get("code_expiration_minutes")
        if minutes is not None:
            lim = limit("template.otp.code_expiration_minutes")
            if not isinstance(minutes, int) or isinstance(minutes, bool) or not lim.min <= minutes <= lim.max:
                raise _fail(f"{where}.code_expiration_minutes", f"must be {lim.min}–{lim.max} minutes", _FOOTER)
        return
    text = comp.get("text")
    if not isinstance(text, str) or not text:
        raise _fail(f"{where}.text", "the footer needs text", _FOOTER)
    _length(f"{where}.text", "template.footer.text", text, _TOO_LONG)
    if _VARIABLE.search(text):
        raise _fail(f"{where}.text", "a footer may not contain variables", _FOOTER)


def _buttons(comp: Mapping[str, Any], category: str, where: str, *, card: bool) -> None:
    buttons = comp.get("buttons")
    lim = limit("template.carousel.card.buttons" if card else "template.buttons")
    if not _is_list(buttons) or not buttons:
        raise _fail(f"{where}.buttons", "a BUTTONS component needs at least one button", _COMPONENTS)
    if len(buttons) > lim.max:
        raise _fail(f"{where}.buttons", f"{len(buttons)} buttons, at most {lim.max} allowed", _COMPONENTS)
    counts: dict[str, int] = {}
    for i, button in enumerate(buttons):
        bw = f"{where}.buttons[{i}]"
        if not isinstance(button, Mapping):
            raise _fail(bw, "a button must be an object", _COMPONENTS)
        btype = _upper(button.get("type"))
        if btype not in BUTTON_TYPES:
            raise _fail(f"{bw}.type", f"{button.get('type')!r} is not a button type", _COMPONENTS)
        counts[btype] = counts.get(btype, 0) + 1
        _button(button, btype, bw)
    for btype, key in _PER_TYPE_CAPS:
        cap = limit(key).max
        if counts.get(btype, 0) > cap:
            raise _fail(f"{where}.buttons", f"{counts[btype]} {btype} buttons, at most {cap} allowed", _COMPONENTS)
    if category == "AUTHENTICATION" and counts.get("OTP", 0) != 1:
        raise _fail(f"{where}.buttons", "an authentication template needs exactly one OTP button", _COMPONENTS)
    if category != "AUTHENTICATION" and counts.get("OTP"):
        raise _fail(f"{where}.buttons", "OTP buttons are for AUTHENTICATION templates only", _COMPONENTS)


def _button(button: Mapping[str, Any], btype: str, bw: str) -> None:
    text = button.get("text")
    if btype not in ("COPY_CODE", "OTP") or text is not None:
        if not isinstance(text, str):
            raise _fail(f"{bw}.text", f"a {btype} button needs a label", _COMPONENTS)
        _length(f"{bw}.text", "template.button.text", text, _TOO_LONG)
    if btype == "URL":
        url = button.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
            raise _fail(f"{bw}.url", "a URL button needs an http(s) url", _COMPONENTS)
        _length(f"{bw}.url", "template.button.url", url, _TOO_LONG)
        names = _VARIABLE.findall(url)
        if len(names) > 1 or (names and not url.rstrip().endswith("}}")):
            raise _fail(f"{bw}.url", "a URL button may have one variable, at the end of the url", _COMPONENTS)
        if names:
            ex = button.get("example")
            if not _is_list(ex) or not ex or not isinstance(ex[0], str):
                raise _fail(f"{bw}.example", "a dynamic URL button needs an example url", _COMPONENTS)
    elif btype == "PHONE_NUMBER":
        phone = button.get("phone_number")
        if not isinstance(phone, str) or not _PHONE.fullmatch(phone):
            raise _fail(f"{bw}.phone_number", "a PHONE_NUMBER button needs a phone number", _COMPONENTS)
    elif btype == "COPY_CODE":
        ex = button.get("example")
        if not isinstance(ex, str) or not ex:
            raise _fail(f"{bw}.example", "a COPY_CODE button needs an example code", _COMPONENTS)
        _length(f"{bw}.example", "template.copy_code.example", ex, _TOO_LONG)
    elif btype == "FLOW":
        if len([k for k in ("flow_id", "flow_name", "flow_json") if button.get(k)]) != 1:
            raise _fail(bw, "a FLOW button needs exactly one of flow_id, flow_name, flow_json", _COMPONENTS)
        action = button.get("flow_action", "navigate")
        if action not in ("navigate", "data_exchange"):
            raise _fail(f"{bw}.flow_action", f"{action!r} is not navigate or data_exchange", _COMPONENTS)
    elif btype == "OTP":
        otp = _upper(button.get("otp_type"))
        if otp not in OTP_TYPES:
            raise _fail(f"{bw}.otp_type", f"{button.get('otp_type')!r} is not one of {sorted(OTP_TYPES)}", _COMPONENTS)
        if (
            otp in ("ONE_TAP", "ZERO_TAP")
            and not button.get("supported_apps")
            and not (button.get("package_name") and button.get("signature_hash"))
        ):
            raise _fail(bw, f"a {otp} button needs package_name and signature_hash (or supported_apps)", _COMPONENTS)


def _carousel(comp: Mapping[str, Any], category: str, named: bool, where: str) -> None:
    if category != "MARKETING":
        raise _fail(where, "carousel templates are MARKETING templates", _COMPONENTS)
    cards = comp.get("cards")
    lim = limit("template.create.carousel.cards")
    if not _is_list(cards) or not lim.min <= len(cards) <= lim.max:
        raise _fail(f"{where}.cards", f"a carousel has {lim.min}–{lim.max} cards", _COMPONENTS)
    shapes: set[tuple[str, tuple[str, ...]]] = set()
    for i, card in enumerate(cards):
        cw = f"{where}.cards[{i}]"
        parts = card.get("components") if isinstance(card, Mapping) else None
        if not _is_list(parts) or not parts:
            raise _fail(f"{cw}.components", "a card needs components", _COMPONENTS)
        _components(parts, category, named, f"{cw}.components", top_level=False)
        by_type = {_upper(p.get("type")): p for p in parts if isinstance(p, Mapping)}
        if "HEADER" not in by_type:
            raise _fail(f"{cw}.components", "a card needs an IMAGE or VIDEO header", _HEADER)
        buttons = (by_type.get("BUTTONS") or {}).get("buttons") or []
        button_types = tuple(_upper(b.get("type")) for b in buttons if isinstance(b, Mapping))
        shapes.add((_upper(by_type["HEADER"].get("format")), button_types))
    if len(shapes) > 1:
        raise _fail(f"{where}.cards", "every card must have the same header format and the same buttons", _COMPONENTS)


def _limited_time_offer(comp: Mapping[str, Any], category: str, where: str, *, has_footer: bool) -> None:
    if category != "MARKETING":
        raise _fail(where, "limited-time offers are MARKETING templates", _COMPONENTS)
    if has_footer:
        raise _fail(where, "a limited-time-offer template may not have a footer", _FOOTER)
    offer = comp.get("limited_time_offer")
    if not isinstance(offer, Mapping):
        raise _fail(f"{where}.limited_time_offer", "is required", _COMPONENTS)
    text = offer.get("text")
    if not isinstance(text, str):
        raise _fail(f"{where}.limited_time_offer.text", "is required", _COMPONENTS)
    _length(f"{where}.limited_time_offer.text", "template.limited_time_offer.text", text, _TOO_LONG)
    if "has_expiration" in offer and not isinstance(offer["has_expiration"], bool):
        raise _fail(f"{where}.limited_time_offer.has_expiration", "must be true or false", _COMPONENTS)
