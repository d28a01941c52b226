"""Meta's template-creation rules on the plain create body (the JSON of ``POST /{waba-id}/message_templates``),
written once for both sides that need them.

The client's pre-check (:func:`wacloud.templates.check_definition`) and the sandbox's Graph route each
call these checks and wrap the neutral :class:`TemplateRuleViolation` into their own error: a
``TemplateDefinitionError`` for the caller, Meta's error JSON for the emulator. Working on the Graph
JSON rather than on models means a body built by hand, by another SDK or by the builder is judged alike.
The sandbox's agreement with Meta is checked against Meta's recorded examples, not against this table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from wacloud.limits import limit

#: One variable: anything between double braces (``{{1}}``, ``{{first_name}}``).
VARIABLE_RE: Final = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
NAMED_RE: Final = re.compile(r"^[a-z_][a-z0-9_]*$")
POSITIONAL_RE: Final = re.compile(r"^[1-9][0-9]*$")
PARAMETER_FORMATS: Final = frozenset({"POSITIONAL", "NAMED"})


class TemplateRuleViolation(ValueError):
    """A create body breaks one of Meta's template rules.

    ``field`` is the JSON path, ``reason`` the plain-words why; ``code`` and ``subcode`` are what Meta
    answers for the same body (100 with a 2388xxx subcode, mostly); ``size``/``limit`` when a bound broke.
    """

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        code: int = 100,
        subcode: int | None = None,
        size: int | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.code = code
        self.subcode = subcode
        self.size = size
        self.limit = limit


def _variables(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(1) for m in VARIABLE_RE.finditer(text or "")))


NAME_RE: Final = re.compile(r"^[a-z0-9_]+$")
LANGUAGE_RE: Final = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
CATEGORIES: Final = frozenset({"MARKETING", "UTILITY", "AUTHENTICATION"})
HEADER_FORMATS: Final = frozenset({"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION", "GIF", "PRODUCT"})
MEDIA_FORMATS: Final = frozenset({"IMAGE", "VIDEO", "DOCUMENT", "GIF"})
BUTTON_TYPES: Final = frozenset(
    {
        "QUICK_REPLY",
        "URL",
        "PHONE_NUMBER",
        "COPY_CODE",
        "FLOW",
        "OTP",
        "MPM",
        "CATALOG",
        "SPM",
        "VOICE_CALL",
        "APP",
        # 2026: asks a user (often one known only by BSUID) to share their phone number; Meta fixes the label.
        "REQUEST_CONTACT_INFO",
    }
)
OTP_TYPES: Final = frozenset({"COPY_CODE", "ONE_TAP", "ZERO_TAP"})
COMPONENT_TYPES: Final = frozenset(
    {"HEADER", "BODY", "FOOTER", "BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER", "CALL_PERMISSION_REQUEST"}
)
#: Categories that may carry a call permission request component or a REQUEST_CONTACT_INFO button [OFF].
CONTACT_AND_CALL_CATEGORIES: Final = frozenset({"MARKETING", "UTILITY"})

# Subcodes from the error table (errors.TEMPLATE_SUBCODES).
_COMPONENTS, _TOO_LONG, _HEADER, _BODY, _FOOTER, _EDGE = 2388039, 2388040, 2388047, 2388072, 2388073, 2388299
_LIMIT_REACHED = 2388019


def _fail(field: str, reason: str, subcode: int | None = None, **kw: Any) -> TemplateRuleViolation:
    return TemplateRuleViolation(field, reason, subcode=subcode, **kw)


def _upper(value: object) -> str:
    return value.upper() if isinstance(value, str) else ""


def _length(field: str, key: str, text: str, subcode: int | None) -> None:
    lim = limit(key)
    if len(text) > lim.max:
        raise _fail(
            field,
            f"is {len(text)} characters, at most {lim.max} allowed",
            subcode,
            size=len(text),
            limit=lim.max,
        )
    if len(text) < lim.min:
        raise _fail(field, "must not be empty", subcode, size=len(text), limit=lim.min)


def check_create_body(body: Mapping[str, Any], *, existing_count: int | None = None) -> None:
    """Raise :class:`TemplateRuleViolation` when ``body`` would be refused by ``POST message_templates``.

    ``existing_count`` is the number of templates the WABA already has (the 250 cap), when known.
    """
    if not isinstance(body, Mapping):
        raise _fail("template", "the create body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise _fail("name", "is required")
    _length("name", "template.name", name, None)  # Meta answers a bad name with a plain 100
    if not NAME_RE.match(name):
        raise _fail("name", f"{name!r} may contain only lower-case letters, digits and underscores")
    check_language(body.get("language"))
    category = _upper(body.get("category"))
    if category not in CATEGORIES:
        raise _fail("category", f"{body.get('category')!r} is not one of {sorted(CATEGORIES)}")
    fmt_raw = body.get("parameter_format", "POSITIONAL")
    if _upper(fmt_raw) not in PARAMETER_FORMATS:
        raise _fail("parameter_format", f"{fmt_raw!r} is not NAMED or POSITIONAL")
    fmt = _upper(fmt_raw)
    cap = limit("template.per_waba").max
    if existing_count is not None and existing_count >= cap:
        # The error table lists the cap as its own code (2388019), as the sandbox answers it.
        raise TemplateRuleViolation(
            "name",
            f"the WABA already has {existing_count} templates, at most {cap} allowed",
            code=_LIMIT_REACHED,
            size=existing_count + 1,
            limit=cap,
        )
    check_components(body.get("components"), category, fmt)


def check_language(language: object) -> None:
    """Raise unless ``language`` looks like a template locale code (``en_US``, ``pt_BR``, ``de``…)."""
    if not isinstance(language, str) or not LANGUAGE_RE.match(language):
        raise _fail("language", f"{language!r} is not a template language code such as 'en_US'")


def check_components(components: object, category: str, parameter_format: str) -> None:
    """Raise for ``components`` that ``POST message_templates`` refuses (``category`` upper-case,
    ``parameter_format`` ``"NAMED"`` or ``"POSITIONAL"``)."""
    if not isinstance(components, Sequence) or isinstance(components, str) or not components:
        raise _fail("components", "at least a BODY component is required", _COMPONENTS)
    _check_components(components, category, parameter_format.upper(), "components", top_level=True)


def _check_components(components: Sequence[Any], category: str, fmt: str, path: str, *, top_level: bool) -> None:
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
    if not top_level and ({"CAROUSEL", "LIMITED_TIME_OFFER", "FOOTER", "CALL_PERMISSION_REQUEST"} & seen.keys()):
        raise _fail(path, "a carousel card has only HEADER, BODY and BUTTONS", _COMPONENTS)
    for ctype, i in seen.items():
        comp = components[i]
        where = f"{path}[{i}]"
        if ctype == "HEADER":
            _check_header(comp, fmt, where, card=not top_level)
        elif ctype == "BODY":
            _check_body(comp, category, fmt, where, card=not top_level)
        elif ctype == "FOOTER":
            _check_footer(comp, category, where)
        elif ctype == "BUTTONS":
            _check_buttons(comp, category, where, card=not top_level)
        elif ctype == "CAROUSEL":
            if "HEADER" in seen or "FOOTER" in seen:
                raise _fail(where, "a carousel template has no top-level HEADER or FOOTER", _COMPONENTS)
            _check_carousel(comp, category, fmt, where)
        elif ctype == "LIMITED_TIME_OFFER":
            _check_lto(comp, category, where, has_footer="FOOTER" in seen)
        elif ctype == "CALL_PERMISSION_REQUEST":
            _check_call_permission(category, where, others=seen.keys())


def _check_call_permission(category: str, where: str, *, others: Any) -> None:
    """A call permission request: MARKETING or UTILITY, with a body, and no other interactive part [OFF]."""
    if category not in CONTACT_AND_CALL_CATEGORIES:
        raise _fail(where, "a call permission request is for MARKETING or UTILITY templates", _COMPONENTS)
    clash = sorted({"BUTTONS", "CAROUSEL", "LIMITED_TIME_OFFER"} & set(others))
    if clash:
        raise _fail(where, f"a call permission request cannot be combined with {', '.join(clash)}", _COMPONENTS)


def _check_examples(text: str, example: object, fmt: str, where: str, *, kind: str, subcode: int) -> list[str]:
    """Check the variables of ``text`` and that ``example`` gives a sample for each; return the names."""
    names = _variables(text)
    if not names:
        return names
    pattern = NAMED_RE if fmt == "NAMED" else POSITIONAL_RE
    for n in names:
        if not pattern.match(n):
            expect = "{{lower_case_name}}" if fmt == "NAMED" else "{{1}}, {{2}}…"
            raise _fail(
                f"{where}.text",
                f"variable {{{{{n}}}}} does not fit parameter_format {fmt} (expected {expect})",
                subcode,
            )
    if fmt == "POSITIONAL":
        numbers = sorted(int(n) for n in names)
        if numbers != list(range(1, len(numbers) + 1)):
            raise _fail(
                f"{where}.text",
                f"positional variables must be {{{{1}}}}…{{{{{len(numbers)}}}}} "
                f"without gaps, got {', '.join('{{' + n + '}}' for n in names)}",
                subcode,
            )
    ex = example if isinstance(example, Mapping) else {}
    if fmt == "NAMED":
        items = ex.get(f"{kind}_text_named_params")
        given = (
            {str(it.get("param_name")): it.get("example") for it in items or [] if isinstance(it, Mapping)}
            if isinstance(items, Sequence)
            else {}
        )
        missing = [n for n in names if not given.get(n)]
        if missing:
            raise _fail(
                f"{where}.example.{kind}_text_named_params",
                f"no example value for {', '.join(missing)}",
                subcode,
            )
        extra = sorted(set(given) - set(names))
        if extra:
            raise _fail(
                f"{where}.example.{kind}_text_named_params",
                f"examples for variables the text does not have: {', '.join(extra)}",
                subcode,
            )
        return names
    samples = ex.get(f"{kind}_text")
    if (
        kind == "body"
        and isinstance(samples, Sequence)
        and samples
        and isinstance(samples[0], Sequence)
        and not isinstance(samples[0], str)
    ):
        samples = samples[0]
    if not isinstance(samples, Sequence) or isinstance(samples, str):
        raise _fail(
            f"{where}.example.{kind}_text",
            f"example values are required for {len(names)} variable(s)",
            subcode,
        )
    if not all(isinstance(s, str) and s for s in samples):
        raise _fail(f"{where}.example.{kind}_text", "example values must be non-empty strings", subcode)
    if len(samples) != len(names):
        raise _fail(
            f"{where}.example.{kind}_text",
            f"{len(names)} variable(s) but {len(samples)} example value(s)",
            subcode,
            size=len(samples),
            limit=len(names),
        )
    return names


def _check_header(comp: Mapping[str, Any], fmt: str, where: str, *, card: bool) -> None:
    hfmt = _upper(comp.get("format"))
    if hfmt not in HEADER_FORMATS:
        raise _fail(f"{where}.format", f"{comp.get('format')!r} is not a header format", _HEADER)
    if card and hfmt not in ("IMAGE", "VIDEO"):
        raise _fail(f"{where}.format", "a carousel card header is IMAGE or VIDEO", _HEADER)
    if hfmt == "TEXT":
        text = comp.get("text")
        if not isinstance(text, str) or not text:
            raise _fail(f"{where}.text", "a TEXT header needs text", _HEADER)
        _length(f"{where}.text", "template.header.text", text, _TOO_LONG)
        names = _check_examples(text, comp.get("example"), fmt, where, kind="header", subcode=_HEADER)
        cap = limit("template.header.variables").max
        if len(names) > cap:
            raise _fail(
                f"{where}.text",
                f"a header may have at most {cap} variable",
                _HEADER,
                size=len(names),
                limit=cap,
            )
    elif hfmt in MEDIA_FORMATS:
        ex = comp.get("example")
        handles = ex.get("header_handle") if isinstance(ex, Mapping) else None
        if (
            not isinstance(handles, Sequence)
            or isinstance(handles, str)
            or not handles
            or not all(isinstance(h, str) and h for h in handles)
        ):
            raise _fail(
                f"{where}.example.header_handle",
                f"a {hfmt} header needs a sample media handle (upload one with the resumable upload API)",
                _HEADER,
            )


def _check_body(comp: Mapping[str, Any], category: str, fmt: str, where: str, *, card: bool) -> None:
    text = comp.get("text")
    if category == "AUTHENTICATION" and not card:
        if text is not None:
            raise _fail(
                f"{where}.text",
                "authentication templates have a fixed body: give add_security_recommendation instead of text",
                _BODY,
            )
        return
    if not isinstance(text, str) or not text.strip():
        raise _fail(f"{where}.text", "the body needs text", _BODY)
    _length(f"{where}.text", "template.carousel.card.body.text" if card else "template.body.text", text, _TOO_LONG)
    stripped = text.strip()
    if stripped.startswith("{{") or stripped.endswith("}}"):
        raise _fail(f"{where}.text", "a variable may not be at the start or the end of the body", _EDGE)
    _check_examples(text, comp.get("example"), fmt, where, kind="body", subcode=_BODY)


def _check_footer(comp: Mapping[str, Any], category: str, where: str) -> None:
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
    if VARIABLE_RE.search(text):
        raise _fail(f"{where}.text", "a footer may not contain variables", _FOOTER)


def _check_buttons(comp: Mapping[str, Any], category: str, where: str, *, card: bool) -> None:
    buttons = comp.get("buttons")
    key = "template.carousel.card.buttons" if card else "template.buttons"
    lim = limit(key)
    if not isinstance(buttons, Sequence) or isinstance(buttons, str) or not buttons:
        raise _fail(f"{where}.buttons", "a BUTTONS component needs at least one button", _COMPONENTS)
    if len(buttons) > lim.max:
        raise _fail(
            f"{where}.buttons",
            f"{len(buttons)} buttons, at most {lim.max} allowed",
            _COMPONENTS,
            size=len(buttons),
            limit=lim.max,
        )
    counts: dict[str, int] = {}
    for i, button in enumerate(buttons):
        bw = f"{where}.buttons[{i}]"
        if not isinstance(button, Mapping):
            raise _fail(bw, "a button must be an object", _COMPONENTS)
        btype = _upper(button.get("type"))
        if btype not in BUTTON_TYPES:
            raise _fail(f"{bw}.type", f"{button.get('type')!r} is not a button type", _COMPONENTS)
        counts[btype] = counts.get(btype, 0) + 1
        _check_button(button, btype, category, bw)
    for btype, key in (
        ("URL", "template.buttons.url"),
        ("PHONE_NUMBER", "template.buttons.phone_number"),
        ("COPY_CODE", "template.buttons.copy_code"),
        ("FLOW", "template.buttons.flow"),
    ):
        cap = limit(key).max
        if counts.get(btype, 0) > cap:
            raise _fail(
                f"{where}.buttons",
                f"{counts[btype]} {btype} buttons, at most {cap} allowed",
                _COMPONENTS,
                size=counts[btype],
                limit=cap,
            )
    if counts.get("REQUEST_CONTACT_INFO"):
        if category not in CONTACT_AND_CALL_CATEGORIES:
            raise _fail(f"{where}.buttons", "a REQUEST_CONTACT_INFO button is for MARKETING or UTILITY templates",
                        _COMPONENTS)
        if len(buttons) != 1:
            raise _fail(f"{where}.buttons", "a REQUEST_CONTACT_INFO button must be the template's only button",
                        _COMPONENTS, size=len(buttons), limit=1)
    if category == "AUTHENTICATION" and counts.get("OTP", 0) != 1:
        raise _fail(f"{where}.buttons", "an authentication template needs exactly one OTP button", _COMPONENTS)
    if category != "AUTHENTICATION" and counts.get("OTP"):
        raise _fail(f"{where}.buttons", "OTP buttons are for AUTHENTICATION templates only", _COMPONENTS)


def _check_button(button: Mapping[str, Any], btype: str, category: str, bw: str) -> None:
    text = button.get("text")
    # Meta sets the label of COPY_CODE and REQUEST_CONTACT_INFO buttons itself (localised).
    needs_text = btype not in ("COPY_CODE", "OTP", "REQUEST_CONTACT_INFO")
    if needs_text or text is not None:
        if not isinstance(text, str):
            raise _fail(f"{bw}.text", f"a {btype} button needs a label", _COMPONENTS)
        _length(f"{bw}.text", "template.button.text", text, _TOO_LONG)
    if btype == "URL":
        url = button.get("url")
        if not isinstance(url, str) or not url.lower().startswith(("https://", "http://")):
            raise _fail(f"{bw}.url", "a URL button needs an http(s) url", _COMPONENTS)
        _length(f"{bw}.url", "template.button.url", url, _TOO_LONG)
        names = VARIABLE_RE.findall(url)
        if len(names) > 1 or (names and not url.rstrip().endswith("}}")):
            raise _fail(f"{bw}.url", "a URL button may have one variable, at the end of the url", _COMPONENTS)
        if names:
            ex = button.get("example")
            if not isinstance(ex, Sequence) or isinstance(ex, str) or not ex or not isinstance(ex[0], str):
                raise _fail(f"{bw}.example", "a dynamic URL button needs an example url", _COMPONENTS)
    elif btype == "PHONE_NUMBER":
        phone = button.get("phone_number")
        if not isinstance(phone, str) or not re.fullmatch(r"\+?[0-9]{5,20}", phone):
            raise _fail(f"{bw}.phone_number", "a PHONE_NUMBER button needs a phone number", _COMPONENTS)
    elif btype == "COPY_CODE":
        ex = button.get("example")
        if not isinstance(ex, str) or not ex:
            raise _fail(f"{bw}.example", "a COPY_CODE button needs an example code", _COMPONENTS)
        _length(f"{bw}.example", "template.copy_code.example", ex, _TOO_LONG)
    elif btype == "FLOW":
        refs = [k for k in ("flow_id", "flow_name", "flow_json") if button.get(k)]
        if len(refs) != 1:
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


def _check_carousel(comp: Mapping[str, Any], category: str, fmt: str, where: str) -> None:
    if category != "MARKETING":
        raise _fail(where, "carousel templates are MARKETING templates", _COMPONENTS)
    cards = comp.get("cards")
    lim = limit("template.create.carousel.cards")
    if not isinstance(cards, Sequence) or isinstance(cards, str) or not lim.min <= len(cards) <= lim.max:
        n = len(cards) if isinstance(cards, Sequence) else 0
        raise _fail(
            f"{where}.cards",
            f"a carousel has {lim.min}–{lim.max} cards, got {n}",
            _COMPONENTS,
            size=n,
            limit=lim.max if n > lim.max else lim.min,
        )
    shapes: list[tuple[str, tuple[str, ...]]] = []
    for i, card in enumerate(cards):
        cw = f"{where}.cards[{i}]"
        parts = card.get("components") if isinstance(card, Mapping) else None
        if not isinstance(parts, Sequence) or isinstance(parts, str) or not parts:
            raise _fail(f"{cw}.components", "a card needs components", _COMPONENTS)
        _check_components(parts, category, fmt, f"{cw}.components", top_level=False)
        by_type = {_upper(p.get("type")): p for p in parts if isinstance(p, Mapping)}
        if "HEADER" not in by_type:
            raise _fail(f"{cw}.components", "a card needs an IMAGE or VIDEO header", _HEADER)
        header_fmt = _upper(by_type["HEADER"].get("format"))
        button_types = tuple(
            _upper(b.get("type")) for b in (by_type.get("BUTTONS") or {}).get("buttons") or [] if isinstance(b, Mapping)
        )
        shapes.append((header_fmt, button_types))
    if len(set(shapes)) > 1:
        raise _fail(f"{where}.cards", "every card must have the same header format and the same buttons", _COMPONENTS)


def _check_lto(comp: Mapping[str, Any], category: str, where: str, *, has_footer: bool) -> None:
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


def bsuid_refusal(definition: Mapping[str, Any]) -> str | None:
    """Why a template (its definition as Graph lists it) cannot be sent to a BSUID, or None when it can.

    Authentication templates with a one-time-password button (copy code, one-tap, zero-tap) still need
    the user's phone number: sent to a BSUID, Meta answers 131062.
    """
    if _upper(definition.get("category")) != "AUTHENTICATION":
        return None
    for comp in definition.get("components") or ():
        if not isinstance(comp, Mapping) or _upper(comp.get("type")) != "BUTTONS":
            continue
        for button in comp.get("buttons") or ():
            if isinstance(button, Mapping) and _upper(button.get("type")) == "OTP":
                otp = _upper(button.get("otp_type")) or "OTP"
                return (f"authentication template {definition.get('name')!r} has a {otp} button: "
                        "one-time-password templates go to phone numbers only (Meta answers 131062)")
    return None
