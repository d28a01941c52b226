"""Delivering subscriptions: Standard Webhooks requests, retried, in order per contact, off the webhook path.

Each active subscription has its own asyncio task and its own HTTP client (at most ``concurrency``
connections), so a slow or dead subscriber only ever waits on itself. A task reads a batch of matching
events after the subscription's cursor, sends the events of each contact one after another (contacts in
parallel), retries a failed request with exponential backoff, dead-letters an event after ``max_attempts``
(resuming a subscription requeues its dead letters), pauses the subscription (flagged ``failing``) after
``pause_after`` failed attempts in a row, and moves the cursor past the batch only once every event in it
was delivered or dead-lettered. A
crash before that sends the batch again: at least once, and receivers dedupe by ``webhook-id`` (the event
id). A lease on the subscription's row keeps two gateway processes from delivering it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import anyio.to_thread
import httpx
from standardwebhooks import Webhook

from wacloud.events._subscriptions import DeliveryStats, Subscription, SubscriptionStore
from wacloud.events.log import EventLog
from wacloud.events.model import Event

log = logging.getLogger("wacloud.events")

#: How many recent attempts per subscription the API shows (kept in memory by the delivering process).
RECENT_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How subscriptions are delivered (gateway settings ``subscription_*``)."""

    concurrency: int = 8  #: requests in flight per subscription (always for different contacts)
    timeout_s: float = 10.0  #: one request's timeout
    max_attempts: int = 10  #: attempts per event before it is dead-lettered
    pause_after: int = 20  #: failed attempts in a row before the subscription is paused and flagged
    retry_base_s: float = 0.5  #: first retry delay; doubles per attempt (±20 % jitter)
    retry_max_s: float = 60.0  #: longest retry delay
    batch: int = 200  #: events read per round
    lease_s: float = 15.0  #: how long a process holds a subscription without renewing


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt, as ``GET /v1/subscriptions/{id}`` shows it."""

    event_id: str
    position: int
    attempt: int
    at: float
    status: int | None
    latency_ms: float
    error: str | None

    def as_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"event_id": self.event_id, "position": self.position, "attempt": self.attempt, "at": self.at,
                "status": self.status, "latency_ms": round(self.latency_ms, 2), "error": self.error}


class HeadWatcher:
    """Follows the log's head so readers (subscriptions, live streams) wake up when it grows."""

    def __init__(self, log: EventLog, poll_s: float = 0.1) -> None:
        self.log = log
        self.poll_s = poll_s
        self.head = 0
        self._changed = asyncio.Event()

    async def run(self) -> None:
        """Poll the head until cancelled (a database outage is waited out)."""
        while True:
            try:
                head = await anyio.to_thread.run_sync(self.log.head)
            except Exception as exc:  # the database is down: readers keep what they have
                log.warning("event log head unavailable: %s", exc)
                head = self.head
            if head != self.head:
                self.head = head
                self._changed.set()
                self._changed = asyncio.Event()
            await asyncio.sleep(self.poll_s)

    async def wait_past(self, position: int, timeout_s: float) -> bool:
        """Wait until the head is past ``position`` (True) or ``timeout_s`` went by (False)."""
        deadline = time.monotonic() + timeout_s
        while self.head <= position:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        return True

    async def follow(self, after: int, *, batch: int, ping_s: float, types: Sequence[str] | None = None,
                     numbers: Sequence[str] | None = None) -> AsyncIterator[list[Event]]:
        """The log's events after ``after``, in batches of at most ``batch``, for as long as the caller
        reads (an empty batch every ``ping_s`` at most when nothing came): what a live stream serves."""
        cursor = after
        while True:
            head = await anyio.to_thread.run_sync(self.log.head)
            found = await anyio.to_thread.run_sync(partial(self.log.read, cursor, batch, types=types,
                                                           numbers=numbers))
            if found:
                yield found
                cursor = found[-1].position
            if len(found) < batch:
                # Filtered reads may skip positions: jump to the head read before them, then wait for more.
                cursor = max(cursor, head)
                await self.wait_past(cursor, ping_s)


def _contact_key(event: Event) -> str:
    """Events with the same key are delivered in order (one customer of one number, or a number's own)."""
    c = event.contact
    # The phone number first: a job's event knows only the address it was sent to, a webhook's knows more.
    who = (c.wa_id or c.bsuid or c.parent_bsuid or c.username or c.contact_id or "") if c is not None else ""
    return f"{event.phone_number_id}\x00{who}"


@dataclass
class _Round:
    """One round of a subscription's task: its stats and whether it must stop early."""

    sub: Subscription
    stats: DeliveryStats
    halted: bool = False
    signer: Webhook | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    woken: asyncio.Event | None = None  #: the dispatcher's poke event when the round's row was read


def new_holder() -> str:
    """This process's lease holder name (host, pid and a random token)."""
    return f"{socket.gethostname()}#{os.getpid()}.{secrets.token_hex(4)}"


def holder_is_dead(holder: str | None) -> bool:
    """True only when ``holder`` ran on this host and its process is gone (a crash, SIGKILL)."""
    if not holder or "#" not in holder:
        return False
    host, _, rest = holder.partition("#")
    pid_text = rest.partition(".")[0]
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive (another user's), or not ours to judge
    return False


class SubscriptionDispatcher:
    """Runs one delivery task per active subscription (:meth:`run`), until :meth:`stop`."""

    def __init__(self, store: SubscriptionStore, log: EventLog, policy: DeliveryPolicy | None = None, *,
                 watcher: HeadWatcher | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 holder: str | None = None) -> None:
        self.store = store
        self.log = log
        self.policy = policy or DeliveryPolicy()
        self.watcher = watcher or HeadWatcher(log)
        self.holder = holder or new_holder()
        self.attempts: dict[str, deque[Attempt]] = {}
        self._transport = transport
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._poke = asyncio.Event()
        self._woken = asyncio.Event()  # set (and replaced) by poke: idle subscription tasks look again
        self._stopping = False
        self._own_watcher = watcher is None

    def poke(self) -> None:
        """Look at the subscriptions now (one was created, resumed or replayed)."""
        self._poke.set()
        # An idle task waits for the log to grow; a replay moved its cursor back without that.
        self._woken.set()
        self._woken = asyncio.Event()

    def recent(self, sub_id: str) -> list[Attempt]:
        """The last attempts this process made for ``sub_id``, newest last."""
        return list(self.attempts.get(sub_id, ()))

    async def run(self) -> None:
        """Start and stop the subscriptions' tasks as subscriptions come and go."""
        watching = asyncio.create_task(self.watcher.run(), name="wacloud-events-head") if self._own_watcher else None
        try:
            while not self._stopping:
                try:
                    subs = await anyio.to_thread.run_sync(self.store.all)
                except Exception as exc:
                    log.warning("subscriptions unavailable: %s", exc)
                    subs = []
                for sub in subs:
                    task = self._tasks.get(sub.id)
                    if sub.state == "active" and (task is None or task.done()):
                        self._tasks[sub.id] = asyncio.create_task(self._serve(sub.id), name=f"wacloud-sub-{sub.id}")
                self._poke.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poke.wait(), 1.0)
        finally:
            if watching is not None:
                watching.cancel()
                with contextlib.suppress(BaseException):
                    await watching

    async def stop(self) -> None:
        """Cancel the tasks (their batches are sent again later) and give the leases back."""
        self._stopping = True
        self._poke.set()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task

    async def _serve(self, sub_id: str) -> None:
        p = self.policy
        limits = httpx.Limits(max_connections=p.concurrency, max_keepalive_connections=p.concurrency)
        client = httpx.AsyncClient(timeout=p.timeout_s, limits=limits, transport=self._transport)
        stats = DeliveryStats()
        try:
            while not self._stopping:
                woken = self._woken  # taken before the row is read: a poke meanwhile is not missed
                sub = await anyio.to_thread.run_sync(self.store.lease, sub_id, self.holder, time.time(), p.lease_s)
                if sub is None:
                    held = await anyio.to_thread.run_sync(self.store.get, sub_id)
                    if held is None:
                        return  # deleted
                    gone = held.holder
                    if gone is not None and holder_is_dead(gone):  # a process of this host died: no need to wait
                        sub = await anyio.to_thread.run_sync(
                            self.store.take_over, sub_id, gone, self.holder, time.time(), p.lease_s)
                    if sub is None:
                        await asyncio.sleep(p.lease_s / 3)  # another process delivers it: take over if it stops
                        continue
                if sub.state != "active":
                    return
                stats.consecutive_failures = sub.consecutive_failures
                run = _Round(sub, stats, signer=Webhook(sub.secret), woken=woken)
                await self._replay_dead(run, client)
                if run.halted:
                    continue
                await self._round(run, client)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("subscription %s: delivery stopped with an error (restarted shortly)", sub_id)
        finally:
            with contextlib.suppress(Exception):
                await anyio.to_thread.run_sync(self.store.release, sub_id, self.holder)
            await client.aclose()

    async def _round(self, run: _Round, client: httpx.AsyncClient) -> None:
        """Deliver one batch after the cursor and move the cursor past it (or wait for events)."""
        sub, p = run.sub, self.policy
        head = await anyio.to_thread.run_sync(self.log.head)
        events = await anyio.to_thread.run_sync(
            lambda: self.log.read(sub.cursor, p.batch, types=sub.types, numbers=sub.numbers))
        if not events:
            if head > sub.cursor:  # only events this subscription does not want: skip them for good
                await anyio.to_thread.run_sync(self.store.advance, sub.id, sub.generation, head, run.stats)
            await self._idle(run.woken or self._woken, max(head, sub.cursor), p.lease_s / 3)
            return
        if not await self._deliver_batch(run, client, events):
            await anyio.to_thread.run_sync(self.store.save_stats, sub.id, run.stats)
            return
        # Everything up to ``head`` was read when the batch was not full (positions commit in order).
        end = max(events[-1].position, head) if len(events) < p.batch else events[-1].position
        await anyio.to_thread.run_sync(self.store.advance, sub.id, sub.generation, end, run.stats)

    async def _idle(self, woken: asyncio.Event, position: int, timeout_s: float) -> None:
        """Wait for events past ``position``, a :meth:`poke` (e.g. a replay), or ``timeout_s``."""
        waits = [asyncio.ensure_future(self.watcher.wait_past(position, timeout_s)),
                 asyncio.ensure_future(woken.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _deliver_batch(self, run: _Round, client: httpx.AsyncClient, events: Sequence[Event]) -> bool:
        groups: dict[str, list[Event]] = {}
        for ev in events:
            groups.setdefault(_contact_key(ev), []).append(ev)
        gate = asyncio.Semaphore(self.policy.concurrency)

        async def one_contact(evs: list[Event]) -> bool:
            async with gate:
                for ev in evs:
                    if not await self._deliver(run, client, ev):
                        return False
                return True

        done = await asyncio.gather(*(one_contact(g) for g in groups.values()))
        return all(done) and not run.halted

    async def _replay_dead(self, run: _Round, client: httpx.AsyncClient) -> None:
        """Dead letters marked for replay go first, in log order."""
        sub = run.sub
        dead = await anyio.to_thread.run_sync(
            lambda: self.store.dead_letters(sub.id, requeued_only=True, limit=self.policy.batch))
        if not dead:
            return
        positions = [d["position"] for d in dead]
        events = {e.position: e for e in await anyio.to_thread.run_sync(self.log.at_positions, positions)}
        for position in positions:
            ev = events.get(position)
            if ev is None or await self._deliver(run, client, ev, replaying=True):
                # Delivered (or pruned by retention: nothing left to send).
                await anyio.to_thread.run_sync(self.store.forget_dead, sub.id, position)
            if run.halted:
                break
        await anyio.to_thread.run_sync(self.store.save_stats, sub.id, run.stats)

    async def _post(self, run: _Round, client: httpx.AsyncClient, ev: Event,
                    body: str) -> tuple[int | None, str | None]:
        now = datetime.now(UTC)
        assert run.signer is not None
        headers = {"content-type": "application/json", "user-agent": "wacloud-events/1", "webhook-id": ev.id,
                   "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": run.signer.sign(ev.id, now, body)}
        try:
            response = await client.post(run.sub.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    async def _deliver(self, run: _Round, client: httpx.AsyncClient, ev: Event, *, replaying: bool = False) -> bool:
        """Send one event until it is delivered (True), dead-lettered (True) or the round stops (False)."""
        p, sub, st = self.policy, run.sub, run.stats
        body = json.dumps(ev.as_json(), separators=(",", ":"), ensure_ascii=False)
        attempt = 0
        while True:
            if run.halted or self._stopping:
                return False
            attempt += 1
            started = time.perf_counter()
            status, error = await self._post(run, client, ev, body)
            latency = (time.perf_counter() - started) * 1000
            now = time.time()
            self.attempts.setdefault(sub.id, deque(maxlen=RECENT_ATTEMPTS)).append(
                Attempt(ev.id, ev.position, attempt, now, status, latency, error))
            st.last_status, st.last_error, st.last_latency_ms, st.last_attempt_at = status, error, latency, now
            if error is None:
                st.delivered += 1
                st.consecutive_failures = 0
                st.next_retry_at = None
                return True
            st.failed_attempts += 1
            st.consecutive_failures += 1
            if st.consecutive_failures >= p.pause_after:
                await self._pause(run, f"paused after {st.consecutive_failures} failed attempts in a row "
                                       f"(last: {error})")
                return False
            if attempt >= p.max_attempts:
                await anyio.to_thread.run_sync(self.store.dead_letter, sub.id, ev.position, ev.id, attempt, error)
                if not replaying:
                    st.dead_lettered += 1
                log.warning("subscription %s: event %s dead-lettered after %d attempts (%s)",
                            sub.id, ev.id, attempt, error)
                return not replaying
            delay = min(p.retry_max_s, p.retry_base_s * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
            st.next_retry_at = now + delay
            if delay >= 1.0 and not await self._still_ours(run):
                return False
            await asyncio.sleep(delay)

    async def _still_ours(self, run: _Round) -> bool:
        """Before a long wait: show the pending retry, renew the lease, and stop if paused or replayed."""
        async with run.lock:
            if run.halted:
                return False
            await anyio.to_thread.run_sync(self.store.save_stats, run.sub.id, run.stats)
            now = await anyio.to_thread.run_sync(
                self.store.lease, run.sub.id, self.holder, time.time(), self.policy.lease_s)
            if now is None or now.state != "active" or now.generation != run.sub.generation:
                run.halted = True
        return not run.halted

    async def _pause(self, run: _Round, reason: str) -> None:
        async with run.lock:
            if run.halted:
                return
            run.halted = True
            log.warning("subscription %s: %s", run.sub.id, reason)
            await anyio.to_thread.run_sync(self.store.save_stats, run.sub.id, run.stats)
            await anyio.to_thread.run_sync(lambda: self.store.set_state(run.sub.id, "paused", reason, failing=True))
