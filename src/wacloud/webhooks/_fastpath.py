"""The fast path of a ``messages`` change: the whole change value validated in one pydantic call.

The per-item parser validates the metadata, the contacts and every message or status with its own
``model_validate`` call, then wraps each in an update through the update's validating constructor;
for a one-message webhook the Python around those calls costs as much as pydantic's work in them.
Here one pydantic schema covers the value (metadata, contacts, messages by ``type``, statuses,
errors), so all of it is checked in one pass in pydantic-core and comes out as the same public models
``model_validate`` makes (same classes, same fields, same extras). The update wrappers are then made
by pydantic's validator directly (an already-built model in a field is kept as is).

The schema is assembled from the public models' own core schemas, with two changes that move work
out of Python calls made by pydantic-core, not out of the checks (docs/benchmarks.md, "fifth pass"):

- messages are told apart by pydantic-core reading their ``type`` key (a tagged union on a key),
  instead of a Python discriminator function called per message;
- the one Python validator the message models have (a message names its sender: ``from`` or
  ``from_user_id``) is checked here after the pass, on the built messages, instead of pydantic-core
  calling it per message. The models keep it: ``TextMessage.model_validate`` still refuses a message
  without a sender, and so does the fast path (it returns None, the per-item parser says why).

The fast path only ever succeeds as a whole: when anything in the value does not validate (an unknown
message type, a malformed status, a contact that is not an object…), it returns None and the
per-item parser runs, which keeps what validates, turns the rest into ``RawUpdate`` with a reason and
logs it, exactly as before. So the result for any input is the one the per-item parser gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs
from typing_extensions import TypedDict

import wacloud.webhooks.models as m

U = TypeVar("U", bound=BaseModel)


class MessagesValue(TypedDict, total=False):
    """The typed parts of a ``messages`` change value (other keys, e.g. ``messaging_product``, ignored).

    A TypedDict, not a model: pydantic fills a plain dict, one object less to build per change.
    """

    metadata: m.Metadata | None
    contacts: list[m.WebhookContact] | None
    messages: list[m.IncomingMessage] | None
    statuses: list[m.Status] | None
    errors: list[m.WebhookError] | None


def _sender_check_removed(cls: type[m.IncomingMessage]) -> cs.CoreSchema:
    """``cls``'s core schema without its model-level sender check (done by :func:`messages_value`)."""
    schema = cls.__pydantic_core_schema__
    if (schema["type"] == "function-after" and schema["schema"]["type"] == "model"
            and getattr(schema["function"]["function"], "__name__", "") == "_has_a_sender"):
        inner: cs.CoreSchema = schema["schema"]
        return inner
    # Any other shape (a validator added to a subclass…) is kept whole: slower, never wrong.
    return schema


def _model(cls: type[BaseModel]) -> cs.CoreSchema:
    return cs.nullable_schema(cls.__pydantic_core_schema__)


def _models(item: cs.CoreSchema) -> cs.TypedDictField:
    return cs.typed_dict_field(cs.nullable_schema(cs.list_schema(item)), required=False)


# One tagged member per ``type`` value of MESSAGE_TYPES (read when this module loads, so a type added
# there is covered); an unknown or missing type fails the union and sends the change to the slow path.
_MESSAGE_UNION = cs.tagged_union_schema(
    {t: _sender_check_removed(cls) for t, cls in m.MESSAGE_TYPES.items()}, discriminator="type",
)

_SCHEMA = cs.typed_dict_schema(
    {
        "metadata": cs.typed_dict_field(_model(m.Metadata), required=False),
        "contacts": _models(m.WebhookContact.__pydantic_core_schema__),
        "messages": _models(_MESSAGE_UNION),
        "statuses": _models(m.Status.__pydantic_core_schema__),
        "errors": _models(m.WebhookError.__pydantic_core_schema__),
    },
    extra_behavior="ignore",
)

# The core validator itself: TypeAdapter.validate_python adds a Python layer per call.
_VALUE: Callable[[Any], MessagesValue] = SchemaValidator(_SCHEMA).validate_python


def messages_value(value: dict[str, Any]) -> MessagesValue | None:
    """The change value typed in one pass, or None when any part of it needs the per-item parser."""
    try:
        typed = _VALUE(value)
    except ValidationError:
        return None
    messages = typed.get("messages")
    if messages is not None:
        for message in messages:
            if not message.phone and not message.from_user_id:
                return None  # the model's own check (IncomingMessage._has_a_sender): the slow path says why
    elif typed.get("statuses") is None and typed.get("errors") is None:
        return None  # the per-item parser reports the empty change
    return typed


def wrapper(cls: type[U]) -> Callable[[dict[str, Any]], U]:
    """``cls(**values)`` as a one-argument function: pydantic's validator of ``cls`` called directly.

    The same check and result as the constructor (an already-built model in a field is kept as is),
    without the keyword-argument round trip of ``__init__``.
    """
    return cls.__pydantic_validator__.validate_python
