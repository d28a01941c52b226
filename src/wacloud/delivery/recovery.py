"""Taking jobs back from workers that are gone, and remembering that it was done.

A worker's id names where it runs: ``name:xxxxxxxx@host#pid.token`` (``token`` tells apart two
processes that had the same pid, e.g. a restarted container's pid 1). A worker starting up looks at
the leases other workers hold on its number; those whose holder it *knows* is gone (same host, and
that process no longer exists) are expired at once and swept like any expired lease: claims go back
to the queue, in-flight calls become ``uncertain`` (``at_most_once``; the send may have happened, so
it is never repeated). Holders it cannot judge (another host, a live pid) keep their leases until
they run out. Under ``at_least_once`` only claims are taken back early: a resend is never started on
a guess about a process elsewhere.

Every job a sweep takes back is recorded in ``job_recoveries`` (kind ``released``, ``uncertain`` or
``resent``), so a campaign's progress can say how many of its jobs were recovered, and how.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from wacloud.delivery._sql_jobs import record_events
from wacloud.delivery.model import InFlightPolicy, Recovery

#: This process's incarnation (a new process with a dead one's pid gets another token).
PROCESS_TOKEN = uuid.uuid4().hex[:8]

#: Migration of the shared schema (applied by :mod:`wacloud.delivery.sql` with the others).
MIGRATION: tuple[int, tuple[str, ...]] = (5, (
    """CREATE TABLE job_recoveries (
        job_id BIGINT NOT NULL,
        phone_number_id TEXT NOT NULL,
        campaign TEXT,
        kind TEXT NOT NULL,
        at {REAL} NOT NULL
    )""",
    "CREATE INDEX job_recoveries_campaign ON job_recoveries (campaign, kind) WHERE campaign IS NOT NULL",
))

_HELD = ("claimed", "sending")


class Rows(Protocol):
    """The part of an open transaction this module uses."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement and return its rows."""
        ...

    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter tuple."""
        ...

    def insert(self, head: str, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` in their order (PostgreSQL: one statement; ``types``: the columns' types)."""
        ...


def _host() -> str:
    return socket.gethostname() or "localhost"


def holder_id(name: str) -> str:
    """A new worker id for a worker named ``name`` in this process."""
    return f"{name}:{uuid.uuid4().hex[:8]}@{_host()}#{os.getpid()}.{PROCESS_TOKEN}"


def holder_is_dead(worker: str) -> bool:
    """True only when certain that ``worker``'s process is gone: it ran on this host and no longer exists."""
    _, at, where = worker.rpartition("@")
    host, hash_, proc = where.rpartition("#")
    pid_text, _, token = proc.partition(".")
    if not at or not hash_ or host != _host() or not pid_text.isdigit() or os.name != "posix":
        return False  # another host, an old-style id, or no way to ask (os.kill(pid, 0) kills on Windows)
    pid = int(pid_text)
    if pid == os.getpid():
        return token != PROCESS_TOKEN  # an earlier process with our pid (a restarted container)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # exists, owned by someone else
    return False


def holders(tx: Rows, phone_number_id: str, now: float) -> list[tuple[str, int, float]]:
    """(worker, jobs held, latest lease end) of the unexpired leases on a number."""
    rows = tx.rows("SELECT worker, count(*), max(lease_until) FROM jobs WHERE phone_number_id = ? "
                   "AND state IN ('claimed', 'sending') AND lease_until >= ? AND worker IS NOT NULL "
                   "GROUP BY worker ORDER BY worker", (phone_number_id, now))
    return [(str(w), int(n), float(until)) for w, n, until in rows]


def expire(tx: Rows, phone_number_id: str, workers_in: tuple[str, list[Any]], now: float,
           states: Sequence[str]) -> int:
    """End the leases of the given workers' jobs in ``states`` now (the next sweep takes them back)."""
    test, params = workers_in
    quoted = ", ".join(f"'{s}'" for s in states if s in _HELD)
    rows = tx.rows(f"UPDATE jobs SET lease_until = ? WHERE phone_number_id = ? AND {test} "
                   f"AND state IN ({quoted}) RETURNING id", [now - 0.001, phone_number_id, *params])
    return len(rows)


def sweep(tx: Rows, phone_number_id: str, now: float, policy: InFlightPolicy) -> Recovery:
    """Take back the jobs whose lease expired, and record each one (see the module's description)."""
    released = tx.rows(
        "UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, updated_at = ? "
        "WHERE phone_number_id = ? AND state = 'claimed' AND lease_until < ? RETURNING id, campaign",
        (now, phone_number_id, now))
    if InFlightPolicy(policy) is InFlightPolicy.AT_LEAST_ONCE:
        other, kind = tx.rows(
            "UPDATE jobs SET state = 'queued', not_before = ?, lease_until = NULL, worker = NULL, "
            "attempts = attempts + 1, updated_at = ? "
            "WHERE phone_number_id = ? AND state = 'sending' AND lease_until < ? RETURNING id, campaign, attempts",
            (now, now, phone_number_id, now)), "resent"
        state, detail = "queued", "worker lost during the call: sending again (at_least_once)"
    else:
        other, kind = tx.rows(
            "UPDATE jobs SET state = 'uncertain', lease_until = NULL, worker = NULL, "
            "attempts = attempts + 1, error_title = 'worker lost during the call', "
            "updated_at = ?, finished_at = ? "
            "WHERE phone_number_id = ? AND state = 'sending' AND lease_until < ? RETURNING id, campaign, attempts",
            (now, now, phone_number_id, now)), "uncertain"
        state, detail = "uncertain", "worker lost during the call: it may or may not have gone out"
    records = [(int(i), phone_number_id, c, "released", now) for i, c in released]
    records += [(int(i), phone_number_id, c, kind, now) for i, c, _ in other]
    if other:
        # The job's history (a claim given back is not a change of its recorded state).
        record_events(tx, [(int(i), state, now, None, detail, int(n)) for i, _, n in other])
    if records:
        tx.many("INSERT INTO job_recoveries (job_id, phone_number_id, campaign, kind, at) VALUES (?, ?, ?, ?, ?)",
                records)
    return Recovery(released=len(released), **{kind: len(other)})


def counts(tx: Rows, campaign: str | None, phone_number_id: str | None = None) -> dict[str, int]:
    """Jobs taken back from lost workers, by kind (``released``, ``uncertain``, ``resent``)."""
    where, params = ["1 = 1"], []
    if campaign is not None:
        where.append("campaign = ?")
        params.append(campaign)
    if phone_number_id is not None:
        where.append("phone_number_id = ?")
        params.append(phone_number_id)
    rows = tx.rows(f"SELECT kind, count(DISTINCT job_id) FROM job_recoveries WHERE {' AND '.join(where)} "
                   "GROUP BY kind", params)
    return {str(k): int(n) for k, n in rows}
