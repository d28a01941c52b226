"""Feeding :mod:`wacloud.webhooks` updates to the outbox: statuses, inbound messages, marketing preferences.

The outbox's own methods take plain values (wamid, status, timestamp, code); this adapter reads them
off the typed webhook models, dispatching on the update's class.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from wacloud.delivery.limit_updates import LIMIT_UPDATES
from wacloud.delivery.model import StatusChange
from wacloud.errors import ValidationError
from wacloud.webhooks.updates import MessageUpdate, StatusUpdate, UserPreferencesUpdate

log = logging.getLogger("wacloud.delivery")


class UpdateTarget(Protocol):
    """What the adapter feeds (:class:`wacloud.delivery.Outbox`): plain-value methods only."""

    @property
    def phone_number_id(self) -> str:
        """The business number updates must belong to (inbound messages, preferences)."""
        ...

    def apply_status(self, wamid: str, status: str, timestamp: datetime | float | None = None, *,
                     error_code: int | None = None, error_title: str | None = None,
                     error_details: str | None = None) -> StatusChange:
        """Apply a status webhook to the job with ``wamid``."""
        ...

    def record_inbound(self, wa_id: str, timestamp: datetime | float | None = None) -> None:
        """A customer wrote to us."""
        ...

    def set_marketing_preference(self, wa_id: str, value: str | bool,
                                 timestamp: datetime | float | None = None) -> None:
        """Record a marketing opt-out or resume."""
        ...

    def record_pricing(self, wamid: str, pricing: dict[str, Any], wa_id: str | None = None) -> bool:
        """Store a status's ``pricing`` with the job that has ``wamid``."""
        ...

    def limit_update(self, update: object) -> bool:
        """Apply a webhook that changes a limit (template status, throughput, messaging tier)."""
        ...


def handle_update(outbox: UpdateTarget, update: object) -> bool:
    """Apply one update to ``outbox``; True when it was a status, a message or a preference it used."""
    try:
        if isinstance(update, StatusUpdate):
            return _status(outbox, update)
        if isinstance(update, MessageUpdate):
            return _inbound(outbox, update)
        if isinstance(update, UserPreferencesUpdate):
            return _preference(outbox, update)
        if isinstance(update, LIMIT_UPDATES):
            return outbox.limit_update(update)
    except ValidationError as exc:
        # A webhook we cannot use (odd number…) is logged, never raised into the receiver.
        log.warning("webhook %s not applied to the outbox: %s", type(update).__name__, exc)
    return False


def _phone_matches(outbox: UpdateTarget, update: MessageUpdate | UserPreferencesUpdate) -> bool:
    pid = update.metadata.phone_number_id if update.metadata is not None else None
    return pid is None or str(pid) == outbox.phone_number_id


def _status(outbox: UpdateTarget, update: StatusUpdate) -> bool:
    st = update.status
    code = title = details = None
    if st.errors:
        first = st.errors[0]
        code = first.code
        title = first.title or first.message
        details = first.error_data.details if first.error_data is not None else None
    change = outbox.apply_status(st.id, st.status, st.timestamp, error_code=code, error_title=title,
                                 error_details=details)
    log.debug("status %s for %s: %s", st.status, st.id, change.reason)
    if st.pricing is not None:
        outbox.record_pricing(st.id, st.pricing.model_dump(exclude_none=True), st.recipient_id)
    return True


def _inbound(outbox: UpdateTarget, update: MessageUpdate) -> bool:
    if not _phone_matches(outbox, update):
        return False
    msg = update.message
    senders = {msg.from_, update.contact.wa_id if update.contact is not None else None}
    for wa_id in sorted(s for s in senders if s):
        outbox.record_inbound(wa_id, msg.timestamp)
    return True


def _preference(outbox: UpdateTarget, update: UserPreferencesUpdate) -> bool:
    if not _phone_matches(outbox, update):
        return False
    pref = update.preference
    category = (pref.category or "marketing_messages").lower()
    if not category.startswith("marketing"):
        return False
    wa_id = pref.wa_id or (update.contact.wa_id if update.contact is not None else None)
    if not wa_id:
        return False
    outbox.set_marketing_preference(wa_id, pref.value, pref.timestamp)
    return True


__all__ = ["handle_update"]
