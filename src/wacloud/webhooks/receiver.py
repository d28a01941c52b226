"""The framework-free webhook receiver: raw request in, status and body out.

``handle_get(query)`` answers Meta's verification handshake. ``handle_post(raw_body, headers)``
checks the size cap, the ``X-Hub-Signature-256`` of the exact raw bytes (constant time), the content
type and the JSON envelope; only then is the payload stored (when an inbox is configured: before the
200) and its updates dispatched. Duplicates (by message id, by status id and status) are dropped
through a :class:`~wacloud.webhooks.store.DedupStore`.

Failures never turn into a non-200 (Meta would redeliver the whole payload for days); what happens
to the payload depends on whose failure it is:

* a *bot handler* (user code in :class:`~wacloud.webhooks.Application`) that raises is logged with the
  update id by the application, and the update counts as handled (no loop on a buggy handler);
* an exception out of the dispatcher itself (the gateway's outbox or conversation log, a plain
  ``on_update`` callable, the dedup store) means the update was *not* handled: the payload stays
  pending and is retried in this process with exponential backoff (``retry_first_s`` doubling up to
  ``retry_max_s``); after ``max_attempts`` failed attempts it is set aside (dead-lettered with the
  reason, logged, counted in :attr:`WebhookReceiver.stats`) instead of being retried forever.

An update that fails does not stop the others of its payload; a retried payload re-runs only the updates not yet
completed: each completed update leaves a ``done:<key>`` mark in the dedup store. With a
:class:`~wacloud.webhooks.store.LeasedInboxStore` (the delivery engine's SQLite and PostgreSQL stores) each
payload is leased to one process at a time: the one that answered it (the lease is renewed while it is
processed), or whoever claims it once it is due (a retry, or a payload left by a process that died: due when its
lease lapses, ``lease_s``), so several processes sharing one inbox never process one payload twice.

Adapters split the POST in two to ack fast: :meth:`~WebhookReceiver.accept` (checks + store, then answer)
and :meth:`~WebhookReceiver.process` / :meth:`process_sync` (after the answer); due retries run from
:meth:`~WebhookReceiver.run_due` (the ASGI app calls it every ``retry_poll_s``; the async paths make
their store calls in the receiver's own worker thread, a :class:`~wacloud.webhooks.offload.Lane`) or
:meth:`~WebhookReceiver.tick_sync` (sync adapters, after requests).

With an inbox that is a :class:`~wacloud.webhooks.store.GroupInbox` (the gateway's SQLite webhook store), a
payload is stored together with the claims of its updates and settled (last marks + removal) in one
transaction each, shared by the requests of the moment (:mod:`wacloud.webhooks._group`): about one write
transaction per request instead of four.
"""

from __future__ import annotations

import heapq
import hmac
import itertools
import json
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

import wacloud.webhooks.signature as signature
from wacloud._json import dumps
from wacloud.limits import WEBHOOK_MAX_BODY_BYTES
from wacloud.webhooks._group import Result, Settle
from wacloud.webhooks._outcomes import Outcomes
from wacloud.webhooks.leases import LeaseKeeper
from wacloud.webhooks.offload import URGENT, Lane, off_loop
from wacloud.webhooks.parsing import envelope_problem, loads, parse
from wacloud.webhooks.received import (
    BatchDispatcher,
    CallbackDispatcher,
    Dispatcher,
    ReceivedPayload,
    ReceiverStats,
)
from wacloud.webhooks.steps import Blocking, Twin, Work, run_async, run_sync
from wacloud.webhooks.store import (
    DedupStore,
    GroupInbox,
    InboxStore,
    LeasedInboxStore,
    MemoryDedupStore,
)
from wacloud.webhooks.updates import Update

logger = logging.getLogger("wacloud.webhooks")

_OK = b'{"ok":true}'
_SIG = signature.HEADER.lower()
#: How many stored payloads a resume reads at a time.
RESUME_BATCH = 100
#: Failed attempts after which a payload is set aside (dead-lettered) instead of retried.
MAX_ATTEMPTS = 8
#: Delay before the first retry of a failed payload; it doubles each time up to ``RETRY_MAX_S``.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 300.0
#: How long a payload stays leased to its process without a renewal (renewed every third of it):
#: the longest a payload left by a dead process waits before another process takes it.
LEASE_S = 5.0
#: How often the ASGI app looks for due retries (and payloads whose lease lapsed).
RETRY_POLL_S = 1.0
#: How long the event loop waits for an update's "done" mark before awaiting it (see _process).
MARK_HOLD_S = 0.05
#: Dead letters kept in memory when the inbox cannot keep them (no inbox, or one without leases).
DEAD_LETTERS_KEPT = 100


def _error(reason: str) -> bytes:
    return json.dumps({"error": reason}).encode()


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup on any mapping (``name`` given in lower case)."""
    value = headers.get(name)
    if value is None:
        for key, val in headers.items():
            if key.lower() == name:
                return val
    return value


class WebhookReceiver(Outcomes):
    """Verification, signature, limits, durable inbox, dedup and dispatch — without a web framework."""

    def __init__(
        self,
        *,
        app_secret: str | None = None,
        verify_token: str | None = None,
        allow_unsigned: bool = False,
        max_body_bytes: int = WEBHOOK_MAX_BODY_BYTES,
        dedup: DedupStore | None = None,
        inbox: InboxStore | None = None,
        on_update: Dispatcher | Callable[[Update], Any] | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
        lease_s: float = LEASE_S,
        retry_poll_s: float = RETRY_POLL_S,
        other_app_secrets: Sequence[str] = (),
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if lease_s <= 0 or retry_first_s < 0 or retry_max_s < retry_first_s or retry_poll_s <= 0:
            raise ValueError("lease_s and retry_poll_s must be positive, 0 <= retry_first_s <= retry_max_s")
        if not app_secret and not allow_unsigned:
            raise ValueError("an app_secret is required to check X-Hub-Signature-256; pass allow_unsigned=True "
                             "to accept unsigned webhooks (development only)")
        self._secret = app_secret or None
        self.set_other_app_secrets(other_app_secrets)
        self._verify_token = verify_token or None
        self.max_body_bytes = max_body_bytes
        self.dedup: DedupStore | None = dedup if dedup is not None else MemoryDedupStore()
        self.inbox = inbox
        self.dispatcher: Dispatcher | None = None
        self._batch_known: tuple[object, BatchDispatcher | None] = (None, None)
        self.set_handler(on_update)
        self.max_attempts = max_attempts
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.lease_s = lease_s
        self.retry_poll_s = retry_poll_s
        self.stats = ReceiverStats()
        #: Payloads set aside that the inbox could not keep: (payload, reason), newest last.
        self.dead_letters: deque[tuple[Any, str]] = deque(maxlen=DEAD_LETTERS_KEPT)
        self._leased: LeasedInboxStore | None = inbox if isinstance(inbox, LeasedInboxStore) else None
        # An inbox that is its own dedup store and writes groups: one transaction per group of requests.
        self._group: GroupInbox | None = (inbox if isinstance(inbox, GroupInbox) and dedup is inbox
                                          and self._leased is not None else None)
        self._keeper: LeaseKeeper | None = None
        if self._leased is not None:
            self._keeper = LeaseKeeper(self._leased, lease_s)
            weakref.finalize(self, self._keeper.stop)
        # In-process retries of deliveries no leased inbox keeps for us: (due, seq, delivery).
        self._retries: list[tuple[float, int, ReceivedPayload]] = []
        self._retry_ids: set[int] = set()
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._last_tick = 0.0
        # The async paths' store calls, one at a time, "done" marks first (see offload.Lane).
        self._lane = Lane("wacloud-webhook-store")
        # Group writes from the event loop's thread (see _group): the puts waiting for the next one.
        self._waiting = {}
        self._inline_after = 0.0
        if self._secret is None:
            logger.warning("webhook signature checking is OFF (allow_unsigned=True and no app secret): "
                           "anyone who can reach this endpoint can inject updates")

    @property
    def stores_block(self) -> bool:
        """False when the stores are in memory (their calls never wait), so no worker thread is needed."""
        return self.inbox is not None or not (self.dedup is None or type(self.dedup) is MemoryDedupStore)

    def set_other_app_secrets(self, other_app_secrets: Sequence[str]) -> None:
        """Accept bodies signed by these secrets too (several Meta apps' numbers; changed at run time)."""
        self._other_secrets = tuple(x for x in other_app_secrets if x and x != self._secret)

    @property
    def signed(self) -> bool:
        """True when POSTs must carry a valid signature."""
        return self._secret is not None

    def set_handler(self, on_update: Dispatcher | Callable[[Update], Any] | None) -> None:
        """Set what receives the updates (a :class:`Dispatcher` or a plain callable)."""
        if on_update is None or isinstance(on_update, Dispatcher):
            self.dispatcher = on_update
        else:
            self.dispatcher = CallbackDispatcher(on_update)

    def __repr__(self) -> str:
        token = "'***'" if self._verify_token else None
        inbox = type(self.inbox).__name__ if self.inbox else None
        return (f"{type(self).__name__}(signed={self.signed}, verify_token={token}, "
                f"max_body_bytes={self.max_body_bytes}, inbox={inbox})")

    # --- GET: verification handshake -----------------------------------------------------------

    def handle_get(self, query: Mapping[str, Any] | str) -> tuple[int, str]:
        """Answer ``hub.mode=subscribe&hub.verify_token=...&hub.challenge=...``: (200, challenge) or 403."""
        params = _query(query)
        if params.get("hub.mode") != "subscribe":
            return 403, "hub.mode must be subscribe"
        if self._verify_token is None:
            return 403, "no verify token is configured"
        token = params.get("hub.verify_token") or ""
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self._verify_token.encode()):
            return 403, "hub.verify_token does not match"
        challenge = params.get("hub.challenge")
        if not challenge:
            return 400, "hub.challenge is missing"
        return 200, challenge

    # --- POST ------------------------------------------------------------------------------------

    def accept(self, raw_body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes, ReceivedPayload | None]:
        """Check a POST and, in durable mode, store it: (status, body, delivery to process or None)."""
        status, body, delivery = self._check(raw_body, headers)
        if delivery is None or self.inbox is None:
            return status, body, delivery
        stored_headers = _stored_headers(headers)
        if self._group is not None:
            put = self._arrival(delivery, raw_body, stored_headers)
            return self._answer_stored(delivery, self._write_group([(put,)])[0])
        try:
            if self._leased is not None:
                # Leased to us from the first instant, so no other process claims it meanwhile.
                delivery.inbox_id = self._leased.put(bytes(raw_body), stored_headers, lease_s=self.lease_s)
            else:
                delivery.inbox_id = self.inbox.put(bytes(raw_body), stored_headers)
        except Exception as exc:
            return self._answer_stored(delivery, exc)
        return status, body, delivery

    async def accept_async(self, raw_body: bytes,
                           headers: Mapping[str, str]) -> tuple[int, bytes, ReceivedPayload | None]:
        """:meth:`accept` from the event loop: store calls run in a worker thread.

        With a :class:`~wacloud.webhooks.store.GroupInbox` the checks run here and the payload goes into
        the next group write, with the POSTs read in the same loop iteration (see :mod:`._group`).
        """
        if self._group is None:
            if self.stores_block:
                return await off_loop(self.accept, raw_body, headers)
            return self.accept(raw_body, headers)
        status, body, delivery = self._check(raw_body, headers)
        if delivery is None:
            return status, body, delivery
        put = self._arrival(delivery, raw_body, _stored_headers(headers))
        return self._answer_stored(delivery, await self._put_async(put))

    def _check(self, raw_body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes, ReceivedPayload | None]:
        """The checks of a POST: (200, body, its delivery) or (status, error body, None)."""
        if len(raw_body) > self.max_body_bytes:
            return 413, _error(f"body is larger than {self.max_body_bytes} bytes"), None
        if self._secret is not None:
            sig = headers.get(_SIG) or header(headers, _SIG)
            if not sig:
                return 401, _error(f"{signature.HEADER} header is missing"), None
            if not (signature.verify(raw_body, sig, self._secret)
                    or any(signature.verify(raw_body, sig, x) for x in self._other_secrets)):
                return 403, _error(f"{signature.HEADER} does not match the body"), None
        content_type = headers.get("content-type") or header(headers, "content-type") or ""
        if content_type != "application/json" and content_type.split(";", 1)[0].strip().lower() != "application/json":
            return 400, _error("Content-Type must be application/json"), None
        if not raw_body:
            return 400, _error("body is empty"), None
        try:
            payload = loads(raw_body)
        except ValueError as exc:
            return 400, _error(f"malformed JSON: {exc}"), None
        problem = envelope_problem(payload)
        if problem:
            return 400, _error(problem), None
        return 200, _OK, ReceivedPayload(payload)

    def _answer_stored(self, delivery: ReceivedPayload, result: Result) -> tuple[int, bytes, ReceivedPayload | None]:
        """The answer once the store has answered: 200, or 503 when the payload could not be stored."""
        if isinstance(result, Exception):
            # Without the stored copy a 200 could lose the payload; let Meta redeliver instead.
            logger.error("could not store the webhook payload; answering 503 so Meta retries", exc_info=result)
            return 503, _error("could not store the payload; retry later"), None
        if result is not None:
            delivery.inbox_id, delivery.claims = result
        return 200, _OK, delivery

    def handle_post(self, raw_body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """Check, store, and dispatch a POST in the calling thread; returns (status, JSON body)."""
        status, body, delivery = self.accept(raw_body, headers)
        if delivery is not None:
            self.process_sync(delivery)
        self.tick_sync()
        return status, body

    # --- processing ------------------------------------------------------------------------------

    def updates(self, delivery: ReceivedPayload) -> list[Update]:
        """The updates of a delivery that were not seen before (claims them, as processing does)."""
        return [upd for i, upd in enumerate(parse(delivery.payload)) if self._claim(delivery, i, upd)]

    def process_sync(self, delivery: ReceivedPayload) -> int:
        """Dispatch the new updates of ``delivery`` in this thread; returns how many were dispatched."""
        self._hold(delivery)
        try:
            return run_sync(self._process(delivery))
        finally:
            self._release(delivery)

    async def process(self, delivery: ReceivedPayload) -> int:
        """Dispatch the new updates of ``delivery`` in the event loop; returns how many were dispatched."""
        self._hold(delivery)
        try:
            return await run_async(self._process(delivery))
        finally:
            self._release(delivery)

    def _process(self, delivery: ReceivedPayload) -> Work[int]:
        """Processing written once: store calls are :class:`Blocking` steps, the dispatch a :class:`Twin`."""
        dispatcher = self.dispatcher
        batch = self._batch_dispatcher(dispatcher)
        # In-memory stores never block: their calls run right here. A hop to the lane's thread and back
        # costs more CPU than the call (it tripled the receiver's CPU per request with the store off).
        inline = not self.stores_block
        updates, delivery.updates = delivery.updates, None
        items = [(delivery, i, upd) for i, upd in enumerate(parse(delivery.payload) if updates is None else updates)]
        # A group inbox settles the payload (last marks + removal) in one write shared with other requests.
        group = self._group is not None and delivery.inbox_id is not None and not inline
        settle: tuple[tuple[ReceivedPayload, int, Update], ...] = ()
        repeatable = False  # the settled updates were all handled by the batch dispatcher
        pre = None if delivery.resumed else delivery.claims
        if pre is not None and not all(pre):  # claimed when stored: a duplicate of another payload's is skipped
            for (_, i, _), ok in zip(items, pre, strict=True):
                if not ok:
                    delivery.completed.add(i)
            items = [item for item, ok in zip(items, pre, strict=True) if ok]
        failure: tuple[Update, Exception] | None = None
        handled = 0
        claimed = pre is not None or (batch is not None and len(items) > 1)
        if batch is not None and len(items) > 1:
            # A payload's updates together: claimed in one step, handled in one call (one transaction
            # for its statuses), marked done in one step; what the dispatcher leaves goes one by one.
            try:
                claims = ([True] * len(items) if pre is not None else [self._claim(*item) for item in items]
                          if inline else (yield Blocking(self._claim_batch, (items,), self._lane)))
            except Exception as exc:  # unclaimed: the retry (a resumed attempt) claims them again
                failure, items = (items[0][2], exc), []
                claims = []
            items = [item for item, ok in zip(items, claims, strict=True) if ok]
            results: list[bool | Exception | None] = [None] * len(items)
            if items:
                try:
                    results = yield Twin(batch.dispatch_batch_sync, batch.dispatch_batch,
                                         ([upd for _, _, upd in items],))
                except Exception:
                    logger.debug("batch dispatch failed; one update at a time", exc_info=True)
            done = [item for item, r in zip(items, results, strict=True) if r is True]
            for item, r in zip(items, results, strict=True):
                if isinstance(r, Exception):
                    failure = failure or (item[2], r)
            items = [item for item, r in zip(items, results, strict=True) if r is None]
            if done and group and failure is None and not items:
                settle, repeatable = tuple(done), True  # their marks go with the payload's removal
            elif done:
                yield from self._mark_done(done, inline)
            handled += len(done)
        for n, item in enumerate(items):
            upd = item[2]
            try:
                if claimed:
                    pass  # claimed when stored, or with the batch above
                elif inline:
                    if not self._claim(*item):
                        continue
                elif not (yield Blocking(self._claim_batch, item, self._lane, batched=True)):
                    continue
                if dispatcher is not None:
                    yield Twin(dispatcher.dispatch_sync, dispatcher.dispatch, (upd,))
            except Exception as exc:
                failure = failure or (upd, exc)
                continue  # the others of the payload still go; its retry runs what did not complete
            handled += 1
            if group and failure is None and n == len(items) - 1:
                settle = (item,)  # the last one's mark goes with the payload's removal
            elif inline:
                self._completed([item])
            else:
                yield from self._mark_done([item], inline)
        if inline:
            self._finish(delivery, failure)
        elif group and failure is None:
            # The mark(s) close the crash window as in _mark_done: the event loop holds until written
            # (unless the batch dispatcher's work, safe to repeat, is all there is).
            yield Twin(self._settle_sync, self._settle_async, (Settle(delivery, settle, repeatable),))
        else:
            yield Blocking(self._finish, (delivery, failure), self._lane)
        return handled

    def _batch_dispatcher(self, dispatcher: Dispatcher | None) -> BatchDispatcher | None:
        """``dispatcher`` if it is a :class:`BatchDispatcher` (remembered: a protocol check costs ~10 µs)."""
        known, batch = self._batch_known
        if known is not dispatcher:
            batch = dispatcher if isinstance(dispatcher, BatchDispatcher) else None
            self._batch_known = (dispatcher, batch)
        return batch

    def _mark_done(self, done: list[tuple[ReceivedPayload, int, Update]], inline: bool) -> Work[None]:
        """Write the "done" marks of handled updates."""
        # The crash window: the handler's effect is done, its mark not yet. Marks go first in the
        # lane, together, and the event loop holds (briefly) until it is written: meanwhile no other
        # handler on the loop can finish, so a crash catches at most this update (batch) mid-window.
        if inline:
            self._completed(done)
        else:
            yield Blocking(self._completed_lists, tuple(done), self._lane, URGENT, batched=True, hold_s=MARK_HOLD_S)

    # --- retries and resume ----------------------------------------------------------------------

    def due(self) -> list[ReceivedPayload]:
        """Deliveries to process now: due in-process retries, then stored payloads due (claimed)."""
        now = time.monotonic()
        out: list[ReceivedPayload] = []
        with self._lock:
            while self._retries and self._retries[0][0] <= now:
                delivery = heapq.heappop(self._retries)[2]
                if delivery.inbox_id is not None:
                    self._retry_ids.discard(delivery.inbox_id)
                out.append(delivery)
        if self._leased is not None and self._keeper is not None:
            try:
                claimed = self._leased.inbox_claim(RESUME_BATCH, self.lease_s)
            except Exception as exc:
                # The store is down: what it holds waits for the next poll (no traceback each second).
                logger.warning("could not claim due webhook payloads: %s: %s", type(exc).__name__, exc)
                claimed = []
            for inbox_id, raw, failures in claimed:
                if self._keeper.holds(inbox_id):
                    continue  # ours, still being processed: the claim only renewed its lease
                stored = self._stored(inbox_id, raw, failures)
                if stored is not None:
                    self._keeper.hold(inbox_id)  # held from the claim on, however long the batch takes
                    out.append(stored)
        return out

    def pending(self) -> list[ReceivedPayload]:
        """One batch to resume, oldest first: with a leased inbox, what :meth:`due` claims; else ``pending``."""
        if self.inbox is None:
            return []
        if self._leased is not None:
            return self.due()
        out: list[ReceivedPayload] = []
        for inbox_id, raw in self.inbox.pending(RESUME_BATCH):
            with self._lock:
                if inbox_id in self._retry_ids:
                    continue  # waiting for its retry in this process
            delivery = self._stored(inbox_id, raw, 0)
            if delivery is not None:
                out.append(delivery)
        return out

    def _stored(self, inbox_id: int, raw: bytes, failures: int) -> ReceivedPayload | None:
        try:
            payload = loads(raw)
        except ValueError:
            self._dead_letter(ReceivedPayload(raw, inbox_id, True, failures), "the stored payload is not JSON")
            return None
        return ReceivedPayload(payload, inbox_id, resumed=True, failures=failures)

    def _batches(self) -> Iterable[list[ReceivedPayload]]:
        seen: set[int] = set()
        while batch := [d for d in self.pending() if d.inbox_id not in seen]:
            seen.update(d.inbox_id or 0 for d in batch)
            yield batch

    def resume_sync(self) -> int:
        """Process every stored payload that is due (call at start); returns how many payloads."""
        count = 0
        for batch in self._batches():
            for delivery in batch:
                try:
                    self.process_sync(delivery)
                finally:
                    self._release(delivery)  # the claim's hold
                count += 1
        if count:
            logger.info("resumed %d stored webhook payload(s)", count)
        return count

    async def resume(self) -> int:
        """Async :meth:`resume_sync` (the store is read in a worker thread)."""
        count, batches = 0, self._batches()
        while (batch := await self._lane.run(next, batches, None)) is not None:
            for delivery in batch:
                try:
                    await self.process(delivery)
                finally:
                    self._release(delivery)
                count += 1
        if count:
            logger.info("resumed %d stored webhook payload(s)", count)
        return count

    async def run_due(self) -> int:
        """Process what is due now (retries, lapsed leases); returns how many deliveries."""
        batch = await self._lane.run(self.due)  # claims from the store: off the event loop
        for delivery in batch:
            try:
                await self.process(delivery)
            finally:
                self._release(delivery)
        return len(batch)

    def run_due_sync(self) -> int:
        """Sync :meth:`run_due`."""
        batch = self.due()
        for delivery in batch:
            try:
                self.process_sync(delivery)
            finally:
                self._release(delivery)
        return len(batch)

    def tick_sync(self) -> int:
        """:meth:`run_due_sync`, at most once every ``retry_poll_s`` (the sync adapters call it)."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_tick < self.retry_poll_s:
                return 0
            self._last_tick = now
        try:
            return self.run_due_sync()
        except Exception:
            logger.exception("running due webhook retries failed")
            return 0

    @property
    def retries_waiting(self) -> int:
        """Deliveries waiting in this process for a retry (a leased inbox keeps its own)."""
        return len(self._retries)

    def close(self) -> None:
        """Stop renewing leases (at shutdown); what is unfinished is taken over once they lapse."""
        if self._keeper is not None:
            self._keeper.stop()


def _stored_headers(headers: Mapping[str, str]) -> str:
    """The headers kept with a stored payload (its signature can be checked again)."""
    content_type = headers.get("content-type") or header(headers, "content-type") or ""
    return dumps({"content-type": content_type, _SIG: headers.get(_SIG) or header(headers, _SIG)})


def _query(query: Mapping[str, Any] | str) -> dict[str, str]:
    if isinstance(query, str):
        return {k: v[0] for k, v in parse_qs(query.lstrip("?"), keep_blank_values=True).items()}
    out: dict[str, str] = {}
    for key, value in query.items():
        if isinstance(value, list | tuple):
            value = value[0] if value else ""
        out[str(key)] = str(value)
    return out
