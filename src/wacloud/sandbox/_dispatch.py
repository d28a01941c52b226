"""Webhook delivery like Meta's: signed POSTs from background tasks, retried, maybe duplicated."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import wacloud.sandbox._payloads as _payloads
from wacloud.sandbox._http11 import Http11Connection, WebhookHTTPError
from wacloud.webhooks.signature import HEADER, sign

if TYPE_CHECKING:
    from wacloud.sandbox._state import SandboxState

log = logging.getLogger("wacloud.sandbox")


@dataclass(slots=True)
class _Item:
    """One webhook to deliver: a status (batchable) or a whole ready payload."""

    field: str
    value: dict[str, Any] | None
    status: dict[str, Any] | None = None
    body: bytes | None = None
    attempt: int = 0
    log_entry: dict[str, Any] | None = None
    generation: int = 0
    duplicate: bool = False
    phone_number_id: str | None = None


class WebhookQueue:
    """Bounded queues drained by ``webhook_concurrency`` workers; one queue per shard keeps each
    recipient's webhooks in order (unless reordering or retries are configured)."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._queues: list[asyncio.Queue[_Item]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False
        self._busy = 0
        self._idle: asyncio.Event | None = None
        self._seq = 0
        self.generation = 0

    # --- producers (called from the event loop) ---------------------------------------------------

    def emit_status(self, shard: str, status: dict[str, Any], phone_number_id: str | None = None) -> None:
        """Queue one status object (may be batched with others ready at the same moment)."""
        self._put(shard, _Item("messages", None, status=status, phone_number_id=phone_number_id))

    def emit(self, shard: str, field: str, value: dict[str, Any], *, with_time: bool = False) -> None:
        """Queue one change as its own webhook."""
        body = json.dumps(_payloads.envelope(self._state, field, value, with_time=with_time)).encode()
        self._put(shard, _Item(field, value, body=body))

    def _put(self, shard: str, item: _Item) -> None:
        stats = self._state.webhook_stats
        if not self._state.config.webhook_url:
            stats["not_configured"] += 1
            return
        if not self._queues:
            stats["dropped_not_running"] += 1
            return
        item.generation = self.generation
        queue = self._queues[zlib.crc32(shard.encode()) % len(self._queues)]
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            stats["dropped_queue_full"] += 1

    def clear(self) -> None:
        """Forget queued webhooks (a reset); retries already scheduled are ignored by generation."""
        self.generation += 1
        for queue in self._queues:
            while not queue.empty():
                queue.get_nowait()

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the workers (from the app's lifespan)."""
        cfg = self._state.config
        self._running = True
        self._idle = asyncio.Event()
        self._idle.set()
        self._queues = [
            asyncio.Queue(maxsize=max(1, cfg.webhook_queue_max // max(1, cfg.webhook_concurrency)))
            for _ in range(max(1, cfg.webhook_concurrency))
        ]
        self._tasks = [asyncio.create_task(self._worker(q)) for q in self._queues]

    async def stop(self) -> None:
        """Stop the workers (closing their connections)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self._queues = []
        self._running = False

    async def settle(self) -> None:
        """Wait (a bounded time) for deliveries in flight, so none lands after a reset."""
        if self._busy and self._idle is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._state.config.webhook_timeout_s):
                    await self._idle.wait()

    def pending(self) -> int:
        """Webhooks waiting in the queues or being delivered."""
        return sum(q.qsize() for q in self._queues) + self._busy

    # --- workers -------------------------------------------------------------------------------

    async def _worker(self, queue: asyncio.Queue[_Item]) -> None:
        conn = Http11Connection(self._state.config.webhook_timeout_s)
        try:
            await self._work(queue, conn)
        finally:
            await conn.close()

    async def _work(self, queue: asyncio.Queue[_Item], conn: Http11Connection) -> None:
        carry: _Item | None = None
        while True:
            item = carry if carry is not None else await queue.get()
            carry = None
            if item.generation != self.generation:
                continue
            self._busy += 1
            if self._idle is not None:
                self._idle.clear()
            try:
                carry = await self._handle(queue, conn, item)
            finally:
                self._busy -= 1
                if not self._busy and self._idle is not None:
                    self._idle.set()

    async def _handle(self, queue: asyncio.Queue[_Item], conn: Http11Connection, item: _Item) -> _Item | None:
        """Deliver ``item`` (batched with ready statuses); returns a taken item that could not join."""
        carry: _Item | None = None
        if item.body is None:
            batch = [item]
            cfg = self._state.config
            limit = cfg.webhook_batch_max
            if limit > 1 and cfg.webhook_linger_s > 0:
                # Wait a moment for more statuses: under load this turns thousands of POSTs per
                # second into a few dozen batched ones, as Meta does.
                await asyncio.sleep(cfg.webhook_linger_s)
            while len(batch) < limit and not queue.empty():
                nxt = queue.get_nowait()
                if nxt.generation != self.generation:
                    continue
                if nxt.body is not None or nxt.phone_number_id != item.phone_number_id:
                    carry = nxt  # a whole payload, or another business number: its own POST
                    break
                batch.append(nxt)
            value = _payloads.statuses_value(self._state, [b.status for b in batch if b.status], item.phone_number_id)
            item = _Item(
                "messages",
                value,
                body=json.dumps(_payloads.envelope(self._state, "messages", value)).encode(),
                generation=item.generation,
            )
        try:
            await self._deliver(item, conn)
        except Exception:  # a bug in one delivery must not stop the worker
            log.exception("sandbox webhook delivery failed")
        return carry

    async def _deliver(self, item: _Item, conn: Http11Connection) -> None:
        state = self._state
        cfg = state.config
        url = cfg.webhook_url
        assert item.body is not None
        if not url or not self._running:
            state.webhook_stats["not_configured"] += 1
            return
        if item.log_entry is None:
            self._seq += 1
            item.log_entry = {
                "id": self._seq,
                "field": item.field,
                "attempts": 0,
                "state": "pending",
                "http_status": None,
                "payload": json.loads(item.body),
            }
            state.webhook_log.append(item.log_entry)
        entry = item.log_entry
        entry["attempts"] += 1
        headers = {
            "Content-Type": "application/json",
            HEADER: sign(item.body, cfg.app_secret),
            "User-Agent": "facebookexternalua",
        }
        status: int | None = None
        conn.timeout = cfg.webhook_timeout_s
        try:
            status = await conn.post(url, item.body, headers)
        except WebhookHTTPError as exc:
            entry["error"] = str(exc)
        entry["http_status"] = status
        if item.generation != self.generation:
            return
        if status == 200:
            entry["state"] = "delivered"
            state.webhook_stats["delivered"] += 1
            if not item.duplicate and cfg.duplicate_rate and state.rng.random() < cfg.duplicate_rate:
                state.webhook_stats["duplicates"] += 1
                dup = _Item(item.field, item.value, body=item.body, generation=item.generation, duplicate=True)
                state.scheduler.after(state.rng.uniform(0.0, 0.05), lambda: self._requeue(dup))
            return
        state.webhook_stats["failed_attempts"] += 1
        delays = cfg.webhook_retry_delays_s
        if item.attempt < len(delays):
            delay = delays[item.attempt]
            item.attempt += 1
            entry["state"] = "retrying"
            state.scheduler.after(delay, lambda: self._requeue(item))
        else:
            entry["state"] = "given_up"
            state.webhook_stats["given_up"] += 1

    def _requeue(self, item: _Item) -> None:
        if item.generation != self.generation or not self._queues:
            return
        shard = str(item.log_entry["id"]) if item.log_entry else "dup"
        queue = self._queues[zlib.crc32(shard.encode()) % len(self._queues)]
        try:
            queue.put_nowait(item)
        except asyncio.QueueFull:
            self._state.webhook_stats["dropped_queue_full"] += 1
