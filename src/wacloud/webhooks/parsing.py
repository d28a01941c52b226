"""``parse(body) -> list[Update]``: every entry, change, message and status of a payload, in order.

Never raises. Whatever is not recognised (unknown field or message type, a shape that does not
validate, JSON that is not JSON) comes back as a :class:`RawUpdate` carrying the original JSON and a
reason, and is logged once, so a caller can tell recognised and unrecognised apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec
import pydantic_core
from pydantic import ValidationError

import wacloud.webhooks._fastpath as _fast
import wacloud.webhooks.account_updates as a
import wacloud.webhooks.calls as calls
import wacloud.webhooks.coexistence as co
import wacloud.webhooks.groups as groups
import wacloud.webhooks.models as m
import wacloud.webhooks.updates as u
from wacloud.webhooks.changes import contacts as _contacts
from wacloud.webhooks.changes import items as _items
from wacloud.webhooks.changes import why as _why

logger = logging.getLogger("wacloud.webhooks")

#: ``object`` of every WhatsApp Business Account webhook.
OBJECT = "whatsapp_business_account"


def loads(body: bytes | bytearray | str) -> Any:
    """Decode JSON (strict: no NaN/Infinity, nesting capped at 200 levels); raises ValueError."""
    # pydantic-core's decoder refuses nesting beyond 200 levels, which no webhook comes near, so hostile
    # deeply nested bodies fail fast instead of recursing. msgspec's decoder takes ~60% of its time on
    # webhook bodies (docs/benchmarks.md) and keeps big integers exact too, but nests as deep as Python's
    # recursion limit; a body with at most 200 opening brackets cannot nest deeper than 200, so msgspec
    # gets those (all usual webhooks), and pydantic-core decodes the rest and whatever msgspec refuses,
    # its answer or ValueError standing.
    opens = body.count("{") + body.count("[") if isinstance(body, str) else body.count(b"{") + body.count(b"[")
    if opens <= _MAX_DEPTH:
        try:
            return _decode(body)
        except (ValueError, RecursionError):
            pass
    return pydantic_core.from_json(body, allow_inf_nan=False)


_decode = msgspec.json.Decoder().decode
_MAX_DEPTH = 200
_BODY_TYPES = (bytes, bytearray, str)


def envelope_problem(payload: Any) -> str | None:
    """What is wrong with the outer shape of a webhook payload (None when it is a usable envelope)."""
    if not isinstance(payload, dict):
        return "body must be a JSON object"
    if not isinstance(payload.get("object"), str):
        return "object must be a string"
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return "entry must be a list"
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("changes", []), list):
            return "every entry must be an object with a changes list"
    return None


def parse(body: bytes | bytearray | str | dict[str, Any]) -> list[u.Update]:
    """Turn a webhook body (raw bytes or decoded JSON) into typed updates; never raises."""
    try:  # the parser itself is inlined here: one Python call less per webhook
        payload: Any = None
        if type(body) is bytes and body.count(b"{") + body.count(b"[") <= _MAX_DEPTH:
            try:  # what loads does with the usual body, without the call
                payload = _decode(body)
            except (ValueError, RecursionError):
                payload = None
        if payload is None:
            if isinstance(body, _BODY_TYPES):
                try:
                    payload = loads(body)
                except ValueError as exc:
                    return [_raw(body, None, f"body is not valid JSON: {exc}", None)]
            else:
                payload = body
        # The keys every Meta webhook has are read by subscript (a third of a .get call's cost) from
        # plain dicts; a payload without one of them, or a dict subclass, by .get: the same values.
        if type(payload) is not dict:
            if not isinstance(payload, dict):
                return [_raw(payload, None, "body is not a JSON object", None)]
            entries = payload.get("entry")
            foreign = payload.get("object") != OBJECT
        else:
            try:
                entries = payload["entry"]
                foreign = payload["object"] != OBJECT
            except KeyError:
                entries = payload.get("entry")
                foreign = payload.get("object") != OBJECT
        if foreign or not isinstance(entries, list):
            return [_raw(payload, None, f"not a {OBJECT} envelope with an entry list", None)]
        out: list[u.Update] = []
        for entry in entries:
            if type(entry) is dict:
                try:
                    changes = entry["changes"]
                    waba_id = entry["id"]
                    time = entry["time"]
                except KeyError:
                    changes, waba_id, time = entry.get("changes"), entry.get("id"), entry.get("time")
            elif isinstance(entry, dict):
                changes, waba_id, time = entry.get("changes"), entry.get("id"), entry.get("time")
            else:
                out.append(_raw(entry, None, "entry without a changes list", None))
                continue
            if type(changes) is not list and not isinstance(changes, list):
                out.append(_raw(entry, None, "entry without a changes list", None))
                continue
            if type(waba_id) is not str:
                waba_id = _opt_str(waba_id)
            if time is not None:
                # The memo looked up here, without a call, for the usual int time (see _entry_time).
                time = (_TIMES.get(time) if type(time) is int else None) or _entry_time(time)
            for change in changes:
                if type(change) is dict:
                    # One pydantic pass over the whole value when all of it validates (else per item).
                    try:
                        field = change["field"]
                        value = change["value"]
                    except KeyError:
                        field, value = change.get("field"), change.get("value")
                    if (type(field) is str and type(value) is dict and (one_pass := _ONE_PASS.get(field)) is not None
                            and one_pass(field, waba_id, time, value, out)):
                        continue
                if not isinstance(change, dict):
                    out.append(_raw(change, None, "change is not an object", waba_id))
                    continue
                field = change.get("field")
                value = change.get("value")
                parser = _FIELDS.get(field) if isinstance(field, str) else None
                if parser is None or not isinstance(value, dict):
                    reason = f"unknown field {field!r}" if parser is None else "change value is not an object"
                    out.append(_raw(change, field if isinstance(field, str) else None, reason, waba_id))
                    continue
                parser(_Ctx(str(field), waba_id, time, value), out)
        return out
    except Exception as exc:  # a bug here must not lose the payload or crash the receiver
        logger.exception("webhook parser failed; returning the payload as a RawUpdate")
        return [u.RawUpdate(raw=body if isinstance(body, dict) else None, reason=f"parser error: {exc!r}")]


class _Ctx:
    """Where the items of one change come from."""

    __slots__ = ("field", "time", "value", "waba_id")

    def __init__(self, field: str, waba_id: str | None, time: datetime | None, value: dict[str, Any]) -> None:
        self.field = field
        self.waba_id = waba_id
        self.time = time
        self.value = value

    def raw(self, item: Any, reason: str) -> u.RawUpdate:
        return _raw(item, self.field, reason, self.waba_id)

    def metadata(self) -> m.Metadata | None:
        meta = self.value.get("metadata")
        if isinstance(meta, dict):
            try:
                return m.Metadata.model_validate(meta)
            except ValidationError:
                return None
        return None


def _raw(item: Any, field: str | None, reason: str, waba_id: str | None) -> u.RawUpdate:
    logger.warning("unrecognised webhook content (field=%s, waba=%s): %s", field, waba_id, reason)
    return u.RawUpdate(field=field, waba_id=waba_id, raw=item, reason=reason)


def _opt_str(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


# ``entry[].time`` -> datetime for the last few distinct values: the webhooks of one second share it, and
# a datetime is immutable, so sharing one is safe. Bounded: cleared when full.
_TIMES: dict[int, datetime | None] = {}


def _entry_time(value: Any) -> datetime | None:
    if type(value) is not int:  # bool, float, str...: not cached (True == 1 and 1.0 == 1 as dict keys)
        return _time(value)
    found = _TIMES.get(value, _MISSING)
    if found is _MISSING:
        found = _time(value)
        if len(_TIMES) >= 64:
            _TIMES.clear()
        _TIMES[value] = found
    return found  # type: ignore[no-any-return]


_MISSING: Any = object()


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


# --- field parsers --------------------------------------------------------------------------------


def _messages(ctx: _Ctx, out: list[u.Update]) -> None:
    value = ctx.value
    metadata = ctx.metadata()
    known = False
    messages = _items(ctx, "messages", out)
    if messages is not None:
        known = True
        contacts = _contacts(value.get("contacts"))
        for index, msg in enumerate(messages):
            if not isinstance(msg, dict):
                out.append(ctx.raw(msg, "message is not an object"))
                continue
            mtype = msg.get("type")
            cls = m.MESSAGE_TYPES.get(mtype) if isinstance(mtype, str) else None
            if cls is None:
                out.append(ctx.raw(msg, f"unknown message type {msg.get('type')!r}"))
                continue
            try:
                message = cls.model_validate(msg)
            except ValidationError as exc:
                failed = _failed(msg)
                if failed is None:
                    out.append(ctx.raw(msg, f"{msg.get('type')} message: {_why(exc)}"))
                    continue
                message = failed
            contact = _fast.contact_for(contacts, message.phone, message.from_user_id, index, len(messages))
            upd = u.MessageUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=msg, message=message,
                                  contact=contact, metadata=metadata)
            out.append(upd)
    statuses = _items(ctx, "statuses", out)
    if statuses is not None:
        known = True
        contacts = _contacts(value.get("contacts")) if messages is None else []
        for index, st in enumerate(statuses):
            if not isinstance(st, dict):
                out.append(ctx.raw(st, "status is not an object"))
                continue
            try:
                status = m.Status.model_validate(st)
            except ValidationError as exc:
                out.append(ctx.raw(st, f"status: {_why(exc)}"))
                continue
            # BSUID-era statuses may carry their recipient themselves; else the value's contacts.
            pool, at, count = (status.contacts, 0, len(status.contacts)) if status.contacts else (
                contacts, index, len(statuses))
            contact = _fast.contact_for(pool, status.recipient_id, status.recipient_user_id, at, count)
            out.append(u.StatusUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=st,
                                      status=status, metadata=metadata, contact=contact))
    errors = _items(ctx, "errors", out)
    if errors is not None:
        known = True
        for err in errors:
            try:
                error = m.WebhookError.model_validate(err)
            except ValidationError as exc:
                out.append(ctx.raw(err, f"error: {_why(exc)}"))
                continue
            out.append(u.ErrorUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=err,
                                     error=error, metadata=metadata))
    if not known:
        out.append(ctx.raw(value, "messages change without messages, statuses or errors"))


def _failed(msg: dict[str, Any]) -> m.IncomingMessage | None:
    """A message of a known type whose content object is missing but whose ``errors`` say why."""
    if not msg.get("errors") or msg.get(str(msg.get("type"))) is not None:
        return None
    try:
        return m.FailedMessage.model_validate(msg)
    except ValidationError:
        return None


def _echoes(ctx: _Ctx, out: list[u.Update]) -> None:
    echoes = _items(ctx, "message_echoes", out)
    if echoes is None:
        out.append(ctx.raw(ctx.value, "smb_message_echoes change without message_echoes"))
        return
    metadata = ctx.metadata()
    contacts = _contacts(ctx.value.get("contacts"))
    for index, echo in enumerate(echoes):
        try:
            message = m.MessageEcho.model_validate(echo)
        except ValidationError as exc:
            out.append(ctx.raw(echo, f"message echo: {_why(exc)}"))
            continue
        contact = _fast.contact_for(contacts, message.to, None, index, len(echoes))
        out.append(u.MessageEchoUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=echo,
                                       message=message, metadata=metadata, contact=contact))


def _user_preferences(ctx: _Ctx, out: list[u.Update]) -> None:
    prefs = _items(ctx, "user_preferences", out)
    if prefs is None:
        out.append(ctx.raw(ctx.value, "user_preferences change without user_preferences"))
        return
    metadata = ctx.metadata()
    contacts = _contacts(ctx.value.get("contacts"))
    for index, item in enumerate(prefs):
        try:
            pref = m.UserPreference.model_validate(item)
        except ValidationError as exc:
            out.append(ctx.raw(item, f"user preference: {_why(exc)}"))
            continue
        out.append(u.UserPreferencesUpdate(
            field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=item, preference=pref,
            contact=_fast.contact_for(contacts, pref.wa_id, None, index, len(prefs)), metadata=metadata,
        ))


def _automatic_events(ctx: _Ctx, out: list[u.Update]) -> None:
    events = _items(ctx, "automatic_events", out)
    if events is None:
        out.append(ctx.raw(ctx.value, "automatic_events change without automatic_events"))
        return
    metadata = ctx.metadata()
    for item in events:
        try:
            event = a.AutomaticEvent.model_validate(item)
        except ValidationError as exc:
            out.append(ctx.raw(item, f"automatic event: {_why(exc)}"))
            continue
        out.append(u.AutomaticEventUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=item,
                                          event=event, metadata=metadata))


def _history(ctx: _Ctx, out: list[u.Update]) -> None:
    chunks = _items(ctx, "history", out)
    if chunks is None:
        out.append(ctx.raw(ctx.value, "history change without history"))
        return
    metadata = ctx.metadata()
    for item in chunks:
        try:
            chunk = co.HistoryChunk.model_validate(item)
        except ValidationError as exc:
            out.append(ctx.raw(item, f"history chunk: {_why(exc)}"))
            continue
        out.append(u.HistoryUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=item,
                                   chunk=chunk, metadata=metadata))


def _state_sync(ctx: _Ctx, out: list[u.Update]) -> None:
    items = _items(ctx, "state_sync", out)
    if items is None:
        out.append(ctx.raw(ctx.value, "smb_app_state_sync change without state_sync"))
        return
    metadata = ctx.metadata()
    for item in items:
        try:
            sync = co.StateSync.model_validate(item)
        except ValidationError as exc:
            out.append(ctx.raw(item, f"state sync: {_why(exc)}"))
            continue
        out.append(u.StateSyncUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=item,
                                     item=sync, metadata=metadata))


def _value(update_cls: type[u.Update], model: type[m.WebhookModel]) -> Callable[[_Ctx, list[u.Update]], None]:
    # pydantic's validators called directly: what model_validate and the constructor run, less a layer.
    validate = model.__pydantic_validator__.validate_python
    wrap = _fast.wrapper(update_cls)

    def parse_value(ctx: _Ctx, out: list[u.Update]) -> None:
        try:
            value = validate(ctx.value)
        except ValidationError as exc:
            out.append(ctx.raw(ctx.value, f"{ctx.field}: {_why(exc)}"))
            return
        out.append(wrap({"field": ctx.field, "waba_id": ctx.waba_id, "time": ctx.time, "raw": ctx.value,
                         "value": value}))

    return parse_value


# Fields whose whole value is one event: (update class, model of the value).
_VALUE_FIELDS: dict[str, tuple[type[u.Update], type[m.WebhookModel]]] = {
    "message_template_status_update": (u.TemplateStatusUpdate, m.TemplateStatus),
    "message_template_quality_update": (u.TemplateQualityUpdate, m.TemplateQuality),
    "template_category_update": (u.TemplateCategoryUpdate, m.TemplateCategory),
    "account_update": (u.AccountUpdate, m.AccountEvent),
    "phone_number_quality_update": (u.PhoneNumberQualityUpdate, m.PhoneNumberQuality),
    "message_template_components_update": (u.TemplateComponentsUpdate, a.TemplateComponents),
    "account_alerts": (u.AccountAlertUpdate, a.AccountAlert),
    "account_review_update": (u.AccountReviewUpdate, a.AccountReview),
    "business_capability_update": (u.BusinessCapabilityUpdate, a.BusinessCapability),
    "phone_number_name_update": (u.PhoneNumberNameUpdate, a.PhoneNumberName),
    "security": (u.SecurityUpdate, a.SecurityEvent),
    "payment_configuration_update": (u.PaymentConfigurationUpdate, a.PaymentConfiguration),
    "flows": (u.FlowUpdate, a.FlowEvent),
    "partner_solutions": (u.PartnerSolutionUpdate, a.PartnerSolution),
}

_FIELDS: dict[str, Callable[[_Ctx, list[u.Update]], None]] = {
    "messages": _messages,
    "smb_message_echoes": _echoes,
    "user_preferences": _user_preferences,
    **{field: _value(update_cls, model) for field, (update_cls, model) in _VALUE_FIELDS.items()},
    "automatic_events": _automatic_events,
    "history": _history,
    "smb_app_state_sync": _state_sync,
}

# The one-pass parsers, tried first; a change they cannot take whole goes to _FIELDS.
_ONE_PASS: dict[str, _fast.OnePass] = {
    **_fast.ONE_PASS,
    **{field: _fast.value_pass(update_cls, model) for field, (update_cls, model) in _VALUE_FIELDS.items()},
}

_FIELDS.update(calls.FIELDS)
_FIELDS.update(groups.FIELDS)  # the typed group_* parsers

#: The ``changes[].field`` values parsed into typed updates.
KNOWN_FIELDS: frozenset[str] = frozenset(_FIELDS)
