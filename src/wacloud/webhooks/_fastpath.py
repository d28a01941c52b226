"""The fast path of a ``messages`` change: the whole change value validated in one pydantic call.

The per-item parser validates the metadata, the contacts and every message or status with its own
``model_validate`` call, then wraps each in an update through the update's validating constructor;
for a one-message webhook the Python around those calls costs as much as pydantic's work in them.
Here one pydantic schema covers the value (metadata, contacts, messages by ``type``, statuses,
errors), so all of it is checked in one pass in pydantic-core and comes out as the same public models
``model_validate`` makes (same classes, same schemas, after-validators included). The update wrappers
are then made by pydantic's validator directly (an already-built model in a field is kept as is).

The fast path only ever succeeds as a whole: when anything in the value does not validate (an unknown
message type, a malformed status, a contact that is not an object…), it returns None and the
per-item parser runs, which keeps what validates, turns the rest into ``RawUpdate`` with a reason and
logs it, exactly as before. So the result for any input is the one the per-item parser gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar, Union

from pydantic import BaseModel, Discriminator, Tag, TypeAdapter, ValidationError
from typing_extensions import TypedDict

import wacloud.webhooks.models as m

U = TypeVar("U", bound=BaseModel)


def _message_tag(value: Any) -> str | None:
    return value.get("type") if type(value) is dict else None


def _message_union() -> Any:
    # One tagged member per ``type`` value of MESSAGE_TYPES (read when this module loads, so a type
    # added there is covered); an unknown type fails the union and sends the change to the slow path.
    members = tuple(Annotated[cls, Tag(t)] for t, cls in m.MESSAGE_TYPES.items())
    return Annotated[Union[members], Discriminator(_message_tag)]  # noqa: UP007 -- built at runtime


class MessagesValue(TypedDict, total=False):
    """The typed parts of a ``messages`` change value (other keys, e.g. ``messaging_product``, ignored).

    A TypedDict, not a model: pydantic fills a plain dict, one object less to build per change.
    """

    metadata: m.Metadata | None
    contacts: list[m.WebhookContact] | None
    messages: list[_message_union()] | None  # type: ignore[valid-type]
    statuses: list[m.Status] | None
    errors: list[m.WebhookError] | None


# The core validator itself: TypeAdapter.validate_python adds a Python layer per call.
_VALUE = TypeAdapter(MessagesValue).validator.validate_python


def messages_value(value: dict[str, Any]) -> MessagesValue | None:
    """The change value typed in one pass, or None when any part of it needs the per-item parser."""
    try:
        typed: MessagesValue = _VALUE(value)
    except ValidationError:
        return None
    if typed.get("messages") is None and typed.get("statuses") is None and typed.get("errors") is None:
        return None  # the per-item parser reports the empty change
    return typed


def wrapper(cls: type[U]) -> Callable[[dict[str, Any]], U]:
    """``cls(**values)`` as a one-argument function: pydantic's validator of ``cls`` called directly.

    The same check and result as the constructor (an already-built model in a field is kept as is),
    without the keyword-argument round trip of ``__init__``.
    """
    return cls.__pydantic_validator__.validate_python
