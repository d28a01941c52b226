"""The send loop: claim ready jobs, check them locally, pace them into slots, send, record the outcome.

Three cooperating tasks per run:

- the *producer* claims a batch (pair-rate gated in the store), fails fast what local rules forbid
  (closed window, opt-out), reserves that many global send slots and queues ``(slot, job)``; it stays
  at most ``lookahead_s`` ahead of the clock so claims are short-lived;
- the *dispatcher* waits for each slot, marks the due jobs ``sending`` (one write, before the call:
  that is what makes a crash detectable) and starts their calls, at most ``concurrency`` at once;
- the *writer* (:mod:`wacloud.delivery._outcome_writer`) stores outcomes in batches (each one atomic
  with its job) and replays early statuses.

Store calls run on dedicated threads (:mod:`wacloud.delivery._lane`), so the event loop never blocks on
the database; on PostgreSQL the dispatcher's ``mark_sending`` has its own connection and thread, so a due
send never waits behind a claim or a batch of outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import wacloud.delivery.recovery as recovery
from wacloud import errors
from wacloud.delivery._lane import StoreLane, fork_lane
from wacloud.delivery._outcome_writer import OutcomeWriter
from wacloud.delivery._sender import Sender
from wacloud.delivery._settling import Settler
from wacloud.delivery.holds import Gate
from wacloud.delivery.model import (
    BEFORE_ACCEPT,
    DeliveryEvent,
    InFlightPolicy,
    Job,
    JobState,
    Outcome,
    Recovery,
)
from wacloud.delivery.outcomes import Failure, Settlement, fallback_step
from wacloud.delivery.pacing import Pacing
from wacloud.delivery.policy import OPT_OUT_CODE, WINDOW_CLOSED_CODE, Action, Decision, RetryPolicy
from wacloud.delivery.store import Store, StoreError
from wacloud.limits import SERVICE_WINDOW_S
from wacloud.webhooks.store import DEDUP_TTL_S

log = logging.getLogger("wacloud.delivery")
T = TypeVar("T")

#: httpx failures that happen before the request left: resending cannot duplicate anything.
_SAFE_TRANSPORT = ("ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol", "LocalProtocolError")

#: Adaptive rate after a 130429: multiply by this, never below the floor, then add back per second.
RATE_DECREASE = 0.7
MIN_RATE_FACTOR = 0.05
RATE_INCREASE = 0.05
RATE_DECREASE_WINDOW_S = 0.5

#: How often a worker forgets old webhook dedup keys and unmatched early statuses.
PRUNE_EVERY_S = 600.0
#: Statuses for wamids we never sent (a bot's direct replies) are kept this long, then dropped.
EARLY_STATUS_TTL_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """Everything one run of the send loop works with, given by the outbox (nothing else is reached into)."""

    store: Store
    phone_number_id: str
    pacing: Pacing
    policy: RetryPolicy
    clock: Callable[[], float]
    sender: Sender
    #: Settles failures (the one policy path) and replays early statuses.
    settler: Settler
    #: The event sink: what an operator should hear about (a recovery, an auth pause).
    events: Callable[[DeliveryEvent], None]
    #: Set when new work may be ready (a job queued, a pause lifted).
    wakeup: asyncio.Event
    lease_s: float
    sweep_s: float
    enforce_window: bool
    worker_name: str
    #: Meta's limits and the budgets (:mod:`wacloud.delivery.holds`): what they refuse is held, not sent.
    gate: Gate | None = None


@dataclass(slots=True)
class RunReport:
    """What one ``run()`` did."""

    sent: int = 0
    accepted: int = 0
    retried: int = 0
    failed: int = 0
    local_failures: int = 0
    released: int = 0
    late: int = 0  #: jobs whose slot had passed by more than the lag bound: given a fresh slot
    recovered: Recovery = dataclasses.field(default_factory=Recovery)
    started_at: float = 0.0
    finished_at: float = 0.0


def is_ambiguous(exc: errors.TransportError) -> bool:
    """True when the request may have reached the API (read timeout, dropped connection…)."""
    cause = exc.__cause__
    names = {type(c).__name__ for c in (cause, getattr(cause, "__cause__", None)) if c is not None}
    return not (names & set(_SAFE_TRANSPORT)) and not any(f": {name}:" in str(exc) for name in _SAFE_TRANSPORT)


async def _first_of(*events: asyncio.Event) -> None:
    """Wait until one of ``events`` is set."""
    waits = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


class Worker:
    """One run of the send loop for one outbox (one business number)."""

    def __init__(self, ctx: WorkerContext, *, concurrency: int, until_idle: bool, stop: asyncio.Event,
                 lookahead_s: float = 0.5, poll_s: float = 0.25, max_lag_s: float | None = None) -> None:
        self.ctx = ctx
        self.store = ctx.store
        self.phone = ctx.phone_number_id
        self.concurrency = max(1, int(concurrency))
        self.until_idle = until_idle
        self.stop = stop
        self.lookahead_s = lookahead_s
        self.poll_s = poll_s
        self.worker_id = recovery.holder_id(ctx.worker_name)
        self.base_interval = ctx.pacing.interval_s
        # Adaptive share of the configured rate: a 130429 despite pacing means the number's real
        # limit is lower (another sender, a coexistence number): slow down, then creep back up.
        self._rate_factor = 1.0
        self._rate_checked = time.monotonic()
        self._last_decrease = -1e9
        # A job this late gets a fresh slot instead of going out in a catch-up burst (>= 50 ms: a busy host's
        # loop wakes 20-60 ms late now and then; 20 ms gave half a campaign's jobs a fresh slot at 1,000/s).
        self.max_lag_s = max_lag_s if max_lag_s is not None else max(0.05, 2 * self.base_interval)
        self.batch = max(1, min(500, math.ceil(lookahead_s / self.base_interval / 2)))
        self.report = RunReport()
        self._lane = StoreLane(ctx.store, "wacloud-store")
        self._exec = self._lane.executor
        #: Where mark_sending runs: its own connection once run() opened one (PostgreSQL), else the main lane.
        self._send_lane = self._lane
        self._ready: deque[tuple[float, Job]] = deque()
        self._ready_event = asyncio.Event()
        self._reslot: list[Job] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._free = asyncio.Semaphore(self.concurrency)
        self._outcomes = OutcomeWriter(self._lane, self.phone, ctx.settler, hurry=self._hurry)
        self._paused_until = 0.0
        #: After a pause, send one job and wait for its answer before sending the rest.
        self._probe = False
        self._slots_end = 0.0
        self._producing_done = asyncio.Event()
        self._next_prune = 0.0
        #: Jobs whose fallback template this run swapped in (closed window): their acceptance records it.
        self._swapped: set[str] = set()

    # --- plumbing ---------------------------------------------------------------------------------
    async def db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call on the store thread."""
        return await self._lane.call(fn, *args, **kwargs)

    async def db_retry(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store call retried while the store is unavailable (e.g. PostgreSQL restarting)."""
        return await self._lane.retry(fn, *args, **kwargs)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking early when asked to stop."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    # --- the run ----------------------------------------------------------------------------------
    async def run(self) -> RunReport:
        """Send until stopped (or, with ``until_idle``, until nothing is owed a send)."""
        self.report.started_at = time.time()
        writer = asyncio.create_task(self._outcomes.run(), name="wacloud-outbox-writer")
        dispatcher = asyncio.create_task(self._dispatcher(), name="wacloud-outbox-dispatcher")
        try:
            self._send_lane = await fork_lane(self._lane, "wacloud-send") or self._lane
            await self._take_back()
            await self._recover()
            await self._producer()
        finally:
            self._producing_done.set()
            try:
                await dispatcher
            finally:
                # Finish the calls in flight (their answers must be recorded), then flush outcomes.
                if self._in_flight:
                    await asyncio.gather(*self._in_flight, return_exceptions=True)
                # Never cancel the writer: a cancelled store call may never run, losing an outcome.
                self._outcomes.close()
                await writer
                await self._outcomes.flush()
                await self._release_unsent()
                if self._send_lane is not self._lane:
                    self._send_lane.shutdown()
                self._lane.shutdown()
                self.report.finished_at = time.time()
        return self.report

    def _hurry(self) -> bool:
        """Outcomes are written at once, not gathered, for a probe (its answer decides whether the rest may
        go) and when no more are coming (nothing due, no call in flight but the one that just answered)."""
        return self._probe or (not self._ready and len(self._in_flight) <= 1)

    async def _take_back(self) -> None:
        """At start: end the leases of workers known to be gone (a kill -9), so the sweep that follows
        recovers their jobs now rather than when the leases run out; say what is left to wait for."""
        held = await self.db_retry(self.store.lease_holders, self.phone, self.ctx.clock())
        dead = [w for w, _, _ in held if recovery.holder_is_dead(w)]
        if dead:
            # Under at_least_once an in-flight call would be resent: that waits for its lease, never a guess.
            at_least_once = self.ctx.policy.in_flight is InFlightPolicy.AT_LEAST_ONCE
            states = ["claimed"] if at_least_once else ["claimed", "sending"]
            n = await self.db_retry(self.store.expire_leases, self.phone, dead, self.ctx.clock(), states)
            log.warning("%d job(s) held by %d worker(s) that are gone (%s): recovering them now",
                        n, len(dead), ", ".join(dead))
        others = [(w, n, until) for w, n, until in held if w not in dead]
        if others:
            wait = max(0.0, max(until for _, _, until in others) - self.ctx.clock())
            log.info("%d job(s) are leased by %d other worker(s) (%s); if those are gone, the jobs are "
                     "recovered when their leases run out, within %.0f s", sum(n for _, n, _ in others),
                     len(others), ", ".join(w for w, _, _ in others), wait)

    async def _recover(self) -> None:
        now = self.ctx.clock()
        if now >= self._next_prune:
            self._next_prune = now + PRUNE_EVERY_S
            try:
                await self.db(self.store.prune, now, dedup_ttl_s=DEDUP_TTL_S, early_ttl_s=EARLY_STATUS_TTL_S)
            except StoreError as exc:
                log.warning("pruning old webhook keys failed: %s", exc)
        rec = await self.db_retry(self.store.recover, self.phone, self.ctx.clock(), self.ctx.policy.in_flight)
        if rec.released or rec.uncertain or rec.resent:
            r = self.report.recovered
            self.report.recovered = Recovery(r.released + rec.released, r.uncertain + rec.uncertain,
                                             r.resent + rec.resent)
            log.warning("recovered expired leases: %d claims released, %d in-flight calls marked uncertain, "
                        "%d queued to resend", rec.released, rec.uncertain, rec.resent)
            what = f"{rec.released} released, {rec.uncertain} uncertain, {rec.resent} resent"
            self.ctx.events(DeliveryEvent("recovered", self.phone, what))
        # Statuses that beat their send's answer and were not replayed (the worker died after
        # storing the answer): apply them now.
        for status in await self.db_retry(self.store.early_for_jobs, self.phone):
            try:
                await self.db_retry(self.ctx.settler.replay_early, status)
            except StoreError as exc:
                log.error("early status %s for %s not applied: %s", status.status, status.wamid, exc)

    # --- producer ---------------------------------------------------------------------------------
    async def _producer(self) -> None:
        next_sweep = time.monotonic() + self.ctx.sweep_s
        while not self.stop.is_set():
            now = self.ctx.clock()
            if time.monotonic() >= next_sweep:
                await self._recover()
                next_sweep = time.monotonic() + self.ctx.sweep_s
            if self._slots_end - now > self.lookahead_s:
                await self._sleep(self._slots_end - now - self.lookahead_s / 2)
                continue
            if self._paused_until > now:
                await self._sleep(min(self._paused_until - now, self.poll_s * 4))
                # Lifted early (Outbox.resume, here or in another process)? Only once our own settlements
                # are written: an auth pause just decided is not in the store yet.
                if self._outcomes.idle.is_set() and not self._outcomes.pending and (
                    await self.db_retry(self.store.paused, self.phone, self.ctx.clock()) is None
                ):
                    self._paused_until = 0.0
                continue
            if self._probe and (self._ready or self._in_flight or not self._outcomes.idle.is_set()):
                await self._sleep(0.01)  # the probe's answer decides whether the rest may go
                continue
            if self._reslot:
                # After a pause only one job goes (the probe); the rest wait for its answer.
                take = 1 if self._probe else len(self._reslot)
                jobs, self._reslot = self._reslot[:take], self._reslot[take:]
                await self._schedule(jobs)
                continue
            try:
                jobs = await self.db(self.store.claim, self.phone, 1 if self._probe else self.batch, now,
                                     lease_s=self.ctx.lease_s,
                                     worker=self.worker_id, pair_interval_s=self.ctx.pacing.pair_spacing_s,
                                     pair_burst=self.ctx.pacing.pair_burst)
            except StoreError as exc:
                log.warning("claim failed (%s); retrying", exc)
                await self._sleep(0.5)
                continue
            if self.ctx.gate is not None:  # hold what a limit or a budget would refuse; resume what is due
                jobs = await self.db_retry(self.ctx.gate.admit, jobs, now, self.worker_id)
            if not jobs:
                if await self._idle(now):
                    return
                continue
            jobs = await self._local_checks(jobs, now)
            if jobs:
                await self._schedule(jobs)

    async def _idle(self, now: float) -> bool:
        """Nothing claimable now: return True to end the run, else sleep until there may be."""
        paused = await self.db_retry(self.store.paused, self.phone, now)
        if paused is not None:
            self._paused_until = paused[0]
            self._probe = True
            return False
        owed, next_at = await self.db_retry(self.store.backlog, self.phone)
        if (self.until_idle and owed == 0 and not self._ready and not self._reslot and not self._in_flight
                and self._outcomes.idle.is_set()):
            return True
        wait = self.poll_s if next_at is None else min(self.poll_s * 4, max(0.0, next_at - now))
        self.ctx.wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_first_of(self.ctx.wakeup, self.stop), timeout=max(0.005, wait))
        return False

    async def _local_checks(self, jobs: list[Job], now: float) -> list[Job]:
        """Fail fast (no call spent) on a closed window or a recorded opt-out; swap in fallbacks."""
        need = [j.to for j in jobs if j.category == "marketing" or
                (self.ctx.enforce_window and j.body.get("type") != "template")]
        contacts = await self.db_retry(self.store.contacts, self.phone, need) if need else {}
        keep: list[Job] = []
        for job in jobs:
            contact = contacts.get(job.to)
            if job.category == "marketing" and contact is not None and contact.marketing_opt_out:
                self._local_fail(job, Decision(Action.FAIL, "marketing opt-out recorded for this user"),
                                 Failure(OPT_OUT_CODE, "Unable to deliver the message",
                                         "The user has stopped marketing messages (recorded opt-out)."), now)
                continue
            if self.ctx.enforce_window and job.body.get("type") != "template":
                last = contact.last_inbound if contact is not None else None
                if last is None or now - last > SERVICE_WINDOW_S:
                    if job.fallback is not None and not job.used_fallback:
                        log.info("job %s to %s: window closed (local check): sending the fallback template",
                                 job.id, job.to, extra={"job_id": job.id, "code": WINDOW_CLOSED_CODE})
                        job = dataclasses.replace(job, body=dict(job.fallback), used_fallback=True)
                        self._swapped.add(job.id)
                    else:
                        self._local_fail(job, Decision(Action.FAIL, "window closed (local check)"),
                                         Failure(WINDOW_CLOSED_CODE, "Re-engagement message",
                                                 "No customer message in the last 24 hours: only a template "
                                                 "can be sent (local check, no call made)."), now)
                        continue
            keep.append(job)
        return keep

    def _local_fail(self, job: Job, decision: Decision, failure: Failure, now: float) -> None:
        self.report.local_failures += 1
        # The claim took a pair token, but no call was made: nothing reached the user, so give it back.
        self._outcomes.push(self.ctx.settler.failure(job, decision, failure, now, called=False, refund=True,
                                            worker=self.worker_id))

    @property
    def interval(self) -> float:
        """Seconds between this worker's slots, slowed down after throttling errors."""
        gate = self.ctx.gate
        pacing = self.ctx.pacing
        base = self.base_interval if gate is None else gate.interval_s(self.base_interval, pacing.utilisation,
                                                                       pacing.max_mps)
        return base / self._rate_factor

    def _throttled(self) -> None:
        now = time.monotonic()
        # One decrease per window: the calls already in flight were sent at the old rate, and
        # counting each of their errors would collapse the rate far below the real limit.
        if now - self._last_decrease < RATE_DECREASE_WINDOW_S:
            return
        self._last_decrease = now
        self._rate_factor = max(MIN_RATE_FACTOR, self._rate_factor * RATE_DECREASE)
        self._rate_checked = now
        log.warning("throughput error despite pacing: sending at %.0f%% of %s mps for now",
                    self._rate_factor * 100, self.ctx.pacing.mps)

    def _recover_rate(self) -> None:
        now = time.monotonic()
        if self._rate_factor < 1.0 and now - self._rate_checked >= 1.0:
            self._rate_factor = min(1.0, self._rate_factor + RATE_INCREASE * (now - self._rate_checked))
            self._rate_checked = now

    async def _schedule(self, jobs: list[Job]) -> None:
        self._recover_rate()
        try:
            start = await self.db(self.store.reserve, self.phone, len(jobs), self.ctx.clock(), self.interval)
        except StoreError as exc:
            log.warning("slot reservation failed (%s); retrying", exc)
            self._reslot.extend(jobs)
            await self._sleep(0.5)
            return
        interval = self.interval
        for i, job in enumerate(jobs):
            self._ready.append((start + i * interval, job))
        self._ready_event.set()
        self._slots_end = max(self._slots_end, start + len(jobs) * interval)

    # --- dispatcher -------------------------------------------------------------------------------
    async def _dispatcher(self) -> None:
        while True:
            if not self._ready:
                if self._producing_done.is_set():
                    return
                self._ready_event.clear()
                await _first_of(self._ready_event, self._producing_done)
                continue
            if self.stop.is_set():
                return  # unsent claims are released after the calls in flight finish
            slot, job = self._ready[0]
            now = self.ctx.clock()
            if slot > now:
                await self._sleep(slot - now)
                continue
            self._ready.popleft()
            if self._paused_until > now or now - slot > self.max_lag_s:
                # Paused, or late (slow calls, a busy loop): a stale slot could overlap another
                # worker's, so the job gets a fresh slot rather than going out in a burst.
                self._reslot.append(job)
                self.report.late += self._paused_until <= now
                continue
            due = [job]
            while self._ready and self._ready[0][0] <= now and len(due) < self.concurrency:
                due.append(self._ready.popleft()[1])
            await self._fire(due)

    async def _fire(self, due: list[Job]) -> None:
        # One job twice in memory (a stale held copy and its re-claim) must go out once.
        due = list({job.id: job for job in due}.values())
        for _ in due:
            await self._free.acquire()
        if self._paused_until > self.ctx.clock():
            # An answer that came while we waited for a free call paused the number: hold these.
            for _ in due:
                self._free.release()
            self._reslot.extend(due)
            return
        try:
            # A template Meta held since admission: checked with the calls free (its answer may have freed one).
            if self.ctx.gate is not None and self.ctx.gate.stale(due):
                kept = await self.db_retry(self.ctx.gate.admit, due, self.ctx.clock(), self.worker_id)
                for _ in range(len(due) - len(kept)):
                    self._free.release()
                due = kept
            lane = self._send_lane
            mine = set(await lane.retry(lane.store.mark_sending, [j.id for j in due], self.ctx.clock(),
                                        lease_s=self.ctx.lease_s, worker=self.worker_id,
                                        pair_interval_s=self.ctx.pacing.pair_spacing_s))
        except BaseException:
            for _ in due:
                self._free.release()
            raise
        for job in due:
            if job.id not in mine:
                self._free.release()
                self._swapped.discard(job.id)  # a re-claim decides its fallback again
                log.warning("job %s: not sent (lease lost, or held for the pair gap)", job.id, extra={"job_id": job.id})
                continue
            task = asyncio.create_task(self._send(job))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send(self, job: Job) -> None:
        try:
            self.report.sent += 1
            try:
                wamid = await self.ctx.sender.send(job.body)
            except errors.WhatsAppError as exc:
                d = exc.detail
                row = errors.lookup(exc.code)
                title = d.title or (row.title if row is not None else None) or d.message or None
                decision = self.ctx.settler.decide(job, exc.code, exc.http_status, title)
                failure = Failure(exc.code, title, d.details or d.message or None, exc.fbtrace_id)
                # An error answer means nothing reached the user, so the pair token goes back
                # (except for 131056 itself, which holds the recipient instead).
                self._after_error(job, decision, failure, refund=decision.action is not Action.RETRY_RECIPIENT)
                return
            except errors.TransportError as exc:
                ambiguous = is_ambiguous(exc)
                decision = self.ctx.policy.transport(ambiguous=ambiguous, failures=job.failures, reason=str(exc))
                self._after_error(job, decision, Failure(None, "transport error", str(exc)[:500]),
                                  refund=not ambiguous)
                return
            except (errors.ValidationError, UnicodeEncodeError) as exc:
                # Refused or unencodable before any request left: a plain local failure, never uncertain.
                decision = Decision(Action.FAIL, f"invalid message: {exc}")
                self._after_error(job, decision, Failure(100, "Invalid parameter", str(exc)[:500]))
                return
            except Exception as exc:  # a bug below us: never lose the job over it
                log.exception("job %s: unexpected error from the client", job.id, extra={"job_id": job.id})
                decision = self.ctx.policy.transport(ambiguous=True, failures=job.failures,
                                                    reason=f"{type(exc).__name__}: {exc}")
                self._after_error(job, decision, Failure(None, type(exc).__name__, str(exc)[:500]))
                return
            self.report.accepted += 1
            self._probe = False
            answered = self.ctx.clock()
            swapped = job.id in self._swapped
            self._swapped.discard(job.id)
            self._outcomes.push(Settlement(Outcome(job.id, JobState.ACCEPTED, answered, wamid=wamid,
                                          body=job.body if job.used_fallback else None,
                                          expect=BEFORE_ACCEPT, worker=self.worker_id,
                                          pair_tat=answered + self.ctx.pacing.pair_spacing_s,
                                          steps=(fallback_step(job, sent=True),) if swapped else ())))
            log.debug("job %s to %s accepted: %s", job.id, job.to, wamid, extra={"job_id": job.id})
        finally:
            self._free.release()

    def _after_error(self, job: Job, decision: Decision, failure: Failure, *, refund: bool = False) -> None:
        now = self.ctx.clock()
        settlement = self.ctx.settler.failure(job, decision, failure, now, refund=refund, worker=self.worker_id)
        if decision.action in (Action.FAIL, Action.DEAD, Action.UNCERTAIN):
            self.report.failed += 1
        else:
            self.report.retried += 1
        if decision.counter == "throttles":
            self._throttled()
        # Any answer but an auth error ends a probe: the number can send again.
        self._probe = decision.action is Action.PAUSE
        if decision.action is Action.PAUSE:
            self._paused_until = now + decision.delay_s  # the settler told the operator
        self._outcomes.push(settlement)

    async def _release_unsent(self) -> None:
        unsent = list(self._reslot)
        self._reslot = []
        while self._ready:
            unsent.append(self._ready.popleft()[1])
        if unsent:
            n = await self.db_retry(self.store.release, [j.id for j in unsent], worker=self.worker_id,
                                    now=self.ctx.clock())
            self.report.released += n
            log.info("released %d claimed jobs on shutdown", n)
