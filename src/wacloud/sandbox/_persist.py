"""Saving and restoring the sandbox's state, so an embedded sandbox survives a restart of its host.

The sandbox knows nothing about where state is kept: :func:`snapshot` turns the state into records
(name → JSON text) and :func:`restore` reads them back. :class:`Snapshotter` hands out only the records
that changed since the last successful save, so a host (the gateway keeps them in its own database)
writes little on each round. Media files are records of their own (``media/<id>``), written once.

Kept: the clock, customers (their windows), templates (with pacing), media, the business profile,
registrations and QR codes, flows, subscribed apps, the id counters, and the most recent messages
(so reactions, replies and read receipts to them still work). Not kept: the configuration (the host
sets it at each start), logs and counters, pending webhooks, unfinished uploads.
"""

from __future__ import annotations

import base64
import json
import operator
from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from wacloud.sandbox._model import (
    Customer,
    FlowRecord,
    InboundMessage,
    Media,
    OutboundMessage,
    Template,
    TemplatePacing,
)
from wacloud.sandbox._state import management_state
from wacloud.sandbox._templates import schedule_review

if TYPE_CHECKING:
    from wacloud.sandbox._state import SandboxState

FORMAT = 1
CORE = "core"
MEDIA_PREFIX = "media/"
#: Messages kept per direction: enough for any conversation still going on, bounded under load.
MESSAGES_KEPT = 1_000


#: Customers are rows (one list per customer) under these column names: thousands of them are cheap to save.
_CUSTOMER_COLUMNS = tuple(f.name for f in fields(Customer))
_customer_row = operator.attrgetter(*_CUSTOMER_COLUMNS)


class SnapshotError(ValueError):
    """Saved records that cannot be restored (another format, or damaged)."""


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode()


def _unb64(text: Any) -> bytes | None:
    return None if text is None else base64.b64decode(str(text), validate=True)


def _core(state: SandboxState) -> dict[str, Any]:
    templates = []
    for tpl in state.templates.values():
        item = _plain(tpl)
        item["pacing"] = {**_plain(tpl.pacing), "held": [[w, list(f) if f else None] for w, f in tpl.pacing.held]}
        templates.append(item)
    sent = list(state.messages.values())[-MESSAGES_KEPT:]
    inbound = list(state.inbound.values())[-MESSAGES_KEPT:]
    out: dict[str, Any] = {
        "format": FORMAT,
        "clock": state.clock.position(),
        "ids": state.ids.position(),
        "customer_columns": list(_CUSTOMER_COLUMNS),
        "customers": [_customer_row(c) for c in state.customers.values()],
        "templates": templates,
        "messages": [{**_plain(m), "version": list(m.version)} for m in sent],
        "inbound": [_plain(m) for m in inbound],
        "management": _management(state),
    }
    return out


def _management(state: SandboxState) -> dict[str, Any] | None:
    mgmt = state.management
    if mgmt is None:
        return None
    phones = {
        pid: {
            "registered": p.registered,
            "verified": p.verified,
            "pin": p.pin,
            "profile": p.profile,
            "qr_codes": p.qr_codes,
            "webhook_override": p.webhook_override,
        }
        for pid, p in mgmt.phones.items()
    }
    flows = [{**_plain(f), "flow_json": _b64(f.flow_json)} for f in mgmt.flows.values()]
    return {
        "phones": phones,
        "flows": flows,
        "subscribed": mgmt.subscribed,
        "unsubscribed_webhook_url": mgmt.unsubscribed_webhook_url,
        "calls_per_hour": mgmt.calls_per_hour,
    }


def _media_record(media: Media) -> str:
    return json.dumps({**_plain(media), "data": _b64(media.data)}, separators=(",", ":"))


def snapshot(state: SandboxState) -> dict[str, str]:
    """The state as records: ``core`` (JSON of everything but media) and one ``media/<id>`` per file."""
    records = {CORE: json.dumps(_core(state), separators=(",", ":"))}
    for media_id, media in state.media.items():
        records[MEDIA_PREFIX + media_id] = _media_record(media)
    return records


def restore(state: SandboxState, records: Mapping[str, str]) -> None:
    """Put saved records back into ``state`` (a fresh one); :class:`SnapshotError` if they can't be read.

    Nothing is changed unless every record reads."""
    if CORE not in records:
        return
    try:
        core = json.loads(records[CORE])
        if not isinstance(core, dict) or core.get("format") != FORMAT:
            raise SnapshotError(f"saved sandbox state has format {core.get('format')!r}, not {FORMAT}")
        columns = core["customer_columns"]
        customers = {}
        for row in core["customers"]:
            customer = Customer(**dict(zip(columns, row, strict=True)))
            customers[customer.wa_id] = customer
        templates = {}
        for item in core["templates"]:
            pacing = dict(item.pop("pacing"))
            pacing["held"] = [(w, tuple(f) if f else None) for w, f in pacing.get("held", [])]
            tpl = Template(**item, pacing=TemplatePacing(**pacing))
            templates[tpl.id] = tpl
        messages = {}
        for item in core["messages"]:
            msg = OutboundMessage(**{**item, "version": tuple(item["version"])})
            messages[msg.id] = msg
        inbound = {m["id"]: InboundMessage(**m) for m in core["inbound"]}
        media = {}
        for name, text in records.items():
            if name.startswith(MEDIA_PREFIX):
                item = json.loads(text)
                media[item["id"]] = Media(**{**item, "data": _unb64(item["data"])})
    except SnapshotError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SnapshotError(f"saved sandbox state cannot be read: {type(exc).__name__}: {exc}") from None
    state.clock.resume(core["clock"])
    state.ids.resume(core["ids"])
    state.customers = customers
    state.templates = templates
    state.messages = messages
    state.by_customer = {}
    for msg in messages.values():
        state.by_customer.setdefault(msg.wa_id, []).append(msg.id)
    state.inbound = inbound
    state.media = media
    if core.get("management") is not None:
        _restore_management(state, core["management"])
    for tpl in templates.values():
        schedule_review(state, tpl)  # a template still PENDING gets its review again


def _restore_management(state: SandboxState, data: dict[str, Any]) -> None:
    mgmt = management_state(state)
    for pid, saved in data.get("phones", {}).items():
        phone = mgmt.phones.get(pid)
        if phone is None:  # a number no longer configured
            continue
        for key in ("registered", "verified", "pin", "profile", "qr_codes", "webhook_override"):
            if key in saved:
                setattr(phone, key, saved[key])
    mgmt.flows = {}
    for item in data.get("flows", []):
        flow = FlowRecord(**{**item, "flow_json": _unb64(item.get("flow_json"))})
        mgmt.flows[flow.id] = flow
    if isinstance(data.get("subscribed"), list):
        mgmt.subscribed = data["subscribed"]
    mgmt.unsubscribed_webhook_url = data.get("unsubscribed_webhook_url")
    mgmt.calls_per_hour = data.get("calls_per_hour")


class Snapshotter:
    """The records that changed since the last save: ``changes()``, then ``saved()`` once written."""

    def __init__(self, state: SandboxState, saved: Mapping[str, str] | None = None) -> None:
        self.state = state
        #: What the store holds now: the core record's text, and the media ids.
        self._core: str | None = (saved or {}).get(CORE)
        self._media: set[str] = {k for k in (saved or {}) if k.startswith(MEDIA_PREFIX)}

    def changes(self) -> tuple[dict[str, str], list[str]]:
        """Records to write (name → JSON text) and names to delete; empty when nothing changed.

        Media files never change once stored, so only new ones are encoded."""
        state = self.state
        upserts: dict[str, str] = {}
        core = json.dumps(_core(state), separators=(",", ":"))
        if core != self._core:
            upserts[CORE] = core
        current = {MEDIA_PREFIX + media_id for media_id in state.media}
        for name in sorted(current - self._media):
            upserts[name] = _media_record(state.media[name[len(MEDIA_PREFIX) :]])
        deletes = sorted(self._media - current)
        return upserts, deletes

    def saved(self, upserts: Mapping[str, str], deletes: list[str]) -> None:
        """Note that ``upserts`` and ``deletes`` (from :meth:`changes`) are now in the store."""
        if CORE in upserts:
            self._core = upserts[CORE]
        self._media |= {name for name in upserts if name.startswith(MEDIA_PREFIX)}
        self._media -= set(deletes)
