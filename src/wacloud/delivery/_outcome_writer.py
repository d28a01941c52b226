"""The worker's writer: outcomes stored in batches (each one atomic with its job), early statuses replayed."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable

from wacloud.delivery._lane import StoreLane
from wacloud.delivery._settling import Settler
from wacloud.delivery.model import EarlyStatus, JobState
from wacloud.delivery.outcomes import Settlement, apply_effects
from wacloud.delivery.store import StoreError

log = logging.getLogger("wacloud.delivery")

#: How long outcomes gather before they are stored in one batch. A batch's transaction costs the same
#: dozen statements whatever its size: on PostgreSQL, batches of ~15 outcomes kept the store thread busy
#: 60% of the time at 500 sends/s (an outcome not yet stored only leaves its job "sending" a little
#: longer: after a crash it is uncertain, never sent twice).
GATHER_S = 0.05


class OutcomeWriter:
    """Stores the outcomes the worker pushes, on the worker's store lane, in batches."""

    def __init__(self, lane: StoreLane, phone_number_id: str, settler: Settler, *,
                 hurry: Callable[[], bool] = lambda: False) -> None:
        self.lane = lane
        self.phone = phone_number_id
        self.settler = settler
        #: True when outcomes should be written at once rather than gathered (a probe, a lone send).
        self.hurry = hurry
        self.pending: list[Settlement] = []
        #: Set when everything pushed so far is written.
        self.idle = asyncio.Event()
        self.idle.set()
        self._event = asyncio.Event()
        self._closing = False

    def push(self, settlement: Settlement) -> None:
        """Queue an outcome to be written."""
        self.pending.append(settlement)
        self.idle.clear()
        self._event.set()

    def close(self) -> None:
        """Ask :meth:`run` to write what is pending and return (never cancel it: an outcome could be lost)."""
        self._closing = True
        self._event.set()

    async def run(self) -> None:
        """Write outcomes as they come until :meth:`close`."""
        while True:
            await self._event.wait()
            if not self._closing and not self.hurry():
                await asyncio.sleep(GATHER_S)
            self._event.clear()
            await self.flush()
            if self._closing:
                return

    async def flush(self) -> None:
        """Write everything pending now."""
        while self.pending:
            batch, self.pending = self.pending, []
            try:
                early = await self.lane.retry(self._write, batch)
            except StoreError:
                # One bad outcome must not block the others: write them one at a time.
                early = []
                for settlement in batch:
                    early += await self._write_one(settlement)
            if early:  # statuses that beat these answers: applied together (one transaction)
                await self.lane.retry(self.settler.replay_all, early)
        self.idle.set()

    async def _write_one(self, settlement: Settlement) -> list[EarlyStatus]:
        try:
            return await self.lane.retry(self._write, [settlement])
        except StoreError as exc:
            o = settlement.outcome
            log.error("job %s: outcome %s could not be stored (%s)", o.job_id, o.state.value, exc,
                      extra={"job_id": o.job_id})
        if settlement.outcome.state is not JobState.ACCEPTED:
            return []  # the job stays in flight; its lease turns it uncertain, never resent
        # Accepted but the wamid clashes (a server answered a wamid twice): keep the fact, drop the id.
        o = settlement.outcome
        degraded = dataclasses.replace(o, wamid=None, body=o.body)
        try:
            await self.lane.retry(self.lane.store.settle, [degraded])
        except StoreError as exc:
            log.error("job %s: accepted but not recorded (%s)", o.job_id, exc, extra={"job_id": o.job_id})
        return []

    def _write(self, batch: list[Settlement]) -> list[EarlyStatus]:
        effects = [e for s in batch for e in s.effects]
        store = self.lane.store
        if effects:
            apply_effects(store, self.phone, effects)
        return store.settle([s.outcome for s in batch])
