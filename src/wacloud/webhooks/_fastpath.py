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
    """``cls(**values)`` as a one-argument function, for values the parser made from validated parts.

    An update wrapper only holds what was already validated (the message or status models, the
    metadata, the ``raw`` JSON, the change's field, account and time), so it is filled the way
    pydantic-core fills a validated model: its ``__dict__`` in field order (defaults for the fields not
    given), the fields given as its fields set, no extras, no private attributes -- without checking
    the values again (about half the cost of pydantic's validator). ``values`` must hold every required
    field. Classes this does not fit (extras kept, private attributes, a post-init hook, a default
    factory) get pydantic's validator itself, as does every class if pydantic ever builds models
    differently (checked once, below).
    """
    template = _template(cls)
    if template is None or not _FILLS_LIKE_PYDANTIC:
        return cls.__pydantic_validator__.validate_python
    return _maker(cls, template)


def _maker(cls: type[U], template: dict[str, Any]) -> Callable[[dict[str, Any]], U]:
    new = object.__new__

    def make(values: dict[str, Any]) -> U:
        model = new(cls)
        fields = template.copy()  # every field, in field order; then the given ones over the defaults
        fields.update(values)
        _SET_DICT(model, fields)
        _SET_FIELDS_SET(model, set(values))
        _SET_EXTRA(model, None)
        _SET_PRIVATE(model, None)
        return model

    return make


# BaseModel's slots (``__dict__`` included) set through their descriptors: BaseModel.__setattr__ would
# run pydantic's assignment logic, and object.__setattr__ looks the name up on every call.
_SLOTS = BaseModel.__dict__
_SET_DICT = _SLOTS["__dict__"].__set__
_SET_FIELDS_SET = _SLOTS["__pydantic_fields_set__"].__set__
_SET_EXTRA = _SLOTS["__pydantic_extra__"].__set__
_SET_PRIVATE = _SLOTS["__pydantic_private__"].__set__


def _template(cls: type[BaseModel]) -> dict[str, Any] | None:
    """Every field of ``cls`` at its default (None for required ones), in field order; None when unfit."""
    if (cls.model_config.get("extra") == "allow" or cls.__private_attributes__
            or cls.__pydantic_post_init__ is not None or cls.model_config.get("frozen")):
        return None
    template: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            return None
        template[name] = None if info.is_required() else info.default
    return template


def _fills_like_pydantic() -> bool:
    # One probe at import: a model filled by ``_maker`` and the same one validated by pydantic must agree
    # on everything pydantic keeps on an instance; if a pydantic release changes that, use the validator.
    class Probe(BaseModel):
        a: str | None = None
        b: Any = None
        c: int = 0

    values = {"b": [1], "a": "x"}
    template = _template(Probe)
    if template is None:
        return False
    ours, theirs = _maker(Probe, template)(values), Probe.__pydantic_validator__.validate_python(values)
    return (list(ours.__dict__.items()) == list(theirs.__dict__.items())
            and ours.__pydantic_fields_set__ == theirs.__pydantic_fields_set__
            and ours.__pydantic_extra__ == theirs.__pydantic_extra__
            and ours.__pydantic_private__ == theirs.__pydantic_private__
            and ours == theirs)


_FILLS_LIKE_PYDANTIC = _fills_like_pydantic()
