"""The gateway's ``/webhook``: Meta's updates go to the outbox, the conversation log and the user's bot.

One :class:`~wacloud.webhooks.WebhookReceiver` checks signatures and sizes, writes each payload to the
durable store before answering 200 (when the store is an inbox), and suppresses duplicates across
processes (when it is a dedup store). Every new update is then handed, in order, to:

1. the outbox (statuses move jobs forward, ``failed`` applies the retry policy, inbound messages open
   the 24-hour window, ``user_preferences`` record opt-outs; every update's customer ids — phone,
   BSUID, parent BSUID, username — are linked to one contact);
2. the conversation log;
3. the bot ``Application`` given to ``wacloud serve --app module:attr`` (bound to the gateway's client;
   its replies are queued in the outbox's priority lane unless it asked for ``replies="direct"``).

Each update goes to the number it names (``metadata.phone_number_id``; a ``phone_number_quality_update`` by
its display number): that number's outbox, conversations and bot replies. An update for a number this
gateway does not serve is kept apart (``GET /v1/webhooks/unrouted``, a metric, a log warning) and goes no
further.

Steps 1 and 2 are the system: when one fails (the database is down), the exception goes back to the
receiver, which keeps the payload pending and retries it with backoff (then dead-letters it after its
last attempt); the bot is not run for an update the system has not recorded. Step 3 is user code: a
bot that raises is logged with the update id and the update counts as handled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from wacloud.bot import Application
from wacloud.delivery import Job, Outbox
from wacloud.delivery.model import PENDING_STATES, StatusChange
from wacloud.delivery.sqlite import SqliteStore
from wacloud.delivery.statuses import JoinableStore, handle_statuses, in_one_transaction
from wacloud.delivery.store import Transaction
from wacloud.events.log import NewEvent, append
from wacloud.gateway._calls import call_engine
from wacloud.gateway._coexistence import AppContacts, CoexistenceLog
from wacloud.gateway._event_updates import account_event, call_event, group_event, inbound_event, status_event
from wacloud.gateway._history import StatusRecord
from wacloud.gateway._media_keeper import keep_media
from wacloud.gateway._numbers import NumberLane
from wacloud.gateway._routed_replies import RoutedReplies
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._webhook_store import WebhookSqliteStore
from wacloud.webhooks import (
    DedupStore,
    InboxStore,
    MessageUpdate,
    PhoneNumberQualityUpdate,
    StatusUpdate,
    Update,
    WebhookApp,
    WebhookReceiver,
)
from wacloud.webhooks.offload import Lane

log = logging.getLogger("wacloud.gateway.webhook")

#: Statuses per transaction when a burst of them is applied together. A transaction holds the SQLite file;
#: the delivery worker's claims and sends wait behind at most one such chunk (a sent job late by more than
#: the worker's lag bound loses its slot), and 32 statuses take a few milliseconds.
STATUS_CHUNK = 32

#: The ``phone_number_quality_update`` event after which a number sends at Meta's upgraded rate.
THROUGHPUT_UPGRADE = "THROUGHPUT_UPGRADE"
#: Routing answers: the update is for no number in particular (account, templates), or for none served.
_ANY = "any"
_NOT_SERVED = "not served"


def route(gw: Gateway, update: Update) -> NumberLane | str:
    """The lane an update belongs to, ``"any"`` (not a number's: templates, account) or ``"not served"``."""
    metadata = getattr(update, "metadata", None)
    pid = getattr(metadata, "phone_number_id", None) if metadata is not None else None
    if pid:
        return gw.lane(str(pid)) or _NOT_SERVED
    if isinstance(update, PhoneNumberQualityUpdate):
        shown = update.value.display_phone_number
        lane = gw.numbers.by_display(shown)
        if lane is None and not shown:
            # No display number: the WABA's only number, if this gateway serves exactly one in it.
            in_waba = [n for n in gw.numbers if n.spec.waba_id and n.spec.waba_id == update.waba_id]
            lane = in_waba[0] if len(in_waba) == 1 else None
        return lane or _NOT_SERVED
    return _ANY


class GatewayDispatcher:
    """The receiver's dispatcher: outbox, then conversation log, then bot."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        #: History imports, app echoes and contacts, edits and revokes (coexistence numbers).
        self.coexistence = CoexistenceLog(gw.history, AppContacts(gw.db))
        #: A payload's statuses are applied together with those of payloads that arrive meanwhile (Meta,
        #: like the sandbox, posts several at once): one thread hand-off and one transaction per store
        #: for all of them, instead of one each.
        self._status_lane = Lane("wacloud-statuses")

    async def dispatch(self, update: Update) -> None:
        """Handle one update in the event loop: outbox and log (errors propagate), then the bot."""
        lane = route(self.gw, update) if len(self.gw.numbers) else _ANY
        if lane == _NOT_SERVED:
            await call_engine(self._keep_apart, update)
            return
        outbox = lane.outbox if isinstance(lane, NumberLane) else self.gw.outbox
        if outbox is not None:
            # The outbox rides out a short outage itself; a longer one propagates (the receiver retries).
            await call_engine(outbox.handle, update)
        await call_engine(self._log, update)
        if isinstance(lane, NumberLane):
            await call_engine(self._log_number, lane, update)
        await keep_media(self.gw.media_keeper, update)  # queues a download; never raises
        if isinstance(update, MessageUpdate):
            await call_engine(self._stop_word, update)
        bot = self.gw.bot
        if bot is None:
            return
        handover = self.gw.handover
        sender = update.message.from_ if isinstance(update, MessageUpdate) else None
        if sender and handover is not None and await call_engine(handover.holder, sender):
            return  # a person has this conversation: the bot stays out of it
        try:
            if isinstance(bot, Application) and bot.replies is None and self.gw.outbox is not None:
                # Replies go through the outbox (paced, durable, retried) unless the app chose direct mode;
                # each from the number the customer wrote to.
                bot.replies = RoutedReplies(self.gw.outbox, self.gw.numbers, on_queued=self._log_reply)
            await bot.dispatch(update)
        except Exception:
            # User code: logged, and the update counts as handled (no retry loop on a buggy bot).
            log.exception("bot failed on update %s", update.update_id)

    async def dispatch_batch(self, updates: Sequence[Update]) -> list[bool | Exception | None]:
        """A payload's statuses together: the outbox in one transaction, then the log in one (a status
        per transaction serialised with the worker's claims on the same database). The rest (and every
        update while a bot runs: its replies keep their one-update crash window) goes one at a time."""
        out: list[bool | Exception | None] = [None] * len(updates)
        if self.gw.bot is not None:
            return out
        picked: list[tuple[int, StatusUpdate, NumberLane | str]] = []
        for n, update in enumerate(updates):
            if isinstance(update, StatusUpdate):
                lane = route(self.gw, update) if len(self.gw.numbers) else _ANY
                if lane != _NOT_SERVED:
                    picked.append((n, update, lane))
        if len(picked) < 2:
            return out
        try:
            await self._status_lane.run_batched(self._statuses_together, [(update, lane) for _, update, lane in picked])
        except Exception:
            # One at a time instead (each step is safe to repeat: statuses only move forward).
            log.warning("a batch of %d statuses failed; applying them one at a time", len(picked), exc_info=True)
            return out
        for n, _, _ in picked:
            out[n] = True
        return out

    def dispatch_batch_sync(self, updates: Sequence[Update]) -> list[bool | Exception | None]:  # pragma: no cover
        """Not used: the gateway serves ASGI."""
        raise RuntimeError("the gateway dispatches in its event loop")

    def _statuses_together(self, payloads: list[list[tuple[StatusUpdate, NumberLane | str]]]) -> list[None]:
        """:meth:`_statuses` for the statuses of several payloads at once (a failure fails them all: each
        payload then applies its statuses one at a time)."""
        self._statuses([item for payload in payloads for item in payload])
        return [None] * len(payloads)

    def _statuses(self, items: list[tuple[StatusUpdate, NumberLane | str]]) -> None:
        """Apply statuses in chunks of :data:`STATUS_CHUNK`: the file's other writers (the worker's claims
        and sends first) wait behind one chunk's transactions, not behind a whole burst's."""
        for start in range(0, len(items), STATUS_CHUNK):
            self._status_chunk(items[start:start + STATUS_CHUNK])

    def _status_chunk(self, items: list[tuple[StatusUpdate, NumberLane | str]]) -> None:
        """Apply statuses to their outboxes and log them: in one transaction when every outbox (and the
        contact lookup) uses one store that takes the log's statements (the gateway's database), else one
        per outbox and one for the log."""
        groups: dict[int, tuple[Outbox, list[StatusUpdate]]] = {}
        for update, lane in items:
            outbox = lane.outbox if isinstance(lane, NumberLane) else self.gw.outbox
            if outbox is not None:
                groups.setdefault(id(outbox), (outbox, []))[1].append(update)
        for _, group in groups.values():
            # By wamid (stable: one wamid's statuses keep their order), the order the worker's settle
            # locks wamids in (PostgreSQL), so the two never wait on each other in opposite orders.
            group.sort(key=lambda u: u.status.id)
        store = self._one_store([outbox for outbox, _ in groups.values()])
        if store is None:
            self._status_chunk_apart(items, groups)
            return
        jobs: dict[str, Job | None] = {}
        # One commit instead of two, and the log's rows read once: which statuses need a new row (keyed by
        # the contact, looked up in this same transaction) is seen by the write itself. The history lock
        # first, as a lone status's log write takes it: in this process the two never interleave.
        try:
            with self.gw.history.writing(), store.batch():
                for outbox, group in groups.values():
                    changes = handle_statuses(outbox, group)
                    jobs.update((u.status.id, c.job) for u, c in zip(group, changes, strict=True))  # the last change
                store.transact(lambda tx: self._log_statuses_in(tx, items, jobs))
        except BaseException:
            # The customers' ids the chunk learnt rolled back with it: learnt again when next seen.
            for outbox, _ in groups.values():
                outbox.forget_learned()
            raise
        for update, _ in items:
            self._count(update)

    def _one_store(self, outboxes: list[Outbox]) -> JoinableStore | None:
        """The one store of these outboxes and of the contact lookup (``gw.outbox``'s), when it runs the
        log's statements in its transaction; None otherwise."""
        stores = {id(o.store): o.store for o in outboxes}
        if self.gw.outbox is not None:
            stores[id(self.gw.outbox.store)] = self.gw.outbox.store
        store = next(iter(stores.values())) if len(stores) == 1 else None
        return store if isinstance(store, JoinableStore) else None

    def _log_statuses_in(self, tx: Transaction, items: list[tuple[StatusUpdate, NumberLane | str]],
                         jobs: dict[str, Job | None]) -> None:
        """The chunk's log rows, events and number contacts, in the outbox's open transaction."""
        records: list[StatusRecord] = []
        orphans: list[NewEvent] = []
        for update, _ in items:
            record, event = self._record_or_event(update, jobs.get(update.status.id))
            if record is not None:
                records.append(record)
            else:
                orphans.append(event)
        if orphans:
            append(tx, orphans)
        self.gw.history.record_statuses_in(tx, records)
        self.gw.number_log.touch_each_in(tx, _touches(items))

    def _status_chunk_apart(self, items: list[tuple[StatusUpdate, NumberLane | str]],
                            groups: dict[int, tuple[Outbox, list[StatusUpdate]]]) -> None:
        """Apply statuses to their outboxes (one transaction each), then log them (one transaction)."""
        jobs: dict[str, Job | None] = {}
        for outbox, group in groups.values():
            def work(outbox: Outbox = outbox, group: list[StatusUpdate] = group) -> list[StatusChange]:
                return handle_statuses(outbox, group)

            try:
                changes = in_one_transaction(outbox.store, work)
            except BaseException:
                outbox.forget_learned()  # what it learnt rolled back with it
                raise
            jobs.update((u.status.id, c.job) for u, c in zip(group, changes, strict=True))  # the last change
        # Only a status the log has no row for (by wamid or job) makes a row keyed by its contact: resolve
        # those only, between the two transactions (a lookup in one store while holding the other's lock
        # could wait on a writer that waits on us).
        new = self.gw.history.unlogged([(u.status.id, _job_id(jobs.get(u.status.id))) for u, _ in items])
        contacts: dict[str, str | None] = {}
        resolve = self.gw.history.resolve
        for update, _ in items:
            address = update.status.recipient_id or update.recipient.address
            if address and address not in contacts and update.status.id in new and resolve is not None:
                contacts[address] = resolve(address)
        with self.gw.history.batch(contacts):
            records = [self._status_record(u, jobs.get(u.status.id)) for u, _ in items]
            self.gw.history.record_statuses([r for r in records if r is not None])
            self.gw.number_log.touch_each(_touches(items))

    def _stop_word(self, update: MessageUpdate) -> None:
        """A message that is just an opt-out keyword ("STOP") records a marketing opt-out."""
        words, outbox = self.gw.stop_words, self.gw.outbox
        sender = update.message.from_
        if words is None or outbox is None or not sender:
            return
        language = words.match(update.text)
        if language is not None:
            outbox.set_marketing_preference(sender, "stop", update.message.timestamp)
            log.info("opt-out keyword", extra={"language": language})

    def _log_reply(self, job: Job) -> None:
        """A bot reply queued in the outbox goes in the conversation log like an API send."""
        self.gw.history.record_outbound(job.to, job.id, dict(job.body))
        self.gw.number_log.touch(job.phone_number_id, job.to)

    def _keep_apart(self, update: Update) -> None:
        """Store an update for a number this gateway does not serve; count it; warn once per update."""
        metadata = getattr(update, "metadata", None)
        pid = getattr(metadata, "phone_number_id", None)
        shown = getattr(metadata, "display_phone_number", None)
        if isinstance(update, PhoneNumberQualityUpdate):
            shown = update.value.display_phone_number
        key = update.dedup_key or None
        new = self.gw.number_log.keep_unrouted(
            phone_number_id=pid, display_phone_number=shown, waba_id=update.waba_id, field=update.field,
            kind=type(update).__name__, key=f"{pid}:{key}" if key else None,
            body=update.raw if update.raw is not None else update.model_dump(mode="json"))
        if new:
            self.gw.metrics.unrouted.labels(phone_number_id=str(pid or shown or "")).inc()
            log.warning("webhook for number %s (%s), which this gateway does not serve: kept apart "
                        "(GET /v1/webhooks/unrouted)", pid or "?", shown or "no display number",
                        extra={"phone_number_id": pid, "update": type(update).__name__})

    def _log_number(self, lane: NumberLane, update: Update) -> None:
        """The number's own record: the customer's conversation with it, its quality and rate."""
        pid = lane.phone_number_id
        if isinstance(update, MessageUpdate) and update.message.from_:
            msg = update.message
            self.gw.number_log.touch(pid, msg.from_, msg.timestamp.timestamp(), wamid=msg.id)
        elif isinstance(update, StatusUpdate):
            st = update.status
            if st.recipient_id:
                self.gw.number_log.touch(pid, st.recipient_id, st.timestamp.timestamp(), wamid=st.id)
        elif isinstance(update, PhoneNumberQualityUpdate):
            event = update.value.event.upper()
            lane.quality_event = event
            if event == THROUGHPUT_UPGRADE:
                lane.set_level("HIGH")

    def dispatch_sync(self, update: Update) -> None:  # pragma: no cover - the gateway is ASGI only
        """Not used: the gateway serves ASGI."""
        raise RuntimeError("the gateway dispatches in its event loop")

    def _number(self, update: Update) -> str:
        """The business number an update is for (its metadata's; the first number's when it names none)."""
        metadata = getattr(update, "metadata", None)
        pid = getattr(metadata, "phone_number_id", None) if metadata is not None else None
        return str(pid) if pid else self.gw.creds.phone_number_id

    def _log(self, update: Update) -> None:
        if self.coexistence.apply(update):
            return
        history = self.gw.history
        if isinstance(update, MessageUpdate):
            msg = update.message
            contact = update.contact
            name = contact.profile.name if contact is not None and contact.profile is not None else None
            raw = update.raw if isinstance(update.raw, dict) else {"type": msg.type}
            history.record_inbound(msg.from_, msg.id, raw, name=name, ts=msg.timestamp.timestamp(),
                                   event=inbound_event(update, self._number(update)))
        elif isinstance(update, StatusUpdate):
            self._log_status(update, job_for_wamid(self.gw, update.status.id))
        else:
            number = self._number(update)
            changed = account_event(update) or call_event(update, number) or group_event(update, number)
            if changed is not None:
                self.gw.db.run(lambda tx: append(tx, [changed]))

    def _log_status(self, update: StatusUpdate, job: Job | None) -> None:
        """A status in the conversation log (``job``: the outbox job that sent it, when known)."""
        record = self._status_record(update, job)
        if record is not None:
            self.gw.history.record_status(record.wa_id, record.wamid, record.status, job_id=record.job_id,
                                          ts=record.ts, sent=record.sent, event=record.event)

    def _status_record(self, update: StatusUpdate, job: Job | None) -> StatusRecord | None:
        """What the log records of a status (None: no recipient to key it by: only its event is appended)."""
        self._count(update)
        record, event = self._record_or_event(update, job)
        if record is None:
            self.gw.db.run(lambda tx: append(tx, [event]))
        return record

    def _count(self, update: StatusUpdate) -> None:
        """The status in the sends metric (failed by code, delivered, read)."""
        st = update.status
        if st.status == "failed":
            code = st.errors[0].code if st.errors else 0
            self.gw.metrics.sends.labels(outcome="failed", code=str(code)).inc()
        elif st.status in ("delivered", "read"):
            self.gw.metrics.sends.labels(outcome=st.status, code="0").inc()

    def _record_or_event(self, update: StatusUpdate, job: Job | None) -> tuple[StatusRecord | None, NewEvent]:
        """The log's record of a status with its ``message.status`` event, or (no recipient to key a row
        by) None and the event alone."""
        st = update.status
        job_id = _job_id(job)
        event = status_event(update, self._number(update), job_id)
        # By phone number, else by BSUID (a send to a username-only customer has no recipient_id).
        recipient = st.recipient_id or update.recipient.address
        if not recipient:
            return None, event
        return StatusRecord(recipient, st.id, st.status, job_id=job_id, ts=st.timestamp.timestamp(),
                            sent=_fallback_sent(job, st.id) if job is not None else None, event=event), event


def _job_id(job: Job | None) -> str | None:
    return job.id if job is not None else None


def _touches(items: list[tuple[StatusUpdate, NumberLane | str]]) -> list[tuple[str, str, float, str | None]]:
    """The number-contact touches of statuses (phone_number_id, recipient, time, wamid)."""
    return [(lane.phone_number_id, u.status.recipient_id, u.status.timestamp.timestamp(), u.status.id)
            for u, lane in items if isinstance(lane, NumberLane) and u.status.recipient_id]


def _fallback_sent(job: Job, wamid: str) -> dict[str, Any] | None:
    """The fallback template ``job`` went out as ``wamid`` (the log queued its original body), else None."""
    if not job.used_fallback or job.wamid != wamid:
        return None
    # Requeued with its fallback after Meta refused the original (131047): ``wamid`` is still the
    # refused original's until the template is accepted.
    if job.state in PENDING_STATES:
        return None
    return dict(job.body)


def job_for_wamid(gw: Gateway, wamid: str) -> Job | None:
    """The outbox job that sent ``wamid`` (None without an outbox in this process, or for another's)."""
    return gw.outbox.job_by_wamid(wamid) if gw.outbox is not None else None


def build_webhook_app(gw: Gateway) -> WebhookApp:
    """The ASGI app mounted at ``/webhook`` (it also becomes ``gw.webhook_app``)."""
    store = gw.store
    if isinstance(store, SqliteStore):
        store = gw.webhook_store = WebhookSqliteStore(store.path)
    receiver = WebhookReceiver(
        app_secret=gw.creds.app_secret,
        # Numbers of other Meta apps sign their webhooks with their own app's secret.
        other_app_secrets=[n.spec.app_secret for n in gw.numbers if n.spec.app_secret] if gw.creds.app_secret else (),
        verify_token=gw.creds.verify_token,
        allow_unsigned=gw.settings.allow_unsigned_webhooks,
        max_body_bytes=gw.settings.webhook_max_body,
        dedup=store if isinstance(store, DedupStore) else None,
        inbox=store if isinstance(store, InboxStore) else None,
        on_update=GatewayDispatcher(gw),
    )
    gw.webhook_app = WebhookApp(receiver)
    if gw.outbox is not None:
        # The conversation log keys each message by the person (contact), learned by the outbox.
        gw.history.resolve = contact_resolver(gw.outbox)
    return gw.webhook_app


def contact_resolver(outbox: Outbox) -> Callable[[str], str | None]:
    """An address (phone number or BSUID) → the contact id of its person, None when unknown."""

    def resolve(address: str) -> str | None:
        found = outbox.contact(address)
        return found.contact_id if found is not None else None

    return resolve
