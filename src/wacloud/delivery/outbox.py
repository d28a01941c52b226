"""The outbox: queue messages durably, send them paced to Meta's limits, follow them to read.

``Outbox(store, client)`` for one business number. ``enqueue`` validates and stores a job and
returns at once; ``run()`` (async) or ``run_forever()`` sends; status and inbound webhooks are fed
back with ``handle(update)`` (or the plain-value methods) so jobs move on to delivered/read, windows
and opt-outs are known, and failures arriving late still follow the retry policy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
import signal
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import wacloud.delivery.limit_updates as limit_updates
from wacloud.delivery._bodies import address, answer_ids, check_bsuid_send, epoch, graph_body, is_phone_like
from wacloud.delivery._broadcast import queue_rows
from wacloud.delivery._factory import open_store
from wacloud.delivery._gc import freeze_start_up
from wacloud.delivery._sender import ClientSender
from wacloud.delivery._settling import Settler
from wacloud.delivery.campaign import Campaign, template_object
from wacloud.delivery.campaigns import CampaignOps, CampaignsStore, api_marker
from wacloud.delivery.costs import RateCard
from wacloud.delivery.holds import Gate, LimitsStore
from wacloud.delivery.model import (
    CATEGORIES,
    ContactRecord,
    DeliveryEvent,
    InFlightPolicy,
    Job,
    JobEvent,
    JobState,
    NewJob,
    Price,
    Recovery,
    StatusChange,
    StatusInput,
    Summary,
)
from wacloud.delivery.pacing import DEFAULT_PAIR_BURST, Pacing
from wacloud.delivery.policy import RetryPolicy
from wacloud.delivery.statuses import handle_update, in_one_transaction
from wacloud.delivery.store import Store, StoredHook, StoreError
from wacloud.delivery.worker import RunReport, Worker, WorkerContext
from wacloud.errors import ValidationError
from wacloud.identity import CustomerIds
from wacloud.limits import DEFAULT_MPS, PAIR_RATE_INTERVAL_S

log = logging.getLogger("wacloud.delivery")

#: How many recently learned id sets an outbox remembers (see :meth:`Outbox.learn`).
_LEARNED_CACHE = 4096


class Outbox:
    """A durable, paced outbox for one business phone number."""

    def __init__(self, store: Store | str, client: Any = None, *, phone_number_id: str | None = None,
                 mps: float = DEFAULT_MPS, max_mps: float | None = None, pair_burst: int = DEFAULT_PAIR_BURST,
                 pair_interval_s: float = PAIR_RATE_INTERVAL_S, utilisation: float = 0.995,
                 concurrency: int | None = None, lease_s: float = 60.0,
                 delivery: InFlightPolicy | str = InFlightPolicy.AT_MOST_ONCE,
                 policy: RetryPolicy | None = None, enforce_window: bool = True,
                 on_event: Callable[[DeliveryEvent], None] | None = None,
                 clock: Callable[[], float] = time.time, worker_name: str = "worker",
                 portfolio: str = "default", rate_card: RateCard | None = None, limits: bool = True,
                 read_limits_every_s: float | None = None) -> None:
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.client = client
        pid = phone_number_id or getattr(client, "phone_number_id", None)
        if not pid:
            raise ValidationError("phone_number_id", "give phone_number_id= or a client configured with one")
        self.phone_number_id = str(pid)
        self.pacing = Pacing(mps=mps, utilisation=utilisation, pair_interval_s=pair_interval_s,
                             pair_burst=pair_burst, max_mps=max_mps)
        try:
            in_flight = InFlightPolicy(delivery)
        except ValueError:
            raise ValidationError("delivery", "must be 'at_most_once' or 'at_least_once'") from None
        base = policy or RetryPolicy()
        self.policy = base if base.in_flight is in_flight else dataclasses.replace(base, in_flight=in_flight)
        if concurrency is not None and concurrency < 1:
            raise ValidationError("concurrency", "must be at least 1")
        # Default: enough calls in flight for the rate (32 up to 128 mps, 250 at 1,000): with 32, two
        # PostgreSQL workers at 1,000 mps waited for a free call 3-8 s of a 10,000-message run.
        self.concurrency = concurrency if concurrency is not None else self.pacing.in_flight
        if lease_s <= 0:
            raise ValidationError("lease_s", "must be positive")
        self.lease_s = lease_s
        self.sweep_s = max(0.5, min(10.0, lease_s / 4))
        self.enforce_window = enforce_window
        self.on_event = on_event
        self.clock = clock
        self.worker_name = worker_name
        self.handle_retry_s = 10.0
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup = asyncio.Event()
        self._running = False
        #: Ids already linked by :meth:`learn` (most recent last), so repeated sightings cost no write.
        self._learned: OrderedDict[CustomerIds, str] = OrderedDict()
        self._learned_lock = threading.Lock()
        #: Meta's limits and budgets (:mod:`wacloud.delivery.holds`): the business portfolio the number
        #: belongs to (numbers of one portfolio share its messaging limit), the rate card, on/off.
        self.portfolio = portfolio
        self.rate_card = rate_card or limit_updates.stored_rate_card(self.store) or limit_updates.default_rate_card()
        self.limits = limits
        #: Read the tier and throughput level from the Graph API at the start of a run and this often.
        self.read_limits_every_s = read_limits_every_s
        self.template_pacing = limit_updates.TemplatePacing(self.store)
        #: Campaign operations (list, pause, resume, cancel, budget, export, costs, dry run).
        self.campaigns = CampaignOps(cast(CampaignsStore, self.store), self.phone_number_id, portfolio=portfolio,
                                     card=lambda: self.rate_card, mps=lambda: float(self.pacing.mps),
                                     clock=lambda: self.clock(), wake=self._wake)

    # --- queueing --------------------------------------------------------------------------------
    def enqueue(self, to: str, message: Any, *, key: str | None = None,
                not_before: datetime | float | timedelta | None = None, category: str | None = None,
                fallback_template: Any = None, campaign: str | None = None, priority: int = 1,
                on_stored: StoredHook | None = None) -> str:
        """Validate and store a message; returns the job id at once. The same ``key`` never makes two jobs.

        ``priority`` 1 (the default) goes ahead of campaign jobs (priority 0), so a one-off message
        does not wait behind a long broadcast. ``on_stored`` runs in the transaction that stores the job.
        """
        job = self._new_job(to, message, key=key, not_before=not_before, category=category,
                            fallback_template=fallback_template, campaign=campaign, priority=priority)
        job_id = self.store.add([job], self.clock(), on_stored=on_stored)[0][0]
        self._wake()
        return job_id

    def _new_job(self, to: str, message: Any, *, key: str | None, not_before: Any, category: str | None,
                 fallback_template: Any, campaign: str | None, normalized: bool = False,
                 priority: int = 0, validate: Callable[[dict[str, Any]], None] | None = None) -> NewJob:
        if priority not in (0, 1):
            raise ValidationError("priority", "must be 1 (ahead of campaigns) or 0 (campaign lane)")
        wa_id = to if normalized else address(to)
        body = graph_body(wa_id, message, validate)
        if category is not None and category not in CATEGORIES:
            raise ValidationError("category", f"must be one of {', '.join(sorted(CATEGORIES))}")
        check_bsuid_send(body, category)
        fallback = None
        if fallback_template is not None:
            fallback = graph_body(wa_id, {"type": "template",
                                          "template": template_object(fallback_template, None)})
        if key is not None and (not isinstance(key, str) or not key or len(key) > 256):
            raise ValidationError("key", "must be a non-empty string of at most 256 characters")
        now = self.clock()
        return NewJob(phone_number_id=self.phone_number_id, to=wa_id, body=body,
                      is_template=body["type"] == "template", key=key,
                      not_before=epoch(not_before, now) or 0.0, category=category, fallback=fallback,
                      campaign=campaign, priority=priority)

    def job(self, job_id: str) -> Job | None:
        """The job with this id (None when there is none)."""
        return self.store.get(str(job_id))

    def history(self, job_id: str) -> list[JobEvent]:
        """The job's history (state, time, code, detail, attempt), in the order it was recorded."""
        return self.store.history(str(job_id))

    def histories(self, job_ids: Iterable[str]) -> dict[str, list[JobEvent]]:
        """Several jobs' histories at once, by job id (one query for a page of jobs)."""
        return self.store.histories([str(i) for i in job_ids])

    def job_by_wamid(self, wamid: str) -> Job | None:
        """The job whose accepted send got ``wamid`` (None when no job has it; any number in the store)."""
        return self.store.job_by_wamid(str(wamid))

    def jobs(self, *, state: JobState | str | None = None, campaign: str | None = None, to: str | None = None,
             after: str | None = None, limit: int = 100, newest_first: bool = False) -> list[Job]:
        """This number's jobs, filtered, in id order (``after`` pages on; ``newest_first`` reverses)."""
        try:
            st = JobState(state) if state is not None else None
        except ValueError:
            raise ValidationError("state", f"unknown state {state!r}; one of "
                                           f"{', '.join(s.value for s in JobState)}") from None
        if not 0 <= int(limit) <= 10_000:
            raise ValidationError("limit", "must be between 0 and 10000")
        return self.store.find(phone_number_id=self.phone_number_id, state=st, campaign=campaign,
                               to=to, after=after, limit=limit, newest_first=newest_first)

    def summary(self, campaign: str | None = None) -> Summary:
        """Counts by state and failures by code, for one campaign or the whole number."""
        return self.store.summary(phone_number_id=self.phone_number_id, campaign=campaign)

    # --- campaigns -------------------------------------------------------------------------------
    def broadcast(self, template: Any, recipients: Iterable[Any] | str | Path, *, language: str | None = None,
                  campaign: str | None = None, category: str | None = "marketing",
                  not_before: datetime | float | timedelta | None = None, strict: bool = False,
                  chunk: int = 500, on_progress: Callable[[int], None] | None = None,
                  priority: int = 0, on_stored: StoredHook | None = None, budget: float | None = None,
                  api: str | None = None, api_options: Mapping[str, Any] | None = None) -> Campaign:
        """Queue ``template`` to every recipient (iterable or CSV) with their parameters.

        Re-running with the same ``campaign`` id queues nobody twice. Invalid rows are listed in
        ``Campaign.invalid`` (or raise, with ``strict``). ``on_stored`` runs in each chunk's transaction.
        ``budget`` holds the campaign (reason ``budget``) before its estimated cost would exceed it;
        ``api="marketing_messages"`` sends through the Marketing Messages API with ``api_options``
        (``product_policy``, ``message_activity_sharing``); ``not_before`` schedules the start.
        """
        base = template_object(template, language)
        # Campaign-level settings are checked once, up front: a bad one is no recipient's fault.
        if category is not None and category not in CATEGORIES:
            raise ValidationError("category", f"must be one of {', '.join(sorted(CATEGORIES))}")
        if priority not in (0, 1):
            raise ValidationError("priority", "must be 1 (ahead of campaigns) or 0 (campaign lane)")
        try:
            epoch(not_before, self.clock())
        except ValidationError as exc:
            raise ValidationError("not_before", exc.reason) from None
        result = Campaign(id=campaign or "cmp_" + secrets.token_hex(6))
        marker = api_marker(api, api_options, category)
        self.campaigns.register(result.id, budget=budget, api=api, options=api_options,
                                start_at=epoch(not_before, self.clock()))
        queue_rows(recipients, store=self.store, phone_number_id=self.phone_number_id, result=result, base=base,
                   make_job=lambda wa_id, body, key, check: self._new_job(
                       wa_id, body, key=key, not_before=not_before, category=category, fallback_template=None,
                       campaign=result.id, normalized=True, priority=priority, validate=check),
                   marker=marker, strict=strict, chunk=chunk,
                   flush=lambda batch: self._add_batch(batch, result, on_progress, on_stored))
        self._wake()
        return result

    def _add_batch(self, batch: list[NewJob], result: Campaign, on_progress: Callable[[int], None] | None,
                   on_stored: StoredHook | None) -> None:
        for job_id, created in self.store.add(batch, self.clock(), on_stored=on_stored):
            if created:
                result.queued += 1
                result.job_ids.append(job_id)
            else:
                result.duplicates += 1
        if on_progress is not None:
            on_progress(result.queued + result.duplicates)

    async def watch(self, campaign: str | None = None, *, interval_s: float = 1.0,
                    until_delivered: bool = False, timeout_s: float | None = None) -> AsyncIterator[Summary]:
        """Yield the summary every ``interval_s`` until nothing is owed a send (or all are delivered).

        ``timeout_s`` bounds the wait (a status webhook may never come for some messages).
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            summary = await asyncio.to_thread(self.summary, campaign)
            yield summary
            if summary.done and (not until_delivered or summary.accepted == summary.delivered):
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            await asyncio.sleep(interval_s)

    # --- statuses and conversations --------------------------------------------------------------
    def apply_status(self, wamid: str, status: str, timestamp: datetime | float | None = None, *,
                     error_code: int | None = None, error_title: str | None = None,
                     error_details: str | None = None, fbtrace_id: str | None = None,
                     pricing: Mapping[str, Any] | None = None, wa_id: str | None = None) -> StatusChange:
        """Apply a status webhook to the job with ``wamid``: forward only; ``failed`` meets the policy.

        ``pricing`` (and ``wa_id``, the recipient the status names) is kept with a status whose job is not
        recorded yet, and recorded with the job when it is (else record it with :meth:`record_pricing`)."""
        ts = epoch(timestamp, now := self.clock()) or now
        item = StatusInput(wamid, status, ts, error_code, error_title, error_details, pricing, wa_id)
        return self.apply_statuses([item], fbtrace_id=fbtrace_id)[0]

    def apply_statuses(self, items: Sequence[StatusInput], *, fbtrace_id: str | None = None) -> list[StatusChange]:
        """:meth:`apply_status` for each of a payload's statuses, in order, in one store transaction."""
        changes, now = self._settler().apply_statuses(items, fbtrace_id=fbtrace_id), self.clock()
        # A message Meta held was let out: the template's held jobs resume.
        if [1 for i, c in zip(items, changes, strict=True) if c.applied and c.job and i.status in ("delivered", "read")
                and self.template_pacing.delivered(c.job, now)]:
            self._wake()
        return changes

    def _settler(self) -> Settler:
        # Built on each use: the policy, pacing and clock are plain attributes a caller may change.
        return Settler(self.store, self.pacing, self.policy, self.clock, emit=self.emit, wake=self._wake,
                       price=self.record_prices)

    def record_inbound(self, wa_id: str, timestamp: datetime | float | None = None) -> None:
        """A customer wrote to us: their 24-hour window is open from ``timestamp`` (``wa_id``: their
        phone number or BSUID; the window is the person's, whichever id they use next)."""
        now = self.clock()
        self.store.touch_inbound(self.phone_number_id, address(wa_id, "wa_id"), epoch(timestamp, now) or now)

    def learn(self, ids: CustomerIds, timestamp: datetime | float | None = None) -> str | None:
        """Record that these ids (phone, BSUID, parent BSUID, username) are one customer; their contact id.

        The same ids seen again (a message's sent, delivered and read statuses) are not written again.
        """
        with self._learned_lock:  # webhooks are handled in several threads
            known = self._learned.get(ids)
            if known is not None:
                self._learned.move_to_end(ids)
                return known
        now = self.clock()
        contact_id = self.store.learn_contact(self.phone_number_id, ids, epoch(timestamp, now) or now)
        if contact_id is not None:
            with self._learned_lock:
                self._learned[ids] = contact_id
                if len(self._learned) > _LEARNED_CACHE:
                    self._learned.popitem(last=False)
        return contact_id

    def forget_learned(self) -> None:
        """Forget which ids :meth:`learn` has stored: a batch that learnt some rolled back (each is written
        again when next seen)."""
        with self._learned_lock:
            self._learned.clear()

    def change_number(self, old: str, new_wa_id: str, timestamp: datetime | float | None = None) -> str | None:
        """A customer changed phone number (``user_changed_number``): one person, the old number dropped."""
        now = self.clock()
        with self._learned_lock:
            self._learned.clear()  # a link to the old number is no longer true
        return self.store.change_number(self.phone_number_id, address(old, "from"), address(new_wa_id, "wa_id"),
                                        epoch(timestamp, now) or now)

    def identity_changed(self, ids: CustomerIds, identity_hash: str | None, timestamp: datetime | float | None = None,
                         created_at: float | None = None) -> str | None:
        """A customer's security identity changed (``customer_identity_changed``): kept with its event."""
        ts = epoch(timestamp, now := self.clock()) or now
        return self.store.identity_changed(self.phone_number_id, ids, identity_hash, ts, created_at=created_at)

    def contact(self, any_id: str) -> ContactRecord | None:
        """The customer known by ``any_id`` (phone number, BSUID, parent BSUID, ``@username`` or contact
        id), with all their ids, window and opt-out; None when nobody is known by it."""
        if not isinstance(any_id, str) or not any_id.strip():
            raise ValidationError("id", "must be a phone number, a BSUID, a username or a contact id")
        value = any_id.strip()
        if not value.startswith("@") and is_phone_like(value):
            value = address(value, "id")
        return self.store.find_contact(self.phone_number_id, value)

    def _learn_answer(self, body: dict[str, Any], answer: Any) -> None:
        """A send answer naming the customer by more than the address sent to, or saying the template is
        held for a quality assessment (Meta's pacing) or paused."""
        try:
            self.template_pacing.answered(body, getattr(answer, "wamid", None), getattr(answer, "message_status", None),
                                          self.clock())  # a hold: nothing to wake for
            if (ids := answer_ids(body, answer)) is not None:
                self.learn(ids)
        except (ValidationError, StoreError) as exc:
            log.warning("could not record what a send answer said: %s", exc)

    def set_marketing_preference(self, wa_id: str, value: str | bool,
                                 timestamp: datetime | float | None = None) -> None:
        """Record a ``user_preferences`` change: "stop" (opted out) or "resume"."""
        if isinstance(value, bool):
            opted_out = value
        elif str(value).lower() in ("stop", "resume"):
            opted_out = str(value).lower() == "stop"
        else:
            raise ValidationError("value", "must be 'stop' or 'resume'")
        now = self.clock()
        ts = epoch(timestamp, now) or now
        self.store.set_marketing(self.phone_number_id, address(wa_id, "wa_id"), opted_out, ts)

    def opted_out(self, limit: int = 500) -> list[ContactRecord]:
        """This number's customers opted out of marketing, latest first (``wa_id``: their id to show)."""
        return self.store.opted_out(self.phone_number_id, limit)

    def record_pricing(self, wamid: str, pricing: dict[str, Any], wa_id: str | None = None) -> bool:
        """Store a status's ``pricing`` (and what the rate card says it cost) with the job that has ``wamid``."""
        return self.campaigns.record_pricing(wamid, pricing, wa_id)

    def record_prices(self, prices: Sequence[Price]) -> None:
        """:meth:`record_pricing` for a payload's statuses, with their jobs when known (one statement)."""
        self.campaigns.record_prices(prices)

    def load_rate_card(self, text: str, *, as_of: str | None = None) -> RateCard:
        """Use (and keep in the store, for every process) a rate card in Meta's CSV layout."""
        card = RateCard.from_csv(text, as_of=as_of or "", source="loaded")
        if isinstance(self.store, LimitsStore):
            stamped = text if as_of is None else f"# As of: {as_of}\n{text}"
            self.store.set_limit("ratecard", "current", stamped, None, self.clock())
        self.rate_card = card
        return card

    def limit_update(self, update: object) -> bool:
        """Apply a webhook that changes a limit (template status, throughput upgrade, messaging tier)."""
        used = limit_updates.apply_update(cast(LimitsStore, self.store), self.phone_number_id, self.portfolio,
                                          update, self.clock())
        if used:
            self._wake()
        return used

    async def refresh_limits(self) -> dict[str, Any]:
        """Read the number's messaging tier and throughput level from the Graph API and record them."""
        learnt = await limit_updates.refresh_from_graph(self.client, cast(LimitsStore, self.store),
                                                        self.phone_number_id, self.portfolio, self.clock())
        self._wake()  # harmless when nothing was learnt
        return learnt

    def handle(self, update: Any) -> bool:
        """Feed one :mod:`wacloud.webhooks` update (status, message, user preference); True if it was used.

        One transaction per update (its ids and the window it opens commit together). While the store is
        unreachable (a restart) it retries for up to ``handle_retry_s``, then raises :class:`StoreError`.
        """
        deadline, delay = time.monotonic() + self.handle_retry_s, 0.05
        while True:
            try:
                return in_one_transaction(self.store, lambda: handle_update(self, update))  # effects together
            except StoreError:  # inside a batch it fails the batch (whose caller redoes it update by update)
                if time.monotonic() + delay > deadline or getattr(self.store, "in_batch", False):
                    raise
                time.sleep(delay)
                delay = min(1.0, delay * 2)

    # --- control ---------------------------------------------------------------------------------
    def pause(self, seconds: float, reason: str = "paused by the operator") -> None:
        """Stop sending from this number for ``seconds`` (all workers sharing the store)."""
        self.store.pause(self.phone_number_id, self.clock() + seconds, reason)

    def resume(self) -> None:
        """Lift a pause (an auth pause too, once the token is fixed)."""
        self.store.resume(self.phone_number_id)
        self._wake()

    def recover(self) -> Recovery:
        """Sweep expired leases now (each run does this at start and periodically)."""
        return self.store.recover(self.phone_number_id, self.clock(), self.policy.in_flight)

    def recovered(self, campaign: str | None = None) -> dict[str, int]:
        """Jobs taken back from lost workers (a kill -9), by kind: ``released`` (claims put back in the
        queue), ``uncertain`` (in flight: maybe sent, never repeated), ``resent`` (``at_least_once``)."""
        return self.store.recovered(campaign=campaign, phone_number_id=self.phone_number_id)

    def backlog(self) -> tuple[int, float | None]:
        """(jobs of this number still owed a send, earliest ``not_before`` of the queued ones)."""
        return self.store.backlog(self.phone_number_id)

    def free_slots(self) -> float:
        """Send slots free in the coming second: the paced rate minus what workers have already booked.

        Idle time is not banked (the pacing bucket is a GCRA): at most the rate itself.
        """
        rate = float(self.pacing.mps * self.pacing.utilisation)
        tat = self.store.booked_until(self.phone_number_id)
        booked = max(0.0, (tat or 0.0) - self.clock())
        return max(0.0, rate * (1.0 - booked))

    def emit(self, event: DeliveryEvent) -> None:
        """Tell the operator (log, and the ``on_event`` callback)."""
        level = logging.ERROR if event.kind == "auth_paused" else logging.WARNING
        log.log(level, "%s on %s: %s (code=%s fbtrace_id=%s)", event.kind, event.phone_number_id,
                event.message, event.code, event.fbtrace_id, extra={"event": event.kind, "code": event.code,
                                                     "fbtrace_id": event.fbtrace_id})
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("on_event callback failed")

    def _wake(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if _running_loop() is loop:
            self._wakeup.set()
        else:
            loop.call_soon_threadsafe(self._wakeup.set)

    # --- workers ---------------------------------------------------------------------------------
    async def run(self, *, until_idle: bool = False, concurrency: int | None = None,
                  stop: asyncio.Event | None = None) -> RunReport:
        """Send until :meth:`stop` (or, with ``until_idle``, until no job is owed a send)."""
        if self.client is None:
            raise ValidationError("client", "the outbox needs a client to send")
        if self._running:
            raise RuntimeError("this Outbox is already running; use another Outbox object for more workers")
        self._running = True
        try:
            return await self._run(until_idle=until_idle, concurrency=concurrency, stop=stop)
        finally:
            self._running = False

    async def _run(self, *, until_idle: bool, concurrency: int | None, stop: asyncio.Event | None) -> RunReport:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._stop = stop or asyncio.Event()
        worker = Worker(self.context(), concurrency=concurrency or self.concurrency, until_idle=until_idle,
                        stop=self._stop)
        reader = None
        if self.read_limits_every_s:
            await self._read_limits_once()  # before the first claim: the tier must be known
            reader = asyncio.create_task(self._read_limits())
        try:
            return await worker.run()
        finally:
            if reader is not None:
                reader.cancel()

    async def _read_limits(self) -> None:
        """Refresh the limits from the Graph API every ``read_limits_every_s``."""
        while True:
            await asyncio.sleep(max(1.0, self.read_limits_every_s or 900.0))
            await self._read_limits_once()

    async def _read_limits_once(self) -> None:
        try:
            await self.refresh_limits()
        except Exception as exc:  # the last known limits stand; webhooks still update them
            log.warning("could not read the messaging limits from the Graph API: %s", exc)

    def context(self) -> WorkerContext:
        """What a worker runs with: the store, pacing, policy, clock, sender, settler and event sink."""
        if self.client is None:
            raise ValidationError("client", "the outbox needs a client to send")
        return WorkerContext(store=self.store, phone_number_id=self.phone_number_id, pacing=self.pacing,
                             policy=self.policy, clock=self.clock,
                             sender=ClientSender(self.client, on_answer=self._learn_answer),
                             settler=self._settler(), events=self.emit, wakeup=self._wakeup,
                             lease_s=self.lease_s, sweep_s=self.sweep_s, enforce_window=self.enforce_window,
                             worker_name=self.worker_name, gate=self._gate())

    def _gate(self) -> Gate | None:
        if not self.limits or not isinstance(self.store, LimitsStore):
            return None
        return Gate(self.store, self.phone_number_id, portfolio=self.portfolio, card=self.rate_card,
                    stopped=self.template_pacing.stopped)

    def stop(self) -> None:
        """Ask a running ``run()`` to finish: no new sends; calls in flight are recorded; claims released."""
        loop, ev = self._loop, self._stop
        if loop is None or ev is None or loop.is_closed():
            return
        if _running_loop() is loop:
            ev.set()
        else:
            loop.call_soon_threadsafe(ev.set)

    def run_forever(self, *, concurrency: int | None = None, until_idle: bool = False) -> RunReport:
        """Blocking ``run()``; SIGTERM and SIGINT stop it gracefully.

        Meant for a process that does nothing else: the objects alive at its first call are frozen out of
        the garbage collector's full collections (:func:`wacloud.delivery._gc.freeze_start_up`).
        """
        freeze_start_up()

        async def main() -> RunReport:
            """``run()`` with SIGTERM/SIGINT wired to a graceful stop."""
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            installed = []
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    loop.add_signal_handler(sig, stop.set)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass  # not the main thread, or no signals here
            try:
                return await self.run(until_idle=until_idle, concurrency=concurrency, stop=stop)
            finally:
                for sig in installed:
                    loop.remove_signal_handler(sig)

        return asyncio.run(main())

    # --- sending ---------------------------------------------------------------------------------
    async def send_body(self, body: dict[str, Any]) -> str:
        """Send one stored Graph body with the client; returns the wamid."""
        return await ClientSender(self.client).send(body)

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def __repr__(self) -> str:
        return (f"Outbox(phone_number_id={self.phone_number_id!r}, mps={self.pacing.mps}, "
                f"store={self.store!r})")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None

