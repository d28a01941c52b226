"""Feeding :mod:`wacloud.webhooks` updates to the outbox: statuses, inbound messages, marketing preferences.

The outbox's own methods take plain values (wamid, status, timestamp, code); this adapter reads them
off the webhook models by attribute, so it keeps working if a model grows fields.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from wacloud.errors import ValidationError

if TYPE_CHECKING:
    from wacloud.delivery.outbox import Outbox

log = logging.getLogger("wacloud.delivery")


def handle_update(outbox: Outbox, update: Any) -> bool:
    """Apply one update to ``outbox``; True when it was a status, a message or a preference it used."""
    kind = type(update).__name__
    try:
        if kind == "StatusUpdate":
            return _status(outbox, update)
        if kind == "MessageUpdate":
            return _inbound(outbox, update)
        if kind == "UserPreferencesUpdate":
            return _preference(outbox, update)
    except ValidationError as exc:
        # A webhook we cannot use (odd number…) is logged, never raised into the receiver.
        log.warning("webhook %s not applied to the outbox: %s", kind, exc)
    return False


def _phone_matches(outbox: Outbox, update: Any) -> bool:
    meta = getattr(update, "metadata", None)
    pid = getattr(meta, "phone_number_id", None)
    return pid is None or str(pid) == outbox.phone_number_id


def _status(outbox: Outbox, update: Any) -> bool:
    st = update.status
    code = title = details = None
    errs = getattr(st, "errors", None) or []
    if errs:
        first = errs[0]
        code = getattr(first, "code", None)
        title = getattr(first, "title", None) or getattr(first, "message", None)
        data = getattr(first, "error_data", None)
        details = getattr(data, "details", None) if data is not None else None
    change = outbox.apply_status(st.id, st.status, getattr(st, "timestamp", None), error_code=code,
                                 error_title=title, error_details=details)
    log.debug("status %s for %s: %s", st.status, st.id, change.reason)
    return True


def _inbound(outbox: Outbox, update: Any) -> bool:
    if not _phone_matches(outbox, update):
        return False
    msg = update.message
    ts = getattr(msg, "timestamp", None)
    senders = {getattr(msg, "from_", None)}
    contact = getattr(update, "contact", None)
    senders.add(getattr(contact, "wa_id", None) if contact is not None else None)
    for wa_id in sorted(s for s in senders if s):
        outbox.record_inbound(wa_id, ts)
    return True


def _preference(outbox: Outbox, update: Any) -> bool:
    if not _phone_matches(outbox, update):
        return False
    pref = update.preference
    category = (getattr(pref, "category", None) or "marketing_messages").lower()
    if not category.startswith("marketing"):
        return False
    contact = getattr(update, "contact", None)
    wa_id = getattr(pref, "wa_id", None) or (getattr(contact, "wa_id", None) if contact is not None else None)
    if not wa_id:
        return False
    outbox.set_marketing_preference(wa_id, pref.value, getattr(pref, "timestamp", None))
    return True
