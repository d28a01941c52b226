"""The pre-send check: does a template *send* fit the template's definition?

Both sides are plain Graph JSON: ``template`` is the ``template`` object of a send body
(``{"name", "language": {"code"}, "components": [...]}``) and each definition is a template as
``GET /{waba-id}/message_templates`` returns it. A mismatch raises
:class:`~wacloud.templates.exceptions.TemplateMismatch` naming the field, the rule, and the code
Meta would have answered with (132000 count, 132001 missing/not approved, 132005 too long,
132012 format, 132015 paused, 132016 disabled) — before any request is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from wacloud.limits import limit
from wacloud.templates.exceptions import MismatchKind, TemplateMismatch
from wacloud.templates.variables import ParameterFormat, distinct, substitute, variables

#: Which send ``sub_type`` answers each definition button type, and the parameter type it takes.
_BUTTON_SEND: Final[Mapping[str, Mapping[str, str]]] = {
    "QUICK_REPLY": {"quick_reply": "payload"},
    "URL": {"url": "text"},
    # Authentication codes go in a url-button text parameter (Meta's examples, pywa); copy_code with a
    # coupon_code is accepted too, as the sandbox does, so the pre-check never refuses a working send.
    "OTP": {"url": "text", "copy_code": "coupon_code"},
    "COPY_CODE": {"copy_code": "coupon_code"},
    "FLOW": {"flow": "action"},
    "CATALOG": {"catalog": "action"},
    "MPM": {"mpm": "action"},
    "SPM": {"spm": "action"},
}
_MEDIA_PARAM: Final[Mapping[str, str]] = {
    "IMAGE": "image",
    "VIDEO": "video",
    "DOCUMENT": "document",
    "GIF": "gif",
    "LOCATION": "location",
}
_BODY_TYPES: Final = frozenset({"text", "currency", "date_time"})


def _mismatch(field: str, reason: str, kind: MismatchKind, code: int, **kw: Any) -> TemplateMismatch:
    return TemplateMismatch(field, reason, kind=kind, code=code, **kw)


def normalize_language(code: str) -> str:
    """``en-US`` (webhooks) and ``en_US`` (API) name the same language."""
    return code.replace("-", "_")


def _components(obj: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    comps = obj.get("components") or []
    if not isinstance(comps, Sequence) or isinstance(comps, str) or not all(isinstance(c, Mapping) for c in comps):
        raise _mismatch(field, "must be a list of component objects", MismatchKind.MALFORMED, 131009)
    return list(comps)


def select_definition(template: Mapping[str, Any], definitions: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The definition a send refers to (by name and language), or :class:`TemplateMismatch` (132001)."""
    if not isinstance(template, Mapping):
        raise _mismatch("template", "must be an object", MismatchKind.MALFORMED, 131009)
    name = template.get("name")
    if not isinstance(name, str) or not name:
        raise _mismatch("template.name", "is required", MismatchKind.MALFORMED, 131008)
    lang = template.get("language")
    code = lang.get("code") if isinstance(lang, Mapping) else None
    if not isinstance(code, str) or not code:
        raise _mismatch("template.language.code", "is required", MismatchKind.MALFORMED, 131008)
    same_name = [d for d in definitions if d.get("name") == name]
    if not same_name:
        raise _mismatch("template.name", f"no template named {name!r} on this account", MismatchKind.NOT_FOUND, 132001)
    wanted = normalize_language(code)
    for d in same_name:
        if normalize_language(str(d.get("language", ""))) == wanted:
            return d
    have = ", ".join(sorted(str(d.get("language")) for d in same_name))
    raise _mismatch(
        "template.language.code",
        f"template {name!r} has no {code!r} translation (available: {have})",
        MismatchKind.LANGUAGE,
        132001,
    )


def check_status(definition: Mapping[str, Any]) -> None:
    """Only APPROVED templates can be sent; PAUSED is 132015, DISABLED 132016, the rest 132001."""
    status = str(definition.get("status", "")).upper()
    if status == "APPROVED":
        return
    code = {"PAUSED": 132015, "DISABLED": 132016}.get(status, 132001)
    raise _mismatch(
        "template.name",
        f"template {definition.get('name')!r} ({definition.get('language')}) is "
        f"{status or 'of unknown status'}, not APPROVED",
        MismatchKind.STATUS,
        code,
    )


def check_send(
    template: Mapping[str, Any],
    definitions: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    check_approved: bool = True,
) -> Mapping[str, Any]:
    """Raise :class:`TemplateMismatch` unless ``template`` fits its definition; return that definition.

    ``definitions`` is one definition or all the known ones (every language of the name).
    """
    defs = [definitions] if isinstance(definitions, Mapping) else list(definitions)
    definition = select_definition(template, defs)
    if check_approved:
        check_status(definition)
    fmt_raw = str(definition.get("parameter_format") or "POSITIONAL").upper()
    fmt = ParameterFormat.NAMED if fmt_raw == "NAMED" else ParameterFormat.POSITIONAL
    def_comps = {str(c.get("type", "")).upper(): c for c in _components(definition, "definition.components")}
    sent = _components(template, "template.components")
    by_type: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
    for i, comp in enumerate(sent):
        by_type.setdefault(str(comp.get("type", "")).lower(), []).append((i, comp))
    unknown = set(by_type) - {"header", "body", "button", "carousel", "limited_time_offer"}
    if unknown:
        raise _mismatch(
            "template.components",
            f"unknown component type(s) {sorted(unknown)}",
            MismatchKind.MALFORMED,
            131009,
        )
    for ctype in ("header", "body", "carousel", "limited_time_offer"):
        if len(by_type.get(ctype, [])) > 1:
            i = by_type[ctype][1][0]
            raise _mismatch(
                f"template.components[{i}]",
                f"more than one {ctype} component",
                MismatchKind.MALFORMED,
                131009,
            )
    _check_header(def_comps.get("HEADER"), by_type.get("header", []), fmt)
    _check_body(def_comps.get("BODY"), by_type.get("body", []), fmt, "template.components")
    _check_buttons(def_comps.get("BUTTONS"), by_type.get("button", []), "template.components")
    _check_lto(def_comps.get("LIMITED_TIME_OFFER"), by_type.get("limited_time_offer", []))
    _check_carousel(def_comps.get("CAROUSEL"), by_type.get("carousel", []), fmt)
    return definition


def _objects(value: object) -> list[Mapping[str, Any]]:
    """The objects of a definition's list (a malformed definition yields an empty or shorter list)."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [v for v in value if isinstance(v, Mapping)]


def _params(comp: Mapping[str, Any], field: str) -> list[Mapping[str, Any]]:
    params = comp.get("parameters") or []
    if not isinstance(params, Sequence) or isinstance(params, str) or not all(isinstance(p, Mapping) for p in params):
        raise _mismatch(f"{field}.parameters", "must be a list of parameter objects", MismatchKind.MALFORMED, 131009)
    return list(params)


def _text_values(
    names: list[str], params: list[Mapping[str, Any]], fmt: ParameterFormat, field: str, what: str
) -> dict[str, str]:
    """Match parameters to variables by position or by ``parameter_name``; return name → rendered text."""
    if len(params) != len(names):
        raise _mismatch(
            f"{field}.parameters",
            f"the {what} has {len(names)} variable(s) but {len(params)} parameter(s) were given",
            MismatchKind.PARAM_COUNT,
            132000,
            size=len(params),
            limit=len(names),
        )
    values: dict[str, str] = {}
    if fmt is ParameterFormat.NAMED:
        given = [p.get("parameter_name") for p in params]
        if any(not isinstance(g, str) or not g for g in given):
            raise _mismatch(
                f"{field}.parameters",
                f"the template uses NAMED parameters: every {what} parameter "
                f"needs a parameter_name ({', '.join(names)})",
                MismatchKind.PARAM_NAME,
                132012,
            )
        unknown = sorted(set(map(str, given)) - set(names))
        missing = [n for n in names if n not in given]
        if unknown or missing:
            # Meta counts only the parameters whose names it knows, so a misnamed one is a count mismatch.
            raise _mismatch(
                f"{field}.parameters",
                f"{what} parameter names do not match the template: "
                f"unknown {unknown or 'none'}, missing {missing or 'none'}",
                MismatchKind.PARAM_NAME,
                132000,
            )
        for p in params:
            values[str(p["parameter_name"])] = _rendered(p)
        return values
    for i, p in enumerate(params):
        if p.get("parameter_name") is not None:
            raise _mismatch(
                f"{field}.parameters[{i}].parameter_name",
                "the template uses POSITIONAL parameters ({{1}}, {{2}}…); leave parameter_name out",
                MismatchKind.PARAM_NAME,
                132012,
            )
        values[names[i]] = _rendered(p)
    return values


def _rendered(param: Mapping[str, Any]) -> str:
    ptype = param.get("type")
    if ptype == "text":
        return str(param.get("text", ""))
    obj = param.get(str(ptype))
    if isinstance(obj, Mapping):
        return str(obj.get("fallback_value", ""))
    return ""


def _check_value(param: Mapping[str, Any], field: str) -> None:
    """A body/header text-like parameter carries its value in the right key."""
    ptype = param.get("type")
    if ptype == "text":
        if not isinstance(param.get("text"), str) or not param.get("text"):
            raise _mismatch(f"{field}.text", "a text parameter needs a non-empty text", MismatchKind.PARAM_TYPE, 132012)
    elif ptype == "currency":
        cur = param.get("currency")
        if not isinstance(cur, Mapping) or not all(k in cur for k in ("fallback_value", "code", "amount_1000")):
            raise _mismatch(
                f"{field}.currency",
                "needs fallback_value, code and amount_1000",
                MismatchKind.PARAM_TYPE,
                132012,
            )
    elif ptype == "date_time":
        dt = param.get("date_time")
        if not isinstance(dt, Mapping) or not dt.get("fallback_value"):
            raise _mismatch(f"{field}.date_time", "needs a fallback_value", MismatchKind.PARAM_TYPE, 132012)


def _check_header(
    definition: Mapping[str, Any] | None, sent: list[tuple[int, Mapping[str, Any]]], fmt: ParameterFormat
) -> None:
    field = f"template.components[{sent[0][0]}]" if sent else "template.components"
    params = _params(sent[0][1], field) if sent else []
    if definition is None:
        if params:
            raise _mismatch(
                f"{field}.parameters",
                "the template has no header, but header parameters were given",
                MismatchKind.PARAM_COUNT,
                132000,
                size=len(params),
                limit=0,
            )
        return
    hfmt = str(definition.get("format", "TEXT")).upper()
    if hfmt == "TEXT":
        names = distinct(variables(str(definition.get("text", ""))))
        for i, p in enumerate(params):
            if p.get("type") != "text":
                raise _mismatch(
                    f"{field}.parameters[{i}].type",
                    f"the header format is TEXT; got a {p.get('type')!r} parameter",
                    MismatchKind.HEADER_FORMAT,
                    132012,
                )
            _check_value(p, f"{field}.parameters[{i}]")
        values = _text_values(names, params, fmt, field, "header")
        rendered = substitute(str(definition.get("text", "")), values)
        cap = limit("template.header.text").max
        if len(rendered) > cap:
            raise _mismatch(
                f"{field}.parameters",
                f"the header would be {len(rendered)} characters, at most {cap}",
                MismatchKind.TOO_LONG,
                132005,
                size=len(rendered),
                limit=cap,
            )
        return
    expected = _MEDIA_PARAM.get(hfmt)
    if expected is None:  # PRODUCT headers etc.: nothing we can verify locally
        return
    if not params:
        # Meta reports a missing media header as a format mismatch ("expected IMAGE, received UNKNOWN").
        raise _mismatch(
            f"{field}.parameters",
            f"the template has a {hfmt} header: give one {expected} header parameter (got none)",
            MismatchKind.HEADER_FORMAT,
            132012,
        )
    if len(params) != 1:
        raise _mismatch(
            f"{field}.parameters",
            f"the template has a {hfmt} header: give exactly one {expected} header parameter (got {len(params)})",
            MismatchKind.PARAM_COUNT,
            132000,
            size=len(params),
            limit=1,
        )
    p = params[0]
    if p.get("type") != expected:
        raise _mismatch(
            f"{field}.parameters[0].type",
            f"the header format is {hfmt}: expected a {expected!r} parameter, got {p.get('type')!r}",
            MismatchKind.HEADER_FORMAT,
            132012,
        )
    media = p.get(expected)
    if not isinstance(media, Mapping):
        raise _mismatch(f"{field}.parameters[0].{expected}", "is required", MismatchKind.PARAM_TYPE, 132012)
    if expected == "location":
        if "latitude" not in media or "longitude" not in media:
            raise _mismatch(
                f"{field}.parameters[0].location",
                "needs latitude and longitude",
                MismatchKind.PARAM_TYPE,
                132012,
            )
    elif not (media.get("id") or media.get("link")):
        raise _mismatch(f"{field}.parameters[0].{expected}", "needs an id or a link", MismatchKind.PARAM_TYPE, 132012)


def _check_body(
    definition: Mapping[str, Any] | None,
    sent: list[tuple[int, Mapping[str, Any]]],
    fmt: ParameterFormat,
    base: str,
    *,
    card: bool = False,
) -> None:
    field = f"{base}[{sent[0][0]}]" if sent else base
    params = _params(sent[0][1], field) if sent else []
    if definition is None:
        if params:
            raise _mismatch(
                f"{field}.parameters",
                "the template has no body variables",
                MismatchKind.PARAM_COUNT,
                132000,
                size=len(params),
                limit=0,
            )
        return
    text = str(definition.get("text", ""))
    names = distinct(variables(text))
    if definition.get("add_security_recommendation") is not None and not text:
        names = ["1"]  # authentication body: the one-time code is its only parameter
    for i, p in enumerate(params):
        if p.get("type") not in _BODY_TYPES:
            raise _mismatch(
                f"{field}.parameters[{i}].type",
                f"body parameters are text, currency or date_time; got {p.get('type')!r}",
                MismatchKind.PARAM_TYPE,
                132012,
            )
        _check_value(p, f"{field}.parameters[{i}]")
    values = _text_values(names, params, fmt, field, "body")
    if text:
        rendered = substitute(text, values)
        cap = limit("template.carousel.card.body.text" if card else "template.body.text").max
        if len(rendered) > cap:
            raise _mismatch(
                f"{field}.parameters",
                f"the body would be {len(rendered)} characters, at most {cap}",
                MismatchKind.TOO_LONG,
                132005,
                size=len(rendered),
                limit=cap,
            )


def _button_needs_param(button: Mapping[str, Any]) -> bool:
    btype = str(button.get("type", "")).upper()
    if btype == "URL":
        return bool(variables(str(button.get("url", ""))))
    return btype in ("OTP", "COPY_CODE")


def _check_buttons(definition: Mapping[str, Any] | None, sent: list[tuple[int, Mapping[str, Any]]], base: str) -> None:
    buttons = _objects((definition or {}).get("buttons"))
    seen: set[int] = set()
    for ci, comp in sent:
        field = f"{base}[{ci}]"
        raw_index = comp.get("index")
        try:
            index = int(str(raw_index))
        except ValueError:
            raise _mismatch(
                f"{field}.index", f"{raw_index!r} is not a button index", MismatchKind.MALFORMED, 131009
            ) from None
        if not 0 <= index < len(buttons):
            raise _mismatch(
                f"{field}.index",
                f"the template has {len(buttons)} button(s); index {index} does not exist",
                MismatchKind.BUTTON,
                131009,
                size=index,
                limit=len(buttons) - 1,
            )
        if index in seen:
            raise _mismatch(f"{field}.index", f"button {index} is given twice", MismatchKind.BUTTON, 132000)
        seen.add(index)
        button = buttons[index]
        btype = str(button.get("type", "")).upper()
        sub_type = str(comp.get("sub_type", "")).lower()
        expected = _BUTTON_SEND.get(btype)
        if expected is None:
            raise _mismatch(
                f"{field}.sub_type",
                f"button {index} is a {btype} button, which takes no parameters",
                MismatchKind.BUTTON,
                132000,
            )
        if sub_type not in expected:
            wanted = " or ".join(repr(k) for k in expected)
            raise _mismatch(
                f"{field}.sub_type",
                f"button {index} is a {btype} button: sub_type must be {wanted}, got {sub_type!r}",
                MismatchKind.BUTTON,
                132012,
            )
        param_type = expected[sub_type]
        params = _params(comp, field)
        if btype == "URL" and not _button_needs_param(button):
            if params:
                raise _mismatch(
                    f"{field}.parameters",
                    f"button {index} has a static url and takes no parameter",
                    MismatchKind.PARAM_COUNT,
                    132000,
                    size=len(params),
                    limit=0,
                )
            continue
        if len(params) != 1:
            raise _mismatch(
                f"{field}.parameters",
                f"button {index} takes exactly one parameter, got {len(params)}",
                MismatchKind.PARAM_COUNT,
                132000,
                size=len(params),
                limit=1,
            )
        if params[0].get("type") != param_type:
            raise _mismatch(
                f"{field}.parameters[0].type",
                f"button {index} ({btype}) takes a {param_type!r} parameter, got {params[0].get('type')!r}",
                MismatchKind.PARAM_TYPE,
                132012,
            )
        if param_type != "action" and not params[0].get(param_type):
            raise _mismatch(f"{field}.parameters[0].{param_type}", "is required", MismatchKind.PARAM_TYPE, 132012)
        code, cap = params[0].get("coupon_code"), limit("template.copy_code.example").max
        if btype == "COPY_CODE" and isinstance(code, str) and len(code) > cap:
            raise _mismatch(f"{field}.parameters[0].coupon_code", f"a coupon code has at most {cap} characters",
                            MismatchKind.TOO_LONG, 132012, size=len(code), limit=cap)
    for index, button in enumerate(buttons):
        if index not in seen and _button_needs_param(button):
            raise _mismatch(
                base,
                f"button {index} ({str(button.get('type')).upper()}) needs a parameter; add a "
                f"button component with index {index}",
                MismatchKind.PARAM_COUNT,
                132000,
            )


def _check_lto(definition: Mapping[str, Any] | None, sent: list[tuple[int, Mapping[str, Any]]]) -> None:
    offer = (definition or {}).get("limited_time_offer")
    expires = isinstance(offer, Mapping) and offer.get("has_expiration") is True
    if definition is None and sent:
        raise _mismatch(
            f"template.components[{sent[0][0]}]",
            "the template has no limited-time offer",
            MismatchKind.PARAM_COUNT,
            132000,
        )
    if expires and not sent:
        raise _mismatch(
            "template.components",
            "the offer expires: add a limited_time_offer component with expiration_time_ms",
            MismatchKind.PARAM_COUNT,
            132000,
        )
    if sent:
        field = f"template.components[{sent[0][0]}]"
        params = _params(sent[0][1], field)
        if len(params) != 1 or params[0].get("type") != "limited_time_offer":
            raise _mismatch(
                f"{field}.parameters",
                "takes one limited_time_offer parameter",
                MismatchKind.PARAM_TYPE,
                132012,
            )


def _check_carousel(
    definition: Mapping[str, Any] | None, sent: list[tuple[int, Mapping[str, Any]]], fmt: ParameterFormat
) -> None:
    if definition is None:
        if sent:
            raise _mismatch(
                f"template.components[{sent[0][0]}]",
                "the template has no carousel",
                MismatchKind.PARAM_COUNT,
                132000,
            )
        return
    def_cards = _objects(definition.get("cards"))
    if not sent:
        raise _mismatch(
            "template.components",
            f"the template is a carousel of {len(def_cards)} cards: add a carousel component",
            MismatchKind.PARAM_COUNT,
            132000,
        )
    ci, comp = sent[0]
    cards = comp.get("cards")
    if not isinstance(cards, Sequence) or isinstance(cards, str) or len(cards) != len(def_cards):
        n = len(cards) if isinstance(cards, Sequence) else 0
        raise _mismatch(
            f"template.components[{ci}].cards",
            f"the template has {len(def_cards)} cards, got {n}",
            MismatchKind.PARAM_COUNT,
            132000,
            size=n,
            limit=len(def_cards),
        )
    for k, card in enumerate(cards):
        cfield = f"template.components[{ci}].cards[{k}]"
        if not isinstance(card, Mapping):
            raise _mismatch(cfield, "a card must be an object", MismatchKind.MALFORMED, 131009)
        index = card.get("card_index", k)
        if not isinstance(index, int) or not 0 <= index < len(def_cards):
            raise _mismatch(
                f"{cfield}.card_index",
                f"{index!r} is not a card of the template",
                MismatchKind.PARAM_COUNT,
                132000,
            )
        def_parts = {str(c.get("type", "")).upper(): c for c in _components(def_cards[index], "definition.cards")}
        parts: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
        for j, part in enumerate(_components(card, f"{cfield}.components")):
            parts.setdefault(str(part.get("type", "")).lower(), []).append((j, part))
        header = def_parts.get("HEADER")
        hsent = parts.get("header", [])
        hparams = _params(hsent[0][1], f"{cfield}.components[{hsent[0][0]}]") if hsent else []
        if header is not None:
            expected = _MEDIA_PARAM.get(str(header.get("format", "")).upper())
            if len(hparams) != 1:
                raise _mismatch(
                    f"{cfield}.components",
                    f"card {index} needs one {expected} header parameter",
                    MismatchKind.PARAM_COUNT,
                    132000,
                    size=len(hparams),
                    limit=1,
                )
            if hparams[0].get("type") != expected:
                raise _mismatch(
                    f"{cfield}.components[{hsent[0][0]}].parameters[0].type",
                    f"card {index} header is {expected}, got {hparams[0].get('type')!r}",
                    MismatchKind.HEADER_FORMAT,
                    132012,
                )
        _check_body(def_parts.get("BODY"), parts.get("body", []), fmt, f"{cfield}.components", card=True)
        _check_buttons(def_parts.get("BUTTONS"), parts.get("button", []), f"{cfield}.components")
