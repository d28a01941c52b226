"""Filling a template's parameters from flat values (CSV columns, CLI ``--param``, campaign fields).

Every parameter a definition takes has a column name:

* body variables: ``1``, ``2``… (positional) or the variable's name (named), optionally ``body.1`` /
  ``body.first_name``;
* a text header's variable: ``header.1`` or ``header.NAME``;
* a media header: ``header.image``, ``header.video`` or ``header.document`` (``header`` alone works
  too): a link (``https://…``) or a media id;
* a button's parameter: ``button.N`` with N the button's index from 0 (the URL suffix of a dynamic URL
  button, the code of a COPY_CODE or OTP button, the payload of a QUICK_REPLY button, which is optional).

:func:`slots` lists what a definition takes, :func:`fill` builds the send's ``components`` from values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wacloud.templates.check import (
    _MEDIA_PARAM,
    _button_needs_param,
    _objects,
    check_send,
    check_status,
    select_definition,
)
from wacloud.templates.exceptions import MismatchKind, TemplateMismatch
from wacloud.templates.variables import ParameterFormat, distinct, variables


@dataclass(frozen=True, slots=True)
class Slot:
    """One parameter a template takes: where it goes and the column names that fill it."""

    name: str  #: the canonical column name (``1``, ``first_name``, ``header.1``, ``header.image``, ``button.0``)
    component: str  #: ``header``, ``body`` or ``button``
    kind: str  #: ``text`` or a media type (header); ``url``, ``copy_code``, ``quick_reply`` (button)
    required: bool = True
    variable: str | None = None  #: the template's variable name (text parameters)
    index: int | None = None  #: the button's index
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every column name this slot answers to."""
        return (self.name, *self.aliases)


def _format(definition: Mapping[str, Any]) -> ParameterFormat:
    raw = str(definition.get("parameter_format") or "POSITIONAL").upper()
    return ParameterFormat.NAMED if raw == "NAMED" else ParameterFormat.POSITIONAL


def _by_type(definition: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {str(c.get("type", "")).upper(): c for c in _objects(definition.get("components"))}


def unsupported(definition: Mapping[str, Any]) -> str | None:
    """Why values alone cannot fill this template (a carousel, an offer, a location header), or None."""
    comps = _by_type(definition)
    if "CAROUSEL" in comps:
        return "carousel templates need per-card components; send them with a full template object"
    if "LIMITED_TIME_OFFER" in comps:
        return "limited-time-offer templates need an expiration component; send them with a full template object"
    header = comps.get("HEADER")
    if header is not None and str(header.get("format", "TEXT")).upper() == "LOCATION":
        return "location headers need coordinates; send them with a full template object"
    return None


def slots(definition: Mapping[str, Any]) -> list[Slot]:
    """The parameters ``definition`` (a template as ``GET message_templates`` returns it) takes."""
    comps = _by_type(definition)
    out: list[Slot] = []
    header = comps.get("HEADER")
    if header is not None:
        hfmt = str(header.get("format", "TEXT")).upper()
        if hfmt == "TEXT":
            for var in distinct(variables(str(header.get("text", "")))):
                out.append(Slot(f"header.{var}", "header", "text", variable=var))
        elif hfmt in _MEDIA_PARAM and hfmt != "LOCATION":
            media = _MEDIA_PARAM[hfmt]
            out.append(Slot(f"header.{media}", "header", media, aliases=("header",)))
    body = comps.get("BODY")
    if body is not None:
        text = str(body.get("text", ""))
        names = distinct(variables(text))
        if body.get("add_security_recommendation") is not None and not text:
            names = ["1"]  # authentication body: the one-time code
        for var in names:
            out.append(Slot(var, "body", "text", variable=var, aliases=(f"body.{var}",)))
    for index, button in enumerate(_objects((comps.get("BUTTONS") or {}).get("buttons"))):
        btype = str(button.get("type", "")).upper()
        if (btype == "URL" and _button_needs_param(button)) or btype == "OTP":
            out.append(Slot(f"button.{index}", "button", "url", index=index))
        elif btype == "COPY_CODE":
            out.append(Slot(f"button.{index}", "button", "copy_code", index=index))
        elif btype == "QUICK_REPLY":
            out.append(Slot(f"button.{index}", "button", "quick_reply", required=False, index=index))
    return out


def lookup(slot: Slot, values: Mapping[str, str]) -> str | None:
    """The value given for ``slot`` under any of its names (None when none is there)."""
    for name in slot.names:
        if name in values:
            return values[name]
    return None


def unused(definition_slots: Sequence[Slot], keys: Sequence[str] | set[str]) -> list[str]:
    """The value names that fill no slot (extra CSV columns), in the order given."""
    known = {n for s in definition_slots for n in s.names}
    return [k for k in keys if k not in known]


def fill(definition: Mapping[str, Any], values: Mapping[str, str], *,
         wanted: Sequence[Slot] | None = None) -> list[dict[str, Any]]:
    """The send's ``components`` for ``definition`` from ``values`` (by column name; extra ones ignored).

    A required parameter that is absent or empty raises :class:`TemplateMismatch` naming its column.
    ``wanted``: ``slots(definition)`` when the caller has it (a campaign fills one definition per row).
    """
    fmt = _format(definition)
    header: list[dict[str, Any]] = []
    body: list[dict[str, Any]] = []
    buttons: list[dict[str, Any]] = []
    for slot in slots(definition) if wanted is None else wanted:
        value = lookup(slot, values)
        if value is None or not value.strip():
            if not slot.required:
                continue
            what = "is missing" if value is None else "is empty"
            raise TemplateMismatch(slot.name, f"{what}: the template needs this parameter",
                                   kind=MismatchKind.PARAM_COUNT, code=132000)
        if slot.component in ("header", "body") and slot.kind == "text":
            param: dict[str, Any] = {"type": "text", "text": value}
            if fmt is ParameterFormat.NAMED:
                param["parameter_name"] = slot.variable
            (header if slot.component == "header" else body).append(param)
        elif slot.component == "header":
            ref = {"link": value} if value.startswith(("https://", "http://")) else {"id": value}
            header.append({"type": slot.kind, slot.kind: ref})
        else:
            ptype = {"url": "text", "copy_code": "coupon_code", "quick_reply": "payload"}[slot.kind]
            buttons.append({"type": "button", "sub_type": slot.kind, "index": str(slot.index),
                            "parameters": [{"type": ptype, ptype: value}]})
    components: list[dict[str, Any]] = []
    if header:
        components.append({"type": "header", "parameters": header})
    if body:
        components.append({"type": "body", "parameters": body})
    return components + buttons


@dataclass(slots=True)
class Prepared:
    """A campaign checked against its template: each row's components (None when the row is invalid)."""

    definition: Mapping[str, Any]
    components: list[list[dict[str, Any]] | None]
    invalid: list[tuple[int, str, str]]  #: (row index from 0, column, reason)
    warnings: list[str]


def prepare(
    template: Mapping[str, Any],
    definitions: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, str]],
    shared: Mapping[str, str] | None = None,
) -> Prepared:
    """Check a campaign (``template`` = ``{"name", "language"}``, one values mapping per row) first.

    The campaign is refused (:class:`TemplateMismatch`) when the template is unknown, not approved,
    cannot be filled from values, or a parameter has no column at all. A row whose value is empty or
    does not fit (too long…) is listed in ``invalid``; values that fill nothing are named in ``warnings``.
    ``shared`` values apply to every row (a row's own value wins).
    """
    definition = select_definition(template, definitions)
    check_status(definition)
    why = unsupported(definition)
    if why is not None:
        raise TemplateMismatch("template.name", why, kind=MismatchKind.MALFORMED, code=131009)
    shared = shared or {}
    wanted = slots(definition)
    keys = list(dict.fromkeys([*shared, *(k for row in rows for k in row)]))
    missing = [s for s in wanted if s.required and not any(n in keys for n in s.names)]
    if missing:
        takes = ", ".join(s.name for s in wanted) or "nothing"
        raise TemplateMismatch(
            missing[0].name,
            f"template {definition.get('name')!r} needs {', '.join(s.name for s in missing)}, which no "
            f"column gives (it takes: {takes})",
            kind=MismatchKind.PARAM_COUNT,
            code=132000,
        )
    warnings = [
        f"{k!r} is not a parameter of template {definition.get('name')!r}; ignored"
        for k in unused(wanted, keys)
    ]
    out = Prepared(definition, [], [], warnings)
    base = {"name": template.get("name"), "language": template.get("language")}
    for i, row in enumerate(rows):
        try:
            components = fill(definition, {**shared, **row}, wanted=wanted)
            check_send({**base, "components": components}, definition)
        except TemplateMismatch as exc:
            out.components.append(None)
            out.invalid.append((i, exc.field, exc.reason))
            continue
        out.components.append(components)
    return out
