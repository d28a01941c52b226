"""The relay: carries the event log to one output (an :class:`~wacloud.events.model.EventSink`).

It reads the log (an :class:`~wacloud.events.model.EventSource`) after a persisted cursor, publishes a
batch, and moves the cursor only once the output has confirmed the batch. A crash or an outage between
the two publishes the batch again on restart: delivery is at least once, and receivers dedupe by the
event id. When the output fails (a broker restarting, a network cut) the relay waits with growing pauses
and tries again, the output reconnecting on its next publish; the log's writers never wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from wacloud.events.model import Event, EventSink, EventSource

log = logging.getLogger("wacloud.events.relay")

#: Events read and published per batch.
DEFAULT_BATCH = 200
#: Pause between polls of the log when it has nothing new.
DEFAULT_POLL_S = 0.5
#: Pause after a failed publish, doubled each time up to the cap (with a little jitter).
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 30.0


class CursorStore(Protocol):
    """Where each output stands in the log, kept across restarts (the delivery store's
    ``event_output_cursors``: :class:`wacloud.delivery.EventCursors`)."""

    def position(self, name: str) -> int:
        """The last position ``name`` delivered (0: none)."""
        ...

    def advance(self, name: str, position: int) -> None:
        """Record that ``name`` delivered everything up to ``position``."""
        ...


@dataclass
class RelayStats:
    """What a relay did so far (for logs, metrics and tests)."""

    position: int = 0
    published: int = 0
    batches: int = 0
    failures: int = 0
    #: Consecutive failures of the current outage (0 once a batch went through).
    failing: int = 0
    last_error: str | None = None
    last_success_at: float | None = None


class Relay:
    """Follows ``source`` from ``cursors``'s position for ``name`` and publishes to ``sink``.

    ``types``/``numbers`` filter what this output carries. The log and the cursor are read in a worker
    thread (they are blocking database calls), so the event loop is never held up by them.
    """

    def __init__(
        self,
        source: EventSource,
        sink: EventSink,
        cursors: CursorStore,
        *,
        name: str | None = None,
        batch: int = DEFAULT_BATCH,
        poll_s: float = DEFAULT_POLL_S,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
        types: Sequence[str] | None = None,
        numbers: Sequence[str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.source = source
        self.sink = sink
        self.cursors = cursors
        self.name = name or sink.name
        self.batch = batch
        self.poll_s = poll_s
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.types = list(types) if types else None
        self.numbers = list(numbers) if numbers else None
        self.stats = RelayStats()
        self._sleep = sleep
        self._stopping = asyncio.Event()

    async def step(self) -> int:
        """One batch: read after the cursor, publish, advance. Returns how many events went out (0: none
        new). Raises what the sink raised (the cursor stays where it was)."""
        after = await asyncio.to_thread(self.cursors.position, self.name)
        events: list[Event] = await asyncio.to_thread(
            self.source.read, after, self.batch, types=self.types, numbers=self.numbers
        )
        if not events:
            self.stats.position = after
            return 0
        await self.sink.publish(events)
        last = events[-1].position
        await asyncio.to_thread(self.cursors.advance, self.name, last)
        st = self.stats
        st.position, st.published, st.batches = last, st.published + len(events), st.batches + 1
        st.failing, st.last_success_at = 0, time.time()
        return len(events)

    async def run(self) -> None:
        """Relay until :meth:`stop`; failures are logged and retried with growing pauses."""
        delay = self.retry_first_s
        while not self._stopping.is_set():
            try:
                sent = await self.step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                st = self.stats
                st.failures += 1
                st.failing += 1
                st.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.warning("output %s failed (%s); retrying in %.1f s", self.name, st.last_error, delay)
                await self._pause(delay * (1 + random.random() * 0.2))
                delay = min(delay * 2, self.retry_max_s)
                continue
            delay = self.retry_first_s
            if sent < self.batch:
                await self._pause(self.poll_s)

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once on :meth:`stop`."""
        if self._stopping.is_set():
            return
        waiter = asyncio.ensure_future(self._stopping.wait())
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait([waiter, sleeper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in flight."""
        self._stopping.set()

    async def close(self) -> None:
        """Stop and close the output's connections."""
        self.stop()
        with contextlib.suppress(Exception):
            await self.sink.close()
