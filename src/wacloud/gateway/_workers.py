"""The outbox workers of one gateway process, restarted with growing pauses when they crash."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from wacloud.delivery import Outbox

log = logging.getLogger("wacloud.gateway")

#: Pause before restarting crashed workers, doubling each time up to the cap.
WORKER_RESTART_FIRST_S = 1.0
WORKER_RESTART_MAX_S = 30.0
#: A run that lasted this long before crashing was fine: its crash is a new incident (first pause again).
WORKER_HEALTHY_RUN_S = 60.0
#: How long a graceful stop may take before the workers' task is cancelled.
WORKER_STOP_WAIT_S = 10.0


class WorkerSupervisor:
    """Runs :meth:`Outbox.run` in a task and restarts it after a crash (a database outage…).

    ``up`` is False while the workers wait to be restarted; ``restarts`` counts the crashes;
    ``stopping`` is set once the gateway shuts down (readiness then answers 503).
    """

    def __init__(self, outbox: Outbox | None) -> None:
        self.outbox = outbox
        self.up = False
        self.restarts = 0
        self.stopping = False
        self.task: asyncio.Task[None] | None = None
        #: Set by :meth:`restart`: the run that stops next is started again at once (a new rate).
        self._again = False

    @property
    def state(self) -> str:
        """``ok``, ``restarting`` (crashed, waiting to restart) or ``stopped`` (not running)."""
        if self.task is None or self.task.done():
            return "stopped"
        return "ok" if self.up else "restarting"

    def start(self) -> None:
        """Start the workers' task (in the running event loop)."""
        self.task = asyncio.create_task(self._run(), name="wacloud-workers")

    async def _run(self) -> None:
        outbox = self.outbox
        if outbox is None:
            return
        delay = WORKER_RESTART_FIRST_S
        while not self.stopping:
            started = time.monotonic()
            self.up = True
            try:
                await outbox.run()
                if self._again and not self.stopping:
                    self._again = False
                    continue  # restarted on request: run again with the outbox's new settings
                return  # stopped on request
            except asyncio.CancelledError:
                raise
            except Exception:
                self.up = False
                self.restarts += 1
                log.exception("delivery workers stopped with an error; restarting in %.0f s", delay)
            if time.monotonic() - started > WORKER_HEALTHY_RUN_S:
                delay = WORKER_RESTART_FIRST_S
            await asyncio.sleep(delay)
            delay = min(delay * 2, WORKER_RESTART_MAX_S)

    def restart(self) -> None:
        """Stop the running workers gracefully and start them again (they pick up a changed pacing)."""
        if self.outbox is None or self.task is None or self.task.done() or self.stopping:
            return
        self._again = True
        self.outbox.stop()

    async def stop(self) -> None:
        """Graceful: ask the outbox to stop (it releases in-flight claims), then cancel if it lingers."""
        self.stopping = True
        task = self.task
        if task is None:
            return
        if self.outbox is not None:
            self.outbox.stop()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=WORKER_STOP_WAIT_S)
        except (TimeoutError, asyncio.CancelledError, Exception):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class WorkerGroup:
    """The supervisors of every number's workers, seen as one (readiness, start, stop)."""

    def __init__(self, supervisors: list[WorkerSupervisor] | None = None) -> None:
        self.supervisors = list(supervisors or [])

    @property
    def state(self) -> str:
        """``ok`` when every number's workers run; else the first other state (``restarting``, ``stopped``)."""
        states = [s.state for s in self.supervisors] or ["stopped"]
        return next((st for st in states if st != "ok"), "ok")

    @property
    def restarts(self) -> int:
        """Crashes of any number's workers."""
        return sum(s.restarts for s in self.supervisors)

    @property
    def running(self) -> bool:
        """True once the workers were started (and until the gateway stops)."""
        return any(s.task is not None and not s.stopping for s in self.supervisors)

    def add(self, supervisor: WorkerSupervisor) -> None:
        """One more number's workers, started at once when the others run (a number added at run time)."""
        running = self.running
        self.supervisors.append(supervisor)
        if running:
            supervisor.start()

    async def remove(self, supervisor: WorkerSupervisor) -> None:
        """Stop one number's workers (gracefully) and forget them (a number removed at run time)."""
        if supervisor in self.supervisors:
            self.supervisors.remove(supervisor)
        await supervisor.stop()

    def start(self) -> None:
        """Start every number's workers."""
        for s in self.supervisors:
            s.start()

    async def stop(self) -> None:
        """Stop every number's workers (gracefully, all at once)."""
        await asyncio.gather(*(s.stop() for s in self.supervisors), return_exceptions=True)
