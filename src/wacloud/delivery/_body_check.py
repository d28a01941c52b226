"""Checking many template bodies of one campaign: the shape once, each recipient's own values every row.

A campaign's bodies differ only in the address and the text parameters. What the message models check
of those (:mod:`wacloud.messages.template`: a ``text`` parameter is a string within the length limit that
encodes as UTF-8 and holds no NUL; ``to`` is a phone number's digits, ``recipient`` a BSUID) depends on
each value alone, never on another part of the body. So a body whose *shape* -- the body with those
values blanked out -- is the shape of a body that passed :func:`validate_body`, and whose own values pass
those per-value rules, passes too: it is not validated again (the models' validation is ~40 µs a body,
the shape walk a few). Anything else (another shape, a value the rule refuses, a type the walk does not
know) is validated in full, so its error is the one it always was.
"""

from __future__ import annotations

from typing import Any

from wacloud.delivery._bodies import validate_body
from wacloud.identity import is_bsuid
from wacloud.limits import limit

#: Deeper bodies are validated in full (the walk is recursive; validation has its own depth guard).
_MAX_DEPTH = 32
_TEXT = ("text",)
_TO = ("to",)
_RECIPIENT = ("recipient",)
#: JSON scalar types kept in a shape as they are, with their type (``True == 1``, but not as JSON).
_SCALARS = frozenset({str, int, float, bool, type(None)})


class _Unknown(Exception):
    """The walk met something it does not vouch for: validate the body in full."""


class BodyCheck:
    """:func:`validate_body` for the bodies of one campaign, the shape validated once (see the module)."""

    def __init__(self) -> None:
        self._shapes: set[Any] = set()
        text = limit("template.parameter.text")
        digits = limit("to.digits")
        self._text = (text.min, text.max)
        self._digits = (digits.min, digits.max)

    def __call__(self, body: dict[str, Any]) -> None:
        """Raise :class:`~wacloud.errors.ValidationError` exactly when :func:`validate_body` would."""
        try:
            shape = self._shape(body)
        except _Unknown:
            shape = None
        if shape is not None and shape in self._shapes:
            return
        validate_body(body)
        if shape is not None:
            self._shapes.add(shape)

    def _shape(self, body: dict[str, Any]) -> Any:
        if type(body) is not dict or body.get("type") != "template":
            raise _Unknown  # only template bodies: their per-value rules are the ones listed above
        items = []
        for key, value in body.items():
            if key == "to" and self._is_digits(value):
                items.append((key, _TO))
            elif key == "recipient" and type(value) is str and is_bsuid(value) \
                    and body.get("recipient_type", "individual") == "individual":
                items.append((key, _RECIPIENT))
            else:
                items.append((key, self._walk(value, 0)))
        return tuple(items)

    def _walk(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return (kind, value)
        if depth > _MAX_DEPTH:
            raise _Unknown
        if kind is dict:
            is_text = value.get("type") == "text"
            out: list[tuple[str, Any]] = []
            for key, item in value.items():
                if type(key) is not str:
                    raise _Unknown
                if is_text and key == "text" and self._is_text(item):
                    out.append((key, _TEXT))
                elif type(item) in _SCALARS:
                    out.append((key, (type(item), item)))
                else:
                    out.append((key, self._walk(item, depth + 1)))
            return (dict, tuple(out))
        if kind is list:
            return (list, tuple([self._walk(item, depth + 1) for item in value]))
        raise _Unknown  # tuples, models, sets…: the full check decides

    def _is_text(self, value: Any) -> bool:
        if type(value) is not str or not self._text[0] <= len(value) <= self._text[1] or "\x00" in value:
            return False
        if value.isascii():
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True

    def _is_digits(self, value: Any) -> bool:
        return (type(value) is str and value.isascii() and value.isdigit()
                and self._digits[0] <= len(value) <= self._digits[1])
