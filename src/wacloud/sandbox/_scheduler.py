"""Timed work on the sandbox clock: statuses, template reviews, webhook retries."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable

from wacloud.sandbox._clock import Clock

log = logging.getLogger("wacloud.sandbox")


class Scheduler:
    """Runs callbacks when the sandbox clock reaches their time (also when the clock is advanced)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._wake: asyncio.Event | None = None
        clock.on_change(self.poke)

    def at(self, when: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` at sandbox time ``when``."""
        heapq.heappush(self._heap, (when, next(self._seq), fn))
        if self._heap[0][2] is fn:
            self.poke()

    def after(self, delay: float, fn: Callable[[], None]) -> None:
        """Run ``fn`` ``delay`` sandbox seconds from now."""
        self.at(self._clock.now() + delay, fn)

    def poke(self) -> None:
        """Re-plan the sleep (a new earliest item, or the clock jumped)."""
        if self._wake is not None:
            self._wake.set()

    def clear(self) -> None:
        """Drop everything pending."""
        self._heap.clear()
        self.poke()

    def pending(self) -> int:
        """How many callbacks wait."""
        return len(self._heap)

    def due(self, within: float = 0.0) -> int:
        """How many callbacks are due now (or within ``within`` seconds) and have not run yet."""
        limit = self._clock.now() + within
        return sum(1 for when, _, _ in self._heap if when <= limit)

    def run_due(self) -> int:
        """Run every callback that is due now; returns how many ran."""
        now = self._clock.now()
        ran = 0
        while self._heap and self._heap[0][0] <= now:
            _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:  # one broken callback must not stop statuses for everyone else
                log.exception("sandbox scheduled callback failed")
            ran += 1
        return ran

    async def run(self) -> None:
        """The background loop (one task per app)."""
        self._wake = asyncio.Event()
        while True:
            self.run_due()
            self._wake.clear()
            timeout: float | None = None
            if self._heap and not self._clock.frozen:
                timeout = max(0.0, self._heap[0][0] - self._clock.now())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
