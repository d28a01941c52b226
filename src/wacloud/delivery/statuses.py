"""Feeding :mod:`wacloud.webhooks` updates to the outbox: statuses, inbound messages, marketing preferences,
and the customer ids each one shows (phone, BSUID, parent BSUID, username: one person's contact record).

The outbox's own methods take plain values (wamid, status, timestamp, code); this adapter reads them
off the typed webhook models, dispatching on the update's class.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

from wacloud.delivery.limit_updates import LIMIT_UPDATES
from wacloud.delivery.model import Price, StatusChange, StatusInput
from wacloud.delivery.store import Transaction
from wacloud.errors import ValidationError
from wacloud.identity import CustomerIds
from wacloud.webhooks.base import Metadata
from wacloud.webhooks.identity import UserIdentity
from wacloud.webhooks.models import SystemMessage
from wacloud.webhooks.updates import MessageEchoUpdate, MessageUpdate, StatusUpdate, UserPreferencesUpdate

log = logging.getLogger("wacloud.delivery")

T = TypeVar("T")


class UpdateTarget(Protocol):
    """What the adapter feeds (:class:`wacloud.delivery.Outbox`): plain-value methods only."""

    @property
    def phone_number_id(self) -> str:
        """The business number updates must belong to (inbound messages, preferences)."""
        ...

    def apply_status(self, wamid: str, status: str, timestamp: datetime | float | None = None, *,
                     error_code: int | None = None, error_title: str | None = None,
                     error_details: str | None = None, pricing: Mapping[str, Any] | None = None,
                     wa_id: str | None = None) -> StatusChange:
        """Apply a status webhook to the job with ``wamid`` (``pricing`` is kept with it when its job is not
        recorded yet)."""
        ...

    def record_inbound(self, wa_id: str, timestamp: datetime | float | None = None) -> None:
        """A customer wrote to us."""
        ...

    def set_marketing_preference(self, wa_id: str, value: str | bool,
                                 timestamp: datetime | float | None = None) -> None:
        """Record a marketing opt-out or resume."""
        ...

    def learn(self, ids: CustomerIds, timestamp: datetime | float | None = None) -> str | None:
        """These ids (phone, BSUID, parent BSUID, username) are one customer."""
        ...

    def change_number(self, old: str, new_wa_id: str, timestamp: datetime | float | None = None) -> str | None:
        """A customer changed phone number."""
        ...

    def identity_changed(self, ids: CustomerIds, identity_hash: str | None, timestamp: datetime | float | None = None,
                         created_at: float | None = None) -> str | None:
        """A customer's security identity changed."""
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
        if isinstance(update, MessageEchoUpdate):
            return _learn(outbox, update.metadata, update.recipient, update.message.timestamp)
        if isinstance(update, LIMIT_UPDATES):
            return outbox.limit_update(update)
    except ValidationError as exc:
        # A webhook we cannot use (odd number…) is logged, never raised into the receiver.
        log.warning("webhook %s not applied to the outbox: %s", type(update).__name__, exc)
    return False


def _phone_matches(outbox: UpdateTarget, update: MessageUpdate | UserPreferencesUpdate | StatusUpdate) -> bool:
    pid = update.metadata.phone_number_id if update.metadata is not None else None
    return pid is None or str(pid) == outbox.phone_number_id


def customer_ids(user: UserIdentity) -> CustomerIds:
    """A webhook's view of a customer as the contract the stores take."""
    return CustomerIds(wa_id=user.wa_id, bsuid=user.user_id, parent_bsuid=user.parent_user_id, username=user.username)


def _learn(outbox: UpdateTarget, metadata: Metadata | None, user: UserIdentity, ts: datetime | None) -> bool:
    """Link the ids one update shows for its customer (their contact record learns them)."""
    pid = metadata.phone_number_id if metadata is not None else None
    if pid is not None and str(pid) != outbox.phone_number_id:
        return False
    ids = customer_ids(user)
    if not (ids.wa_id or ids.bsuid or ids.parent_bsuid):
        return False
    outbox.learn(ids, ts)
    return True


def _error(update: StatusUpdate) -> tuple[int | None, str | None, str | None]:
    """A status's first error: its code, title and details (all None without one)."""
    if not update.status.errors:
        return None, None, None
    first = update.status.errors[0]
    return first.code, first.title or first.message, first.error_data.details if first.error_data else None


def _status(outbox: UpdateTarget, update: StatusUpdate) -> bool:
    item = _status_input(update)
    # Applied before the ids are learnt: the order handle_statuses keeps (its wamid's lock first).
    change = outbox.apply_status(item.wamid, item.status, item.ts, error_code=item.error_code,
                                 error_title=item.error_title, error_details=item.error_details,
                                 pricing=item.pricing, wa_id=item.wa_id)
    log.debug("status %s for %s: %s", item.status, item.wamid, change.reason)
    if _phone_matches(outbox, update):
        # Statuses carry the recipient's phone number, BSUID and (delivered/read) username together.
        _learn(outbox, update.metadata, update.recipient, update.status.timestamp)
    if item.pricing is not None and change.job is not None:  # else kept with the early status
        outbox.record_pricing(item.wamid, dict(item.pricing), item.wa_id)
    return True


def _inbound(outbox: UpdateTarget, update: MessageUpdate) -> bool:
    if not _phone_matches(outbox, update):
        return False
    msg = update.message
    sender = update.sender
    if isinstance(msg, SystemMessage) and msg.system.type == "user_changed_number" and msg.system.wa_id:
        # The person keeps their record (window, opt-out); the old number no longer names them, so the
        # sender's other ids are learnt with the new one (a redelivered notice must not bring the old back).
        outbox.change_number(msg.from_, msg.system.wa_id, msg.timestamp)
        _learn(outbox, update.metadata, dataclasses.replace(sender, wa_id=msg.system.wa_id), msg.timestamp)
        return True
    _learn(outbox, update.metadata, sender, msg.timestamp)
    if isinstance(msg, SystemMessage) and msg.system.type == "customer_identity_changed":
        # A notice about the customer (new security code), not a message from them: no window opens.
        ident = msg.identity
        created = ident.created_timestamp if ident is not None else None
        outbox.identity_changed(customer_ids(sender), ident.hash if ident is not None else None, msg.timestamp,
                                created.timestamp() if created is not None else None)
        return True
    address = sender.address or msg.from_
    if address:
        outbox.record_inbound(address, msg.timestamp)
    return True


def _preference(outbox: UpdateTarget, update: UserPreferencesUpdate) -> bool:
    if not _phone_matches(outbox, update):
        return False
    pref = update.preference
    category = (pref.category or "marketing_messages").lower()
    if not category.startswith("marketing"):
        return False
    user = update.user
    _learn(outbox, update.metadata, user, pref.timestamp)
    wa_id = user.address
    if not wa_id:
        return False
    outbox.set_marketing_preference(wa_id, pref.value, pref.timestamp)
    return True


class StatusBatchTarget(UpdateTarget, Protocol):
    """An outbox that applies a payload's statuses together (:class:`wacloud.delivery.Outbox`)."""

    def apply_statuses(self, items: Sequence[StatusInput], *, fbtrace_id: str | None = None) -> list[StatusChange]:
        """Apply each status, in order, in one store transaction."""
        ...

    def record_prices(self, prices: Sequence[Price]) -> None:
        """Store each status's ``pricing`` with its job."""
        ...


def handle_statuses(outbox: StatusBatchTarget, updates: Sequence[StatusUpdate]) -> list[StatusChange]:
    """:func:`handle_update` for a payload's statuses to one outbox, with the same effects, set-based: the
    customers' ids are learnt (known ones cost nothing), the statuses are applied in one step and their
    prices recorded in one statement. Each status's change, in order (the job as the status left it)."""
    items = [_status_input(update) for update in updates]
    # The statuses first: they lock their wamids before anything else, the order the worker's settle
    # takes them in (learning an id can move a pair bucket, which settle locks after the wamids).
    changes = outbox.apply_statuses(items)
    for update in updates:
        if _phone_matches(outbox, update):
            try:
                _learn(outbox, update.metadata, update.recipient, update.status.timestamp)
            except ValidationError as exc:  # an odd id is logged; the status still counts
                log.warning("status %s: its customer's ids not recorded: %s", update.status.id, exc)
    # A status whose job is not recorded yet kept its pricing with it: recorded when it is replayed.
    prices = [Price(i.wamid, i.pricing, i.wa_id, c.job)
              for i, c in zip(items, changes, strict=True) if i.pricing is not None and c.job is not None]
    if prices:
        outbox.record_prices(prices)
    return changes


def _status_input(update: StatusUpdate) -> StatusInput:
    """A status webhook as the store applies it."""
    st = update.status
    pricing = st.pricing.model_dump(exclude_none=True) if st.pricing is not None else None
    return StatusInput(st.id, st.status, st.timestamp.timestamp(), *_error(update), pricing=pricing,
                       wa_id=st.recipient_id)


def in_one_transaction(store: object, work: Callable[[], T]) -> T:
    """``work()`` with every call it makes to ``store`` in one transaction, when the store can batch
    (the SQL stores' ``batch``); otherwise call by call. A failure inside rolls the whole batch back."""
    batch = getattr(store, "batch", None)
    with batch() if callable(batch) else contextlib.nullcontext():
        return work()


@runtime_checkable
class JoinableStore(Protocol):
    """A store whose batch transaction also runs a caller's statements (the SQL stores): what the caller
    writes in the same database commits, or rolls back, with the store's changes."""

    def batch(self) -> AbstractContextManager[None]:
        """Every store call this thread makes inside the block in one transaction."""
        ...

    def transact(self, work: Callable[[Transaction], T]) -> T:
        """``work(tx)`` in the open batch's transaction (else in one of its own)."""
        ...


def handle_updates(outbox: UpdateTarget, updates: Sequence[object]) -> list[bool]:
    """:func:`handle_update` for each of ``updates`` in order, in one store transaction when the outbox's
    store can batch: a payload's statuses cost one commit. Raises when any of them fails (nothing of
    the batch is then written: apply them one at a time with :func:`handle_update`)."""
    # The outbox's own ``handle`` when it has one (an override, or a wrapper, sees every update).
    handle: Callable[[object], bool] = getattr(outbox, "handle", None) or (lambda u: handle_update(outbox, u))
    return in_one_transaction(getattr(outbox, "store", None), lambda: [handle(update) for update in updates])


__all__ = [
    "JoinableStore", "StatusBatchTarget", "handle_statuses", "handle_update", "handle_updates", "in_one_transaction",
]
