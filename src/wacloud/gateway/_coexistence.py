"""Coexistence in the gateway: a number also used in the WhatsApp Business app.

- ``history`` chunks are imported into the conversation log at their own times, WITHOUT opening the
  24-hour window (they never reach the outbox: past chats say nothing about the window now);
- ``smb_message_echoes`` are logged as outgoing messages sent from the app (no outbox job);
- ``smb_app_state_sync`` contacts are recorded with their names (gateway table ``wacloud_gw_app_contacts``);
- a customer's ``edit`` and ``revoke`` rewrite the logged message they refer to;
- the number is paced at 20 msg/s (:func:`wacloud.limits.number_mps`) when it is flagged as coexistence:
  ``WACLOUD_COEXISTENCE=true``, or (``auto``, the default) when the Graph field ``is_on_biz_app`` says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from typing import Any

from wacloud import errors
from wacloud.gateway._db import Database
from wacloud.gateway._history import History, storable
from wacloud.gateway._runtime import Gateway
from wacloud.limits import number_mps
from wacloud.webhooks import MessageEchoUpdate, MessageUpdate, Update
from wacloud.webhooks.coexistence import StateSync
from wacloud.webhooks.models import EditMessage, RevokeMessage
from wacloud.webhooks.updates import HistoryUpdate, StateSyncUpdate

log = logging.getLogger("wacloud.gateway.coexistence")

#: The environment setting: ``auto`` (ask Graph's ``is_on_biz_app``), ``true`` or ``false``.
COEXISTENCE_ENV = "WACLOUD_COEXISTENCE"
#: How long the start waits for Graph's answer on ``is_on_biz_app``.
LOOKUP_TIMEOUT_S = 5.0
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class AppContacts:
    """The Business app's contact book as ``smb_app_state_sync`` reports it (one row per phone number)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.execute("""CREATE TABLE IF NOT EXISTS wacloud_gw_app_contacts (
            phone_number TEXT PRIMARY KEY, full_name TEXT, first_name TEXT, action TEXT NOT NULL,
            ts DOUBLE PRECISION NOT NULL)""")

    def record(self, item: StateSync, ts: float) -> None:
        """Apply one contact change: ``add`` keeps the names given, ``remove`` marks the contact removed."""
        contact = item.contact
        if contact is None or not contact.phone_number:
            return
        full = None if contact.full_name is None else storable(contact.full_name)
        first = None if contact.first_name is None else storable(contact.first_name)
        self.db.execute(
            "INSERT INTO wacloud_gw_app_contacts (phone_number, full_name, first_name, action, ts) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (phone_number) DO UPDATE SET "
            "full_name = COALESCE(excluded.full_name, wacloud_gw_app_contacts.full_name), "
            "first_name = COALESCE(excluded.first_name, wacloud_gw_app_contacts.first_name), "
            "action = excluded.action, ts = excluded.ts",
            (storable(contact.phone_number), full, first, storable(item.action or "add"), ts),
        )

    def list(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The contacts, most recently changed first."""
        rows = self.db.execute(
            "SELECT phone_number, full_name, first_name, action, ts FROM wacloud_gw_app_contacts "
            "ORDER BY ts DESC, phone_number LIMIT ?",
            (limit,),
        )
        return [{"phone_number": p, "full_name": f, "first_name": n, "removed": a == "remove", "ts": float(t)}
                for p, f, n, a, t in rows]


class CoexistenceLog:
    """Applies the coexistence webhooks to the conversation log and the app's contact book."""

    def __init__(self, history: History, contacts: AppContacts) -> None:
        self.history = history
        self.contacts = contacts

    def apply(self, update: Update) -> bool:
        """Handle ``update`` when it is a coexistence one; True when it was (the caller logs nothing more)."""
        if isinstance(update, HistoryUpdate):
            self._history(update)
            return True
        if isinstance(update, MessageEchoUpdate):
            self._echo(update)
            return True
        if isinstance(update, StateSyncUpdate):
            ts = update.item.metadata.timestamp if update.item.metadata is not None else None
            self.contacts.record(update.item, ts.timestamp() if ts is not None else update_time(update))
            return True
        if isinstance(update, MessageUpdate) and isinstance(update.message, EditMessage | RevokeMessage):
            return self._change(update)
        return False

    def _history(self, update: HistoryUpdate) -> None:
        chunk = update.chunk
        if chunk.errors:
            first = chunk.errors[0]
            log.warning("history not shared: %s (%s)", first.title or first.message, first.code)
            return
        for thread in chunk.threads:
            if not thread.id:
                continue
            for raw in thread.messages:
                wamid, ts = raw.get("id"), _seconds(raw.get("timestamp"))
                if not isinstance(wamid, str) or ts is None:
                    continue  # a message without an id or time cannot be placed in the log
                outgoing = raw.get("from") != thread.id
                context = raw.get("history_context")
                status = context.get("status") if isinstance(context, dict) else None
                self.history.record_app_message(
                    thread.id, wamid, {**raw, "origin": "history"}, direction="out" if outgoing else "in", ts=ts,
                    status=str(status).lower() if outgoing and status else None,
                )

    def _echo(self, update: MessageEchoUpdate) -> None:
        msg = update.message
        to = msg.to or (update.contact.wa_id if update.contact is not None else None)
        if not to:
            log.warning("message echo %s without a recipient: not logged", msg.id)
            return
        raw = update.raw if isinstance(update.raw, dict) else {"type": msg.type}
        self.history.record_app_message(to, msg.id, {**raw, "origin": "business_app"}, direction="out",
                                        ts=msg.timestamp.timestamp(), status="sent")

    def _change(self, update: MessageUpdate) -> bool:
        msg = update.message
        at = msg.timestamp.timestamp()
        if isinstance(msg, EditMessage):
            original, content = msg.edit.original_message_id, dict(msg.edit.message)

            def edited(body: dict[str, Any] | None) -> dict[str, Any]:
                """The old body with the new content, and when it was edited."""
                old = dict(body or {})
                old.pop(str(old.get("type")), None)
                return {**old, **content, "edited": {"at": at, "edit_id": msg.id}}

            return bool(original) and self.history.amend_message(str(original), edited, "edited")
        assert isinstance(msg, RevokeMessage)
        original = msg.revoke.original_message_id

        def revoked(body: dict[str, Any] | None) -> dict[str, Any]:
            """The body without its content: the customer deleted it."""
            old = dict(body or {})
            old.pop(str(old.get("type")), None)
            return {**old, "revoked": {"at": at, "revoke_id": msg.id}}

        return bool(original) and self.history.amend_message(str(original), revoked, "revoked")


def update_time(update: Update) -> float:
    """The update's ``entry.time`` in seconds, else now."""
    return update.time.timestamp() if update.time is not None else time.time()


def _seconds(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- pacing ---------------------------------------------------------------------------------------


def coexistence_setting() -> bool | None:
    """``WACLOUD_COEXISTENCE``: True/False when set so, None for ``auto`` (ask Graph)."""
    value = os.environ.get(COEXISTENCE_ENV, "auto").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value not in ("", "auto"):
        log.warning("%s=%r is not true, false or auto: asking Graph", COEXISTENCE_ENV, value)
    return None


async def apply_coexistence_pacing(gw: Gateway) -> bool:
    """Pace the outbox at 20 msg/s when the number is a coexistence one; True when it is.

    A failed Graph lookup is logged and leaves the configured rate (the gateway still starts).
    """
    shared = coexistence_setting()
    if shared is None:
        shared = False
        if gw.client is not None:
            try:
                # Bounded: an unreachable Graph must not hold the gateway's start for the client's timeout.
                phone = await asyncio.wait_for(gw.client.get_phone_number(fields=["is_on_biz_app"]), LOOKUP_TIMEOUT_S)
                shared = (phone.model_extra or {}).get("is_on_biz_app") is True
            except (errors.WacloudError, TimeoutError) as exc:
                log.warning("could not ask Graph whether the number is shared with the Business app (set %s): %r",
                            COEXISTENCE_ENV, exc)
    outbox = gw.outbox
    if outbox is not None and shared:
        mps = number_mps(outbox.pacing.mps, coexistence=True)
        if mps != outbox.pacing.mps:
            outbox.pacing = dataclasses.replace(outbox.pacing, mps=mps)
            log.info("coexistence number: paced at %s msg/s", mps)
    return shared
