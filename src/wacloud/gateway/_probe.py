"""Readiness's database probe: one write at a time, its last answer remembered to log changes once."""

from __future__ import annotations

import asyncio
import logging

from wacloud.gateway._calls import call_engine
from wacloud.gateway._db import PROBE_TIMEOUT_S, Database

log = logging.getLogger("wacloud.gateway")

#: The probe's answer is awaited at most this long (a PostgreSQL server that does not answer at all).
PROBE_WAIT_S = PROBE_TIMEOUT_S + 1.0


class DatabaseProbe:
    """Whether the gateway's database accepts writes (``ok``, ``unresponsive`` or ``not writable``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.state = "ok"
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> str:
        """``ok`` when a write commits within seconds, else why not (the reason itself goes to the log).

        A write, not a ``SELECT 1``: a locked or read-only database answers reads while every write fails.
        One probe at a time: while one hangs, the next readiness call says so instead of adding threads.
        """
        probe = self._task
        if probe is None or probe.done():
            probe = asyncio.ensure_future(call_engine(self.db.check_writable, PROBE_TIMEOUT_S))
            probe.add_done_callback(lambda t: t.cancelled() or t.exception())  # a late failure is not "unretrieved"
            self._task = probe
        reason = ""
        try:
            await asyncio.wait_for(asyncio.shield(probe), PROBE_WAIT_S)
            state = "ok"
        except TimeoutError:
            state, reason = "unresponsive", f"no answer within {PROBE_WAIT_S:.0f} s"
        except Exception as exc:
            state, reason = "not writable", f"{type(exc).__name__}: {exc}"
        if state != self.state:
            if state == "ok":
                log.info("readiness: the database accepts writes again")
            else:
                log.warning("readiness: the database is %s (%s)", state, reason)
        self.state = state
        return state
