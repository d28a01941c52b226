"""The base model of every outgoing message part, and the checks it runs against the limits table.

Each model validates itself at construction. A rule broken inside a validator raises our
:class:`~wacloud.errors.ValidationError` with a path relative to that model; pydantic carries the
exception up through the nesting, and :func:`from_pydantic` turns the failure back into our error with
the full dotted path (``interactive.action.buttons[2].reply.title``), so callers only ever see ours.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence, Sized
from contextvars import ContextVar
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import ValidationError as PydanticValidationError

from wacloud.errors import ValidationError
from wacloud.limits import limit

M = TypeVar("M", bound="WaModel")
F = TypeVar("F", bound=Callable[..., None])

# True while from_graph() validates a raw body: the constructors' shortcuts (body="text",
# buttons=[...] beside the action…) are for people writing Python, not part of the Graph format.
_RAW: ContextVar[bool] = ContextVar("wacloud_messages_raw", default=False)


def parsing_raw() -> bool:
    """Whether the current validation reads a raw Graph body (shortcuts are then refused)."""
    return _RAW.get()


def shortcuts(init: F) -> F:
    """Mark a constructor taking shortcuts; while parsing a raw body it is skipped for the plain one."""

    @functools.wraps(init)
    def wrapper(self: WaModel, /, *args: Any, **kwargs: Any) -> None:
        if _RAW.get():
            WaModel.__init__(self, **kwargs)
        else:
            init(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]

_HTTP_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$", re.IGNORECASE)


def join(*parts: str | int) -> str:
    """Join path segments the way error fields are written: ``a.b[0].c``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part:
            out = f"{out}.{part}" if out else part
    return out


def from_pydantic(exc: PydanticValidationError, prefix: str = "") -> ValidationError:
    """Turn pydantic's error into ours, naming the first failing field by its full dotted path."""
    first = exc.errors(include_url=False)[0]
    # Tagged unions put their tag ("<text>", see ``tagged``) into the location; it is no body key.
    loc = [p if p != "" else "''" for p in first["loc"] if not (isinstance(p, str) and p.startswith("<"))]
    path = join(prefix, *loc)
    inner = (first.get("ctx") or {}).get("error")
    if isinstance(inner, ValidationError):
        # An error raised by a nested model's __init__ already carries that model's graph_key.
        local = getattr(inner, "local_field", inner.field)
        return ValidationError(join(path, local), inner.reason, size=inner.size, limit=inner.limit)
    kind = first["type"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        got = first["input"].get("type") if isinstance(first["input"], dict) else None
        return ValidationError(join(path, "type"), f"unknown or missing type {got!r}")
    if kind == "extra_forbidden":
        reason = "unexpected field"
    elif kind == "missing":
        reason = "is required"
    else:
        reason = str(first["msg"])
    return ValidationError(path or "body", reason)


def tag_of(key: str) -> Callable[[Any], str | None]:
    """A discriminator reading ``key`` from a dict or a model, giving the ``"<value>"`` union tag."""

    def get(value: Any) -> str | None:
        tag = value.get(key) if isinstance(value, dict) else getattr(value, key, None)
        return f"<{tag}>" if isinstance(tag, str) else None

    return get


class WaModel(BaseModel):
    """Base of all message models: unknown fields rejected, immutable, errors raised as ours."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    #: Where this model sits in a send body ("text", "interactive"…); error fields start with it.
    graph_key: ClassVar[str] = ""

    @model_validator(mode="after")
    def _text_encodes(self) -> Self:
        # Every string of a message ends up in a JSON request and in the stores (SQLite, PostgreSQL):
        # a lone surrogate cannot be encoded as UTF-8 and a NUL is refused by PostgreSQL's text type.
        for name, info in type(self).model_fields.items():
            check_texts(info.alias or name, getattr(self, name))
        return self

    def __init__(self, /, **data: Any) -> None:
        # pydantic calls a custom __init__ for nested models too, so this also runs inside parse().
        try:
            super().__init__(**data)
        except PydanticValidationError as exc:
            error = from_pydantic(exc, self.graph_key)
            error.local_field = from_pydantic(exc).field  # type: ignore[attr-defined]
            raise error from None

    @classmethod
    def from_graph(cls: type[M], value: object) -> M:
        """Validate a Graph API JSON value into this model, raising our ``ValidationError``."""
        token = _RAW.set(True)
        try:
            return cls.model_validate(value)
        except PydanticValidationError as exc:
            raise from_pydantic(exc, cls.graph_key) from None
        finally:
            _RAW.reset(token)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with ``update`` applied, validated again (pydantic's own copy skips validation)."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data.update(self.model_extra or {})
        data.update(update or {})
        try:
            return self.model_validate(data)
        except PydanticValidationError as exc:
            raise from_pydantic(exc, self.graph_key) from None

    def graph(self) -> dict[str, Any]:
        """This part as Graph API JSON, unset (None) fields omitted."""
        return self.model_dump(mode="json", exclude_none=True)


def check_text(field: str, value: str) -> None:
    """Text must encode as UTF-8 (no lone surrogate such as ``"\\ud800"``) and hold no NUL character."""
    if "\x00" in value:
        raise ValidationError(field, f"must not contain a NUL character (U+0000), found at index {value.index(chr(0))}")
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            field, f"is not valid Unicode: a lone surrogate U+{ord(value[exc.start]):04X} at index {exc.start} "
            "cannot be encoded as UTF-8"
        ) from None


def check_texts(field: str, value: object) -> None:
    """:func:`check_text` on every string in ``value`` (lists and dicts, keys too; models check themselves)."""
    if isinstance(value, str):
        check_text(field, value)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_texts(join(field, i), item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                check_text(join(field, key), key)
            check_texts(join(field, str(key)), item)


def check_length(field: str, value: Sized | None, key: str) -> None:
    """Check ``len(value)`` against ``LIMITS[key]`` (skipped when the value is None)."""
    if value is None:
        return
    bound = limit(key)
    size = len(value)
    if size > bound.max:
        raise ValidationError(field, f"is too long: at most {bound.max} {bound.unit}",
                              size=size, limit=bound.max)
    if size < bound.min:
        what = "must not be empty" if bound.min == 1 else f"needs at least {bound.min} {bound.unit}"
        raise ValidationError(field, what, size=size, limit=bound.min)


def check_count(field: str, items: Sequence[Any] | int, key: str) -> None:
    """Check a number of items (a list, or a total already counted) against ``LIMITS[key]``."""
    size = items if isinstance(items, int) else len(items)
    bound = limit(key)
    if size > bound.max:
        raise ValidationError(field, f"has too many items: at most {bound.max} {bound.unit}",
                              size=size, limit=bound.max)
    if size < bound.min:
        raise ValidationError(field, f"needs at least {bound.min} {bound.unit}", size=size, limit=bound.min)


def check_range(field: str, value: float, key: str) -> None:
    """Check a number lies within ``LIMITS[key].min .. max`` (inclusive)."""
    bound = limit(key)
    if not math.isfinite(value) or value > bound.max:
        raise ValidationError(field, f"must be at most {bound.max} {bound.unit}", limit=bound.max)
    if value < bound.min:
        raise ValidationError(field, f"must be at least {bound.min} {bound.unit}", limit=bound.min)


def check_http_url(field: str, value: str | None) -> None:
    """A link Meta fetches must be an absolute http(s) URL."""
    if value is not None and not _HTTP_URL.match(value):
        raise ValidationError(field, "must be an http:// or https:// URL")


def check_not_blank(field: str, value: str | None) -> None:
    """Identifiers must hold something other than whitespace."""
    if value is not None and not value.strip():
        raise ValidationError(field, "must not be empty")


def check_unique(items: Sequence[tuple[str, str]]) -> None:
    """Values the user picks between (button titles, row ids) must differ; items are (field, value)."""
    seen: set[str] = set()
    for field, value in items:
        if value in seen:
            raise ValidationError(field, f"must be unique: {value!r} is used twice")
        seen.add(value)
