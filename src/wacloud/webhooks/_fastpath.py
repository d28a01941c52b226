"""The one-pass parsers: a change's whole value validated in one pydantic call, then its updates.

The per-item parser validates the metadata, the contacts and every message or status with its own
``model_validate`` call, then wraps each in an update through the update's validating constructor;
for a one-message webhook the Python around those calls costs as much as pydantic's work in them.
Here one pydantic schema covers a ``messages`` value (metadata, contacts, messages by ``type``,
statuses, errors), a ``smb_message_echoes`` or a ``user_preferences`` value, or the one event of a
value-is-one-event field, so all of it is checked in one pass in pydantic-core and comes out as the
same public models ``model_validate`` makes (same classes, same fields, same extras). The updates are
then filled from those validated parts (:mod:`wacloud.webhooks._fill`), not validated a second time.

The schemas are assembled from the public models' own core schemas, with three changes that move work
out of pydantic-core or out of Python calls it makes, not out of the checks (docs/benchmarks.md, "fifth
pass" and "sixth pass"):

- messages are told apart by pydantic-core reading their ``type`` key (a tagged union on a key),
  instead of a Python discriminator function called per message;
- the small frozen parts that repeat across payloads (metadata, a contact's profile, a status's
  pricing and its conversation's origin) are looked up in a bounded memo and shared, not built again
  (:mod:`wacloud.webhooks._shared`);
- the one Python validator the message models have (a message names its sender: ``from`` or
  ``from_user_id``) is checked here after the pass, on the built messages, instead of pydantic-core
  calling it per message. The models keep it: ``TextMessage.model_validate`` still refuses a message
  without a sender, and so does the fast path (it declines; the per-item parser says why).

A one-pass parser only ever succeeds as a whole: when anything in the value does not validate (an
unknown message type, a malformed status, a contact that is not an object…), it declines and the
per-item parser runs, which keeps what validates, turns the rest into ``RawUpdate`` with a reason and
logs it, exactly as before. So the result for any input is the one the per-item parser gives.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import core_schema as cs
from typing_extensions import TypedDict

import wacloud.webhooks.models as m
import wacloud.webhooks.updates as u
from wacloud.webhooks._fill import filler
from wacloud.webhooks._shared import compiled, shared, sharing

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
    """``cls``'s core schema without its model-level sender check (done after the pass, :func:`_has_senders`)."""
    schema = cls.__pydantic_core_schema__
    if (schema["type"] == "function-after" and schema["schema"]["type"] == "model"
            and getattr(schema["function"]["function"], "__name__", "") == "_has_a_sender"):
        inner: cs.CoreSchema = schema["schema"]
        return inner
    # Any other shape (a validator added to a subclass…) is kept whole: slower, never wrong.
    return schema


# The frozen models that repeat across payloads, built once per distinct value (webhooks/_shared.py).
_SHARED: dict[type[BaseModel], Callable[[Any], Any]] = {
    cls: shared(cls) for cls in (m.Metadata, m.Profile, m.Pricing, m.ConversationOrigin)
}


def _core(cls: type[BaseModel]) -> cs.CoreSchema:
    """``cls``'s core schema, with the shared models in it looked up instead of built."""
    return sharing(cls.__pydantic_core_schema__, _SHARED)


def _model(cls: type[BaseModel]) -> cs.CoreSchema:
    return cs.nullable_schema(_core(cls))


def _models(item: cs.CoreSchema, *, required: bool = False) -> cs.TypedDictField:
    # The per-item parser takes a missing or null list as absent, except the list a field is about.
    items = cs.list_schema(item)
    return cs.typed_dict_field(items if required else cs.nullable_schema(items), required=required)


def _value_validator(**lists: cs.TypedDictField) -> Callable[[Any], Any]:
    """The core validator of a change value: its metadata and contacts, plus ``lists``."""
    schema = cs.typed_dict_schema(
        {
            "metadata": cs.typed_dict_field(_model(m.Metadata), required=False),
            "contacts": _models(_core(m.WebhookContact)),
            **lists,
        },
        extra_behavior="ignore",  # other keys (messaging_product…) are not typed
    )
    # The core validator itself: TypeAdapter.validate_python adds a Python layer per call.
    return compiled(schema).validate_python


# One tagged member per ``type`` value of MESSAGE_TYPES (read when this module loads, so a type added
# there is covered); an unknown or missing type fails the union and sends the change to the slow path.
_MESSAGE_UNION = cs.tagged_union_schema(
    {t: sharing(_sender_check_removed(cls), _SHARED) for t, cls in m.MESSAGE_TYPES.items()},
    discriminator="type",
)

_VALUE: Callable[[Any], MessagesValue] = _value_validator(
    messages=_models(_MESSAGE_UNION),
    statuses=_models(_core(m.Status)),
    errors=_models(_core(m.WebhookError)),
)


def _has_senders(messages: Sequence[m.IncomingMessage]) -> bool:
    # The model's own check (IncomingMessage._has_a_sender), on the built messages (a loop: a generator
    # costs more than the check for the usual one message).
    for message in messages:  # noqa: SIM110
        if not message.phone and not message.from_user_id:
            return False
    return True


def messages_value(value: dict[str, Any]) -> MessagesValue | None:
    """The change value typed in one pass, or None when any part of it needs the per-item parser."""
    try:
        typed = _VALUE(value)
    except ValidationError:
        return None
    messages = typed.get("messages")
    if messages is not None:
        if not _has_senders(messages):
            return None  # the per-item parser says why
    elif typed.get("statuses") is None and typed.get("errors") is None:
        return None  # the per-item parser reports the empty change
    return typed


class EchoesValue(TypedDict, total=False):
    """The typed parts of a ``smb_message_echoes`` change value."""

    metadata: m.Metadata | None
    contacts: list[m.WebhookContact] | None
    message_echoes: list[m.MessageEcho]


_ECHOES: Callable[[Any], EchoesValue] = _value_validator(
    message_echoes=_models(sharing(_sender_check_removed(m.MessageEcho), _SHARED), required=True),
)


def echoes_value(value: dict[str, Any]) -> EchoesValue | None:
    """A ``smb_message_echoes`` value typed in one pass, or None when it needs the per-item parser."""
    try:
        typed = _ECHOES(value)
    except ValidationError:
        return None
    return typed if _has_senders(typed["message_echoes"]) else None


class PreferencesValue(TypedDict, total=False):
    """The typed parts of a ``user_preferences`` change value."""

    metadata: m.Metadata | None
    contacts: list[m.WebhookContact] | None
    user_preferences: list[m.UserPreference]


_PREFERENCES: Callable[[Any], PreferencesValue] = _value_validator(
    user_preferences=_models(_core(m.UserPreference), required=True),
)


def preferences_value(value: dict[str, Any]) -> PreferencesValue | None:
    """A ``user_preferences`` value typed in one pass, or None when it needs the per-item parser."""
    try:
        return _PREFERENCES(value)
    except ValidationError:
        return None


def wrapper(cls: type[U]) -> Callable[[dict[str, Any]], U]:
    """``cls(**values)`` as a one-argument function: pydantic's validator of ``cls`` called directly.

    The same check and result as the constructor (an already-built model in a field is kept as is),
    without the keyword-argument round trip of ``__init__``. The one-pass parsers below fill their
    updates with :func:`wacloud.webhooks._fill.filler` instead (no second validation).
    """
    return cls.__pydantic_validator__.validate_python


# --- the updates of a change validated in one pass ------------------------------------------------

#: A one-pass parser of a change: appends the change's updates and returns True, or returns False
#: (appending nothing) when the change needs the per-item parser.
OnePass = Callable[[str, "str | None", "datetime | None", dict[str, Any], list[u.Update]], bool]


def contact_for(contacts: list[m.WebhookContact] | None, phone: str | None, user_id: str | None, index: int,
                count: int) -> m.WebhookContact | None:
    """The contact of the item at ``index`` of ``count``: the only one, else by number or BSUID, else by position."""
    if not contacts:
        return None
    if len(contacts) == 1:
        return contacts[0]
    for contact in contacts:
        # A username-only customer has no wa_id: match on the BSUID then.
        if (phone and contact.wa_id == phone) or (user_id and contact.user_id == user_id):
            return contact
    # ``from`` may differ from ``wa_id`` (e.g. Brazil's ninth digit); fall back to position.
    return contacts[index] if len(contacts) == count else None


_WHERE = ("field", "waba_id", "time", "raw")  # where an update comes from, then its own fields
_MESSAGE_UPDATE = filler(u.MessageUpdate, *_WHERE, "message", "contact", "metadata")
_STATUS_UPDATE = filler(u.StatusUpdate, *_WHERE, "status", "metadata", "contact")
_ERROR_UPDATE = filler(u.ErrorUpdate, *_WHERE, "error", "metadata")
_ECHO_UPDATE = filler(u.MessageEchoUpdate, *_WHERE, "message", "metadata", "contact")
_PREFERENCES_UPDATE = filler(u.UserPreferencesUpdate, *_WHERE, "preference", "metadata", "contact")


def _messages(field: str, waba_id: str | None, time: datetime | None, value: dict[str, Any],
              out: list[u.Update]) -> bool:
    # The updates parsing._messages makes of the same value, when all of it validates: messages_value,
    # inlined (a call less on every messages webhook).
    try:
        typed = _VALUE(value)
    except ValidationError:
        return False
    messages = typed.get("messages")
    statuses = typed.get("statuses")
    errors = typed.get("errors")
    if messages is not None:
        for message in messages:
            if not message.phone and not message.from_user_id:
                return False  # the model's own check (see _has_senders); the per-item parser says why
    elif statuses is None and errors is None:
        return False  # the per-item parser reports the empty change
    metadata = typed.get("metadata")
    contacts = typed.get("contacts")
    # The contact of the usual one-contact value is taken without a call (what contact_for returns).
    if messages is not None:
        count = len(messages)
        for index, raw in enumerate(value["messages"]):
            message = messages[index]
            out.append(_MESSAGE_UPDATE(
                field, waba_id, time, raw, message,
                None if not contacts else contacts[0] if len(contacts) == 1 else contact_for(
                    contacts, message.phone, message.from_user_id, index, count),
                metadata))
    if statuses is not None:
        if messages is not None:
            contacts = None
        count = len(statuses)
        for index, raw in enumerate(value["statuses"]):
            status = statuses[index]
            own = status.contacts  # BSUID-era statuses may carry their recipient themselves
            if own:
                contact = own[0] if len(own) == 1 else contact_for(
                    own, status.recipient_id, status.recipient_user_id, 0, len(own))
            else:
                contact = None if not contacts else contacts[0] if len(contacts) == 1 else contact_for(
                    contacts, status.recipient_id, status.recipient_user_id, index, count)
            out.append(_STATUS_UPDATE(field, waba_id, time, raw, status, metadata, contact))
    if errors is not None:
        for index, raw in enumerate(value["errors"]):
            out.append(_ERROR_UPDATE(field, waba_id, time, raw, errors[index], metadata))
    return True


def _listed(key: str, validate: Callable[[dict[str, Any]], Any], make: Callable[..., u.Update],
            recipient: Callable[[Any], str | None]) -> OnePass:
    """The one-pass parser of a value listing events of one kind with their contacts (``message_echoes``,
    ``user_preferences``): the updates the per-item parser makes of it, when all of it validates."""

    def one_pass(field: str, waba_id: str | None, time: datetime | None, value: dict[str, Any],
                 out: list[u.Update]) -> bool:
        typed = validate(value)
        if typed is None:
            return False
        metadata = typed.get("metadata")
        contacts = typed.get("contacts")
        items = typed[key]
        count = len(items)
        for index, raw in enumerate(value[key]):
            item = items[index]
            out.append(make(field, waba_id, time, raw, item, metadata,
                            contact_for(contacts, recipient(item), None, index, count)))
        return True

    return one_pass


_echoes = _listed("message_echoes", echoes_value, _ECHO_UPDATE, attrgetter("to"))
_preferences = _listed("user_preferences", preferences_value, _PREFERENCES_UPDATE, attrgetter("wa_id"))


def value_pass(update_cls: type[u.Update], model: type[BaseModel]) -> OnePass:
    """The one-pass parser of a field whose whole value is one event (``update_cls(value=model)``)."""
    validate = model.__pydantic_validator__.validate_python
    make = filler(update_cls, *_WHERE, "value")

    def one_pass(field: str, waba_id: str | None, time: datetime | None, value: dict[str, Any],
                 out: list[u.Update]) -> bool:
        try:
            typed = validate(value)
        except ValidationError:
            return False  # the per-item parser validates it again and says why
        out.append(make(field, waba_id, time, value, typed))
        return True

    return one_pass


#: The one-pass parsers by ``changes[].field`` (parsing adds the value-is-one-event fields).
ONE_PASS: dict[str, OnePass] = {"messages": _messages, "smb_message_echoes": _echoes,
                                "user_preferences": _preferences}
