"""The SQL both stores share: schema, migrations and every query, written once with ``?`` placeholders.

A dialect (:mod:`~wacloud.delivery.sqlite`, :mod:`~wacloud.delivery.postgres`) supplies the
connection, the transaction, the placeholder style and the few phrases that differ (row locks,
``max`` vs ``GREATEST``, column types).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from wacloud.delivery import pacing, recovery
from wacloud.delivery.model import (
    STATUS_RANK,
    Contact,
    EarlyStatus,
    InFlightPolicy,
    Job,
    JobState,
    NewJob,
    Outcome,
    Recovery,
    StatusChange,
    Summary,
)
from wacloud.delivery.store import StoreError

# --- schema ----------------------------------------------------------------------------------------
# {ID} {REAL} {BLOB} are filled per dialect. Each migration is applied once, in order, in one
# transaction, and recorded in schema_version; never edit a released one, add the next.
MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (1, (
        """CREATE TABLE jobs (
            id {ID},
            phone_number_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            is_template INTEGER NOT NULL,
            idem_key TEXT UNIQUE,
            category TEXT,
            fallback TEXT,
            campaign TEXT,
            not_before {REAL} NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            failures INTEGER NOT NULL DEFAULT 0,
            throttles INTEGER NOT NULL DEFAULT 0,
            pair_retries INTEGER NOT NULL DEFAULT 0,
            used_fallback INTEGER NOT NULL DEFAULT 0,
            wamid TEXT,
            error_code INTEGER,
            error_title TEXT,
            error_details TEXT,
            fbtrace_id TEXT,
            lease_until {REAL},
            worker TEXT,
            created_at {REAL} NOT NULL,
            updated_at {REAL} NOT NULL,
            accepted_at {REAL},
            sent_at {REAL},
            delivered_at {REAL},
            read_at {REAL},
            finished_at {REAL}
        )""",
        # The claim query reads this partial index only: its cost does not grow with the backlog
        # of finished jobs, nor with queued jobs further in the future.
        "CREATE INDEX jobs_ready ON jobs (phone_number_id, not_before, id) WHERE state = 'queued'",
        "CREATE INDEX jobs_leased ON jobs (phone_number_id, lease_until) "
        "WHERE state IN ('claimed', 'sending')",
        "CREATE UNIQUE INDEX jobs_wamid ON jobs (wamid) WHERE wamid IS NOT NULL",
        "CREATE INDEX jobs_campaign ON jobs (campaign, state) WHERE campaign IS NOT NULL",
        "CREATE INDEX jobs_recipient ON jobs (recipient, id)",
        """CREATE TABLE rate_buckets (
            phone_number_id TEXT PRIMARY KEY,
            tat {REAL},
            paused_until {REAL},
            pause_reason TEXT
        )""",
        """CREATE TABLE pair_buckets (
            phone_number_id TEXT NOT NULL,
            recipient TEXT NOT NULL,
            tat {REAL} NOT NULL,
            PRIMARY KEY (phone_number_id, recipient)
        )""",
        """CREATE TABLE contacts (
            phone_number_id TEXT NOT NULL,
            wa_id TEXT NOT NULL,
            last_inbound {REAL},
            marketing_opt_out INTEGER NOT NULL DEFAULT 0,
            preference_at {REAL},
            PRIMARY KEY (phone_number_id, wa_id)
        )""",
        """CREATE TABLE early_statuses (
            wamid TEXT NOT NULL,
            status TEXT NOT NULL,
            ts {REAL},
            error_code INTEGER,
            error_title TEXT,
            error_details TEXT,
            received_at {REAL} NOT NULL,
            PRIMARY KEY (wamid, status)
        )""",
        "CREATE TABLE webhook_dedup (key TEXT PRIMARY KEY, seen_at {REAL} NOT NULL)",
        """CREATE TABLE webhook_inbox (
            id {ID},
            raw {BLOB} NOT NULL,
            headers TEXT NOT NULL,
            received_at {REAL} NOT NULL
        )""",
    )),
    # 2: pruning old dedup keys and unclaimed early statuses without a full scan.
    (2, (
        "CREATE INDEX webhook_dedup_seen ON webhook_dedup (seen_at)",
        "CREATE INDEX early_statuses_received ON early_statuses (received_at)",
    )),
    # 3: webhook payloads leased to one receiver at a time, retried with a delay, or set aside.
    (3, (
        "ALTER TABLE webhook_inbox ADD COLUMN lease_until {REAL}",
        "ALTER TABLE webhook_inbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE webhook_inbox ADD COLUMN last_error TEXT",
        "ALTER TABLE webhook_inbox ADD COLUMN dead_at {REAL}",
    )),
    # 4: a priority lane, so a one-off message (an OTP) does not wait behind a campaign. Its own
    # small partial index keeps both claim queries on an index.
    (4, (
        "ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX jobs_ready_first ON jobs (phone_number_id, not_before, id) "
        "WHERE state = 'queued' AND priority > 0",
    )),
    recovery.MIGRATION,  # 5: which jobs were taken back from lost workers
)

LATEST_VERSION = MIGRATIONS[-1][0]

_JOB_COLUMNS = (
    "id, phone_number_id, recipient, state, body, is_template, idem_key, category, fallback, campaign, "
    "not_before, attempts, failures, throttles, pair_retries, used_fallback, wamid, error_code, "
    "error_title, error_details, fbtrace_id, created_at, updated_at, accepted_at, sent_at, delivered_at, "
    "read_at, finished_at, priority"
)

#: Webhook status → the job state it moves to.
_STATUS_STATE: dict[str, JobState] = {
    "sent": JobState.SENT,
    "delivered": JobState.DELIVERED,
    "read": JobState.READ,
    "played": JobState.READ,  # a voice message played: read, for our purposes
}
#: The timestamp columns a status fills (a read implies delivered and sent).
_STATUS_STAMPS: dict[JobState, tuple[str, ...]] = {
    JobState.SENT: ("sent_at",),
    JobState.DELIVERED: ("sent_at", "delivered_at"),
    JobState.READ: ("sent_at", "delivered_at", "read_at"),
}


_COUNTERS = frozenset({"failures", "throttles", "pair_retries"})


def _job(row: Sequence[Any]) -> Job:
    return Job(
        id=str(row[0]), phone_number_id=row[1], to=row[2], state=JobState(row[3]), body=json.loads(row[4]),
        is_template=bool(row[5]), key=row[6], category=row[7],
        fallback=json.loads(row[8]) if row[8] is not None else None, campaign=row[9],
        not_before=float(row[10]), attempts=row[11], failures=row[12], throttles=row[13],
        pair_retries=row[14], used_fallback=bool(row[15]), wamid=row[16], error_code=row[17],
        error_title=row[18], error_details=row[19], fbtrace_id=row[20], created_at=float(row[21]),
        updated_at=float(row[22]), accepted_at=row[23], sent_at=row[24], delivered_at=row[25],
        read_at=row[26], finished_at=row[27], priority=row[28],
    )


#: Job ids are 64-bit signed integers (SQLite INTEGER, PostgreSQL BIGINT); the drivers refuse larger ones.
_MAX_ID = 2**63 - 1


def _int_ids(job_ids: Iterable[str]) -> list[int]:
    out = []
    for job_id in job_ids:
        try:
            value = int(job_id)
        except (TypeError, ValueError):
            continue  # not one of ours: matches nothing
        if -_MAX_ID - 1 <= value <= _MAX_ID:
            out.append(value)  # a larger number cannot be an id either: it matches nothing
    return out


class Tx(ABC):
    """One open transaction: run statements with ``?`` placeholders."""

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement and return its rows."""

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return the number of rows it changed."""

    @abstractmethod
    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter tuple."""


class SqlStore(ABC):
    """Every store operation, on top of a dialect's transactions."""

    #: The SQL name of the two-argument maximum.
    GREATEST = "max"
    #: Appended to a SELECT that reads rows it will update (PostgreSQL: ``FOR UPDATE``).
    LOCK = ""
    #: Appended to the claim SELECT (PostgreSQL: ``FOR UPDATE SKIP LOCKED``).
    CLAIM_LOCK = ""
    TYPES: dict[str, str] = {}

    def __init__(self) -> None:
        # One connection per store object; the lock makes it safe to share between threads
        # (the outbox's store thread, a webhook receiver's threads).
        self._lock = threading.RLock()

    # --- dialect hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _transaction(self, write: bool) -> AbstractContextManager[Tx]:
        """An open transaction (``write``: take the write lock at once where that matters)."""

    @abstractmethod
    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """A ``column IN (...)`` test and its parameters."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    # --- plumbing --------------------------------------------------------------------------------
    def _tx(self, write: bool = True) -> AbstractContextManager[Tx]:
        return _Locked(self._lock, self._transaction(write))

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version now in force."""
        with self._tx() as tx:
            self._lock_schema(tx)
            tx.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = tx.rows("SELECT max(version) FROM schema_version")
            current = (row[0][0] or 0) if row else 0
            if current > LATEST_VERSION:
                raise StoreError(f"the store's schema is version {current}, newer than this wacloud "
                                 f"({LATEST_VERSION}): upgrade wacloud")
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    tx.run(statement.format(**self.TYPES))
                tx.run("INSERT INTO schema_version (version) VALUES (?)", (version,))
                current = version
            return int(current)

    def _lock_schema(self, tx: Tx) -> None:  # noqa: B027 - optional hook, a no-op for SQLite
        """Serialise concurrent migrations (PostgreSQL takes an advisory lock)."""

    def _lock_wamid(self, tx: Tx, wamid: str) -> None:  # noqa: B027 - optional hook, a no-op for SQLite
        """Serialise a status for ``wamid`` with the send answer that records it (SQLite: BEGIN IMMEDIATE)."""

    # --- jobs ------------------------------------------------------------------------------------
    def add(self, jobs: Sequence[NewJob], now: float) -> list[tuple[str, bool]]:
        """Store jobs; returns (id, created) each. An existing ``key`` returns the old id, not created."""
        out: list[tuple[str, bool]] = []
        with self._tx() as tx:
            for job in jobs:
                rows = tx.rows(
                    "INSERT INTO jobs (phone_number_id, recipient, state, body, is_template, idem_key, "
                    "category, fallback, campaign, not_before, created_at, updated_at, priority) "
                    "VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (idem_key) DO NOTHING RETURNING id",
                    (job.phone_number_id, job.to, json.dumps(job.body, separators=(",", ":")),
                     int(job.is_template), job.key, job.category,
                     json.dumps(job.fallback, separators=(",", ":")) if job.fallback is not None else None,
                     job.campaign, job.not_before, now, now, job.priority),
                )
                if rows:
                    out.append((str(rows[0][0]), True))
                else:
                    existing = tx.rows("SELECT id FROM jobs WHERE idem_key = ?", (job.key,))
                    out.append((str(existing[0][0]), False))
        return out

    def get(self, job_id: str) -> Job | None:
        """One job by id."""
        ids = _int_ids([job_id])
        if not ids:
            return None
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (ids[0],))
        return _job(rows[0]) if rows else None

    def find(self, *, phone_number_id: str | None = None, state: JobState | None = None,
             campaign: str | None = None, to: str | None = None, after: str | None = None,
             limit: int = 100, newest_first: bool = False) -> list[Job]:
        """Jobs matching every given filter, in id order, ``limit`` at a time after id ``after``.

        ``newest_first`` reverses the order (and ``after`` then pages towards older ids).
        """
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        filters = (("phone_number_id", phone_number_id), ("campaign", campaign), ("recipient", to))
        for column, value in filters:
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if state is not None:
            where.append("state = ?")
            params.append(JobState(state).value)
        if after is not None:
            after_ids = _int_ids([after])
            where.append("id < ?" if newest_first else "id > ?")
            params.append(after_ids[0] if after_ids else 0)
        params.append(max(0, int(limit)))
        with self._tx(write=False) as tx:
            order = "DESC" if newest_first else "ASC"
            rows = tx.rows(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)} "
                           f"ORDER BY id {order} LIMIT ?", params)
        return [_job(r) for r in rows]

    def summary(self, *, phone_number_id: str | None = None, campaign: str | None = None) -> Summary:
        """Counts by state and failures by code."""
        where, params = ["1 = 1"], []
        if phone_number_id is not None:
            where.append("phone_number_id = ?")
            params.append(phone_number_id)
        if campaign is not None:
            where.append("campaign = ?")
            params.append(campaign)
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT state, error_code, count(*) FROM jobs WHERE {' AND '.join(where)} "
                           "GROUP BY state, error_code", params)
        summary = Summary()
        for state, code, n in rows:
            summary.total += n
            summary.by_state[state] = summary.by_state.get(state, 0) + n
            if state in (JobState.FAILED, JobState.DEAD):
                key = int(code) if code is not None else 0
                summary.failed_by_code[key] = summary.failed_by_code.get(key, 0) + n
        return summary

    # --- the worker's side ---------------------------------------------------------------------------
    def claim(self, phone_number_id: str, limit: int, now: float, *, lease_s: float, worker: str,
              pair_interval_s: float, pair_burst: int) -> list[Job]:
        """Lease up to ``limit`` ready jobs whose recipient has a pair token; defer the others."""
        if limit <= 0:
            return []
        with self._tx() as tx:
            pause = tx.rows("SELECT paused_until FROM rate_buckets WHERE phone_number_id = ?",
                            (phone_number_id,))
            if pause and pause[0][0] is not None and pause[0][0] > now:
                return []
            # The priority lane first, then the rest (each query reads its own partial index).
            candidates = tx.rows(
                "SELECT id, recipient FROM jobs WHERE phone_number_id = ? AND state = 'queued' "
                f"AND priority > 0 AND not_before <= ? ORDER BY not_before, id LIMIT ?{self.CLAIM_LOCK}",
                (phone_number_id, now, limit),
            )
            if len(candidates) < limit:
                candidates += tx.rows(
                    "SELECT id, recipient FROM jobs WHERE phone_number_id = ? AND state = 'queued' "
                    f"AND not_before <= ? AND priority = 0 ORDER BY not_before, id LIMIT ?{self.CLAIM_LOCK}",
                    (phone_number_id, now, limit - len(candidates)),
                )
            if not candidates:
                return []
            recipients = sorted({r for _, r in candidates})
            tats = self._pair_tats(tx, phone_number_id, recipients)
            granted: list[int] = []
            deferred: list[tuple[float, int]] = []
            changed: dict[str, float] = {}
            for job_id, recipient in candidates:
                ok, value = pacing.pair_take(tats.get(recipient), now, pair_interval_s, pair_burst)
                if ok:
                    tats[recipient] = changed[recipient] = value
                    granted.append(job_id)
                else:
                    # Spread the recipient's other jobs one interval apart so they do not all wake at once.
                    deferred.append((value, job_id))
                    tats[recipient] += pair_interval_s
            if changed:
                tx.many("UPDATE pair_buckets SET tat = ? WHERE phone_number_id = ? AND recipient = ?",
                        [(tat, phone_number_id, r) for r, tat in changed.items()])
            if deferred:
                tx.many("UPDATE jobs SET not_before = ?, updated_at = ? WHERE id = ?",
                        [(when, now, job_id) for when, job_id in deferred])
            if not granted:
                return []
            test, params = self._in("id", granted)
            rows = tx.rows(
                f"UPDATE jobs SET state = 'claimed', lease_until = ?, worker = ?, updated_at = ? "
                f"WHERE {test} RETURNING {_JOB_COLUMNS}",
                [now + lease_s, worker, now, *params],
            )
        jobs = [_job(r) for r in rows]
        order = {job_id: i for i, job_id in enumerate(granted)}
        jobs.sort(key=lambda j: order[int(j.id)])
        return jobs

    def _pair_tats(self, tx: Tx, phone_number_id: str, recipients: list[str]) -> dict[str, float]:
        """Lock (creating them) the recipients' pair buckets; returns their TATs (absent: never used)."""
        # A new bucket starts at TAT 0 (the epoch): far in the past, so it is full. Creating the rows
        # first lets PostgreSQL lock them all, in one order, before reading them.
        tx.many("INSERT INTO pair_buckets (phone_number_id, recipient, tat) VALUES (?, ?, 0) "
                "ON CONFLICT (phone_number_id, recipient) DO NOTHING",
                [(phone_number_id, r) for r in recipients])
        test, params = self._in("recipient", recipients)
        rows = tx.rows(f"SELECT recipient, tat FROM pair_buckets WHERE phone_number_id = ? AND {test} "
                       f"ORDER BY recipient{self.LOCK}", [phone_number_id, *params])
        return {r: float(t) for r, t in rows}

    def mark_sending(self, job_ids: Sequence[str], now: float, *, lease_s: float, worker: str,
                     pair_interval_s: float | None = None) -> list[str]:
        """Mark claimed jobs as in flight just before their call; returns the ids still ours.

        ``pair_interval_s``: the recipients' next pair token is no sooner than that after ``now``.
        """
        ids = _int_ids(job_ids)
        if not ids:
            return []
        test, params = self._in("id", ids)
        with self._tx() as tx:
            # 'sending' at this very ``now`` by this worker: this same call retried after its commit's
            # answer was lost (db_retry passes the same arguments); any other call finds it taken.
            rows = tx.rows(
                f"UPDATE jobs SET state = 'sending', lease_until = ?, updated_at = ? WHERE {test} "
                "AND worker = ? AND (state = 'claimed' OR (state = 'sending' AND updated_at = ?)) "
                "RETURNING id, phone_number_id, recipient",
                [now + lease_s, now, *params, worker, now],
            )
            if pair_interval_s is not None and rows:
                # The claim took the pair token, but the send can come well after it (a full
                # lookahead of slots, a pause): Meta measures the gap between sends, so the next
                # token counts from this one. Sorted: the lock order claim uses.
                pairs = sorted({(str(r[1]), str(r[2])) for r in rows})
                tx.many(f"UPDATE pair_buckets SET tat = {self.GREATEST}(tat, ?) "
                        "WHERE phone_number_id = ? AND recipient = ?",
                        [(now + pair_interval_s, p, r) for p, r in pairs])
        return [str(r[0]) for r in rows]

    def settle(self, outcomes: Sequence[Outcome]) -> list[EarlyStatus]:
        """Write outcomes; returns status webhooks that had arrived early for the newly accepted wamids."""
        early: list[EarlyStatus] = []
        pair_tats: dict[int, float] = {}
        with self._tx() as tx:
            for o in outcomes:
                ids = _int_ids([o.job_id])
                if not ids:
                    continue
                sets = ["state = ?", "updated_at = ?", "lease_until = NULL", "worker = NULL"]
                params: list[Any] = [JobState(o.state).value, o.at]
                if o.count_attempt:
                    sets.append("attempts = attempts + 1")
                if o.counter is not None:
                    if o.counter not in _COUNTERS:
                        raise StoreError(f"unknown counter {o.counter!r}")
                    sets.append(f"{o.counter} = {o.counter} + 1")
                if o.body is not None:
                    sets += ["body = ?", "used_fallback = 1"]
                    params.append(json.dumps(o.body, separators=(",", ":")))
                if o.state is JobState.ACCEPTED:
                    sets += ["wamid = ?", "accepted_at = ?", "error_code = NULL", "error_title = NULL",
                             "error_details = NULL", "fbtrace_id = NULL"]
                    params += [o.wamid, o.at]
                else:
                    sets += ["error_code = ?", "error_title = ?", "error_details = ?", "fbtrace_id = ?"]
                    params += [o.error_code, o.error_title, o.error_details, o.fbtrace_id]
                if o.state is JobState.QUEUED:
                    sets.append("not_before = ?")
                    params.append(o.not_before if o.not_before is not None else o.at)
                elif o.state is not JobState.ACCEPTED:
                    sets.append("finished_at = ?")
                    params.append(o.at)
                if o.state is JobState.ACCEPTED and o.wamid:
                    self._lock_wamid(tx, o.wamid)  # before the job row, in the order apply_status takes them
                expect = sorted(s.value for s in o.expect)
                test, expect_params = self._in("state", expect)
                if o.worker is not None and o.state is not JobState.ACCEPTED:
                    # A late answer must not touch a job another worker claimed after the lease expired.
                    test += " AND (worker = ? OR state = 'uncertain')"
                    expect_params.append(o.worker)
                changed = tx.run(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ? AND {test}",
                                 [*params, ids[0], *expect_params])
                if changed and o.pair_tat is not None:
                    pair_tats[ids[0]] = o.pair_tat
                if changed and o.state is JobState.ACCEPTED and o.wamid:
                    # Read, not deleted: each is forgotten once applied, so a crash before the
                    # replay leaves it for the next run's sweep (early_for_jobs).
                    rows = tx.rows("SELECT status, ts, error_code, error_title, error_details "
                                   "FROM early_statuses WHERE wamid = ?", (o.wamid,))
                    early += [EarlyStatus(o.wamid, *r) for r in rows]
            if pair_tats:
                test, params = self._in("id", sorted(pair_tats))
                owners = tx.rows(f"SELECT id, phone_number_id, recipient FROM jobs WHERE {test}", params)
                bumps: dict[tuple[str, str], float] = {}
                for job_id, phone, recipient in owners:
                    key = (str(phone), str(recipient))
                    bumps[key] = max(bumps.get(key, 0.0), pair_tats[int(job_id)])
                # Sorted: the lock order claim and mark_sending use (no deadlock between workers).
                tx.many(f"UPDATE pair_buckets SET tat = {self.GREATEST}(tat, ?) "
                        "WHERE phone_number_id = ? AND recipient = ?",
                        [(tat, p, r) for (p, r), tat in sorted(bumps.items())])
        return early

    def release(self, job_ids: Sequence[str], *, worker: str, now: float) -> int:
        """Give claimed (not in flight) jobs back to the queue."""
        ids = _int_ids(job_ids)
        if not ids:
            return 0
        test, params = self._in("id", ids)
        with self._tx() as tx:
            return tx.run("UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, "
                          f"updated_at = ? WHERE {test} AND state = 'claimed' AND worker = ?",
                          [now, *params, worker])

    def recover(self, phone_number_id: str, now: float, policy: InFlightPolicy) -> Recovery:
        """Sweep expired leases: claims go back to the queue; in-flight calls become uncertain or resend."""
        with self._tx() as tx:
            return recovery.sweep(tx, phone_number_id, now, InFlightPolicy(policy))

    def lease_holders(self, phone_number_id: str, now: float) -> list[tuple[str, int, float]]:
        """(worker, jobs held, latest lease end) of the unexpired leases on a number."""
        with self._tx(write=False) as tx:
            return recovery.holders(tx, phone_number_id, now)

    def expire_leases(self, phone_number_id: str, workers: Sequence[str], now: float, states: Sequence[str]) -> int:
        """End now the leases ``workers`` (known to be gone, at least one) hold on jobs in ``states``."""
        with self._tx() as tx:
            return recovery.expire(tx, phone_number_id, self._in("worker", list(workers)), now, states)

    def recovered(self, *, campaign: str | None = None, phone_number_id: str | None = None) -> dict[str, int]:
        """Jobs taken back from lost workers, by kind (``released``, ``uncertain``, ``resent``)."""
        with self._tx(write=False) as tx:
            return recovery.counts(tx, campaign, phone_number_id)

    def reserve(self, phone_number_id: str, n: int, now: float, interval_s: float) -> float:
        """Reserve ``n`` send slots ``interval_s`` apart; returns the first slot's time."""
        with self._tx() as tx:
            tx.run("INSERT INTO rate_buckets (phone_number_id) VALUES (?) "
                   "ON CONFLICT (phone_number_id) DO NOTHING", (phone_number_id,))
            rows = tx.rows(f"SELECT tat FROM rate_buckets WHERE phone_number_id = ?{self.LOCK}",
                           (phone_number_id,))
            start, tat = pacing.reserve(rows[0][0] if rows else None, now, n, interval_s)
            tx.run("UPDATE rate_buckets SET tat = ? WHERE phone_number_id = ?", (tat, phone_number_id))
        return start

    def hold_recipient(self, phone_number_id: str, to: str, tat: float) -> None:
        """Push a recipient's pair bucket forward (after a 131056)."""
        with self._tx() as tx:
            tx.run(f"INSERT INTO pair_buckets (phone_number_id, recipient, tat) VALUES (?, ?, ?) "
                   "ON CONFLICT (phone_number_id, recipient) DO UPDATE SET "
                   f"tat = {self.GREATEST}(pair_buckets.tat, excluded.tat)", (phone_number_id, to, tat))

    def refund_recipient(self, phone_number_id: str, to: str, interval_s: float, now: float) -> None:
        """Give back the pair token of a call Meta refused (nothing reached the user)."""
        with self._tx() as tx:
            tx.run(f"UPDATE pair_buckets SET tat = {self.GREATEST}(tat - ?, ?) "
                   "WHERE phone_number_id = ? AND recipient = ?", (interval_s, now, phone_number_id, to))

    def pause(self, phone_number_id: str, until: float, reason: str) -> None:
        """Pause all sending from a number until ``until``."""
        with self._tx() as tx:
            tx.run("INSERT INTO rate_buckets (phone_number_id, paused_until, pause_reason) VALUES (?, ?, ?) "
                   "ON CONFLICT (phone_number_id) DO UPDATE SET paused_until = excluded.paused_until, "
                   "pause_reason = excluded.pause_reason", (phone_number_id, until, reason))

    def resume(self, phone_number_id: str) -> None:
        """Lift a pause."""
        with self._tx() as tx:
            tx.run("UPDATE rate_buckets SET paused_until = NULL, pause_reason = NULL "
                   "WHERE phone_number_id = ?", (phone_number_id,))

    def paused(self, phone_number_id: str, now: float) -> tuple[float, str] | None:
        """The current pause (until, reason), if any."""
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT paused_until, pause_reason FROM rate_buckets WHERE phone_number_id = ?",
                           (phone_number_id,))
        if rows and rows[0][0] is not None and rows[0][0] > now:
            return float(rows[0][0]), str(rows[0][1] or "")
        return None

    def backlog(self, phone_number_id: str) -> tuple[int, float | None]:
        """(jobs still owed a send, earliest ``not_before`` of the queued ones)."""
        with self._tx(write=False) as tx:
            pending = tx.rows("SELECT count(*) FROM jobs WHERE phone_number_id = ? AND state = 'queued'",
                              (phone_number_id,))[0][0]
            leased = tx.rows("SELECT count(*) FROM jobs WHERE phone_number_id = ? "
                             "AND state IN ('claimed', 'sending')", (phone_number_id,))[0][0]
            nxt = tx.rows("SELECT min(not_before) FROM jobs WHERE phone_number_id = ? AND state = 'queued'",
                          (phone_number_id,))[0][0]
        return int(pending) + int(leased), (float(nxt) if nxt is not None else None)

    # --- statuses and conversations -------------------------------------------------------------------
    def apply_status(self, wamid: str, status: str, ts: float, *, error_code: int | None = None,
                     error_title: str | None = None, error_details: str | None = None,
                     now: float) -> StatusChange:
        """Move the job with ``wamid`` forward (never back); a ``failed`` one is returned for the policy."""
        status = status.lower()
        with self._tx() as tx:
            # Without it a status can miss the job (not yet recorded) and be kept as early just
            # after settle looked for early ones: stranded, never applied.
            self._lock_wamid(tx, wamid)
            rows = tx.rows(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE wamid = ?{self.LOCK}", (wamid,))
            if not rows:
                # The webhook can beat the send's answer into the store: keep it, replay it on accept.
                tx.run("INSERT INTO early_statuses (wamid, status, ts, error_code, error_title, "
                       "error_details, received_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (wamid, status) DO NOTHING",
                       (wamid, status, ts, error_code, error_title, error_details, now))
                return StatusChange(None, False, "unknown wamid: kept until its send is recorded")
            job = _job(rows[0])
            if job.state not in STATUS_RANK:
                return StatusChange(job, False, f"job is {job.state.value}: status {status} ignored")
            if status == "failed":
                if job.state in (JobState.DELIVERED, JobState.READ):
                    return StatusChange(job, False, f"job is already {job.state.value}: failed ignored")
                return StatusChange(job, True, "failed: apply the retry policy")
            target = _STATUS_STATE.get(status)
            if target is None:
                return StatusChange(job, False, f"unknown status {status!r} ignored")
            stamps = _STATUS_STAMPS[target]
            sets = [f"{col} = COALESCE({col}, ?)" for col in stamps]
            params: list[Any] = [ts] * len(stamps)
            forward = STATUS_RANK[target] > STATUS_RANK[job.state]
            if forward:
                sets.append("state = ?")
                params.append(target.value)
            sets.append("updated_at = ?")
            params.append(now)
            tx.run(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [*params, int(job.id)])
            fresh = tx.rows(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (int(job.id),))
        reason = (f"{job.state.value} → {target.value}" if forward
                  else f"{status} after {job.state.value}: kept")
        return StatusChange(_job(fresh[0]), forward, reason)

    def touch_inbound(self, phone_number_id: str, wa_id: str, ts: float) -> None:
        """Record a customer's message (opens the 24 h window)."""
        with self._tx() as tx:
            tx.run(f"INSERT INTO contacts (phone_number_id, wa_id, last_inbound) VALUES (?, ?, ?) "
                   f"ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET last_inbound = "
                   f"{self.GREATEST}(COALESCE(contacts.last_inbound, excluded.last_inbound), "
                   "excluded.last_inbound)",
                   (phone_number_id, wa_id, ts))

    def set_marketing(self, phone_number_id: str, wa_id: str, opted_out: bool, ts: float) -> None:
        """Record a marketing opt-out or resume; the latest timestamp wins."""
        with self._tx() as tx:
            tx.run("INSERT INTO contacts (phone_number_id, wa_id, marketing_opt_out, preference_at) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET "
                   "marketing_opt_out = excluded.marketing_opt_out, preference_at = excluded.preference_at "
                   "WHERE contacts.preference_at IS NULL OR contacts.preference_at <= excluded.preference_at",
                   (phone_number_id, wa_id, int(opted_out), ts))

    def contacts(self, phone_number_id: str, wa_ids: Iterable[str]) -> dict[str, Contact]:
        """What is known about these customers."""
        ids = sorted(set(wa_ids))
        if not ids:
            return {}
        test, params = self._in("wa_id", ids)
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT wa_id, last_inbound, marketing_opt_out FROM contacts "
                           f"WHERE phone_number_id = ? AND {test}", [phone_number_id, *params])
        return {r[0]: Contact(r[0], float(r[1]) if r[1] is not None else None, bool(r[2])) for r in rows}

    def early_for_jobs(self, phone_number_id: str, limit: int = 500) -> list[EarlyStatus]:
        """Early statuses whose send is now recorded but that were not replayed yet (a crash)."""
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT e.wamid, e.status, e.ts, e.error_code, e.error_title, e.error_details "
                           "FROM early_statuses e JOIN jobs j ON j.wamid = e.wamid "
                           "WHERE j.phone_number_id = ? ORDER BY e.received_at LIMIT ?",
                           (phone_number_id, max(0, int(limit))))
        return [EarlyStatus(*r) for r in rows]

    def forget_early(self, wamid: str, status: str) -> None:
        """Drop an early status once it has been applied."""
        with self._tx() as tx:
            tx.run("DELETE FROM early_statuses WHERE wamid = ? AND status = ?", (wamid, status))

    def prune(self, now: float, *, dedup_ttl_s: float, early_ttl_s: float) -> int:
        """Forget dedup keys older than ``dedup_ttl_s`` and early statuses nobody claimed (not our sends)."""
        with self._tx() as tx:
            n = tx.run("DELETE FROM webhook_dedup WHERE seen_at < ?", (now - dedup_ttl_s,))
            n += tx.run("DELETE FROM early_statuses WHERE received_at < ?", (now - early_ttl_s,))
        return n

    # --- webhook receiver protocols -------------------------------------------------------------------
    def first_seen(self, key: str) -> bool:
        """Atomically record ``key``; True only the first time."""
        import time

        with self._tx() as tx:
            return tx.run("INSERT INTO webhook_dedup (key, seen_at) VALUES (?, ?) "
                          "ON CONFLICT (key) DO NOTHING", (key, time.time())) == 1

    def first_seen_all(self, keys: Sequence[str]) -> list[bool]:
        """Record every key in one statement (the receiver's "done" marks); True for each new one."""
        import time

        with self._tx() as tx:
            new = {r[0] for r in tx.rows("INSERT INTO webhook_dedup (key, seen_at) VALUES "
                                         + ",".join(["(?, ?)"] * len(keys)) + " ON CONFLICT (key) DO NOTHING "
                                         "RETURNING key", [v for k in keys for v in (k, time.time())])}
        return [k in new for k in keys]

    def seen(self, key: str) -> bool:
        """True if ``key`` was recorded (read only)."""
        with self._tx(write=False) as tx:
            return bool(tx.rows("SELECT 1 FROM webhook_dedup WHERE key = ?", (key,)))

    def put(self, raw: bytes, headers_json: str, lease_s: float | None = None) -> int:
        """Durably store a raw webhook delivery (leased to the caller for ``lease_s``); returns its id."""
        import time

        now = time.time()
        lease = now + lease_s if lease_s is not None else None
        with self._tx() as tx:
            rows = tx.rows("INSERT INTO webhook_inbox (raw, headers, received_at, lease_until) "
                           "VALUES (?, ?, ?, ?) RETURNING id", (bytes(raw), headers_json, now, lease))
        return int(rows[0][0])

    def pending(self, limit: int = 100) -> list[tuple[int, bytes]]:
        """Stored deliveries not yet processed (nor set aside), oldest first."""
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT id, raw FROM webhook_inbox WHERE dead_at IS NULL ORDER BY id LIMIT ?",
                           (max(0, int(limit)),))
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def done(self, id: int) -> None:
        """Mark a stored delivery processed (it is removed)."""
        with self._tx() as tx:
            tx.run("DELETE FROM webhook_inbox WHERE id = ?", (int(id),))

    def inbox_claim(self, limit: int, lease_s: float) -> list[tuple[int, bytes, int]]:
        """Lease up to ``limit`` due deliveries (not leased, not set aside): (id, raw, failures)."""
        import time

        now = time.time()
        with self._tx() as tx:
            ids = [int(r[0]) for r in tx.rows(
                "SELECT id FROM webhook_inbox WHERE dead_at IS NULL AND (lease_until IS NULL OR "
                f"lease_until <= ?) ORDER BY id LIMIT ?{self.CLAIM_LOCK}", (now, max(0, int(limit))))]
            if not ids:
                return []
            test, params = self._in("id", ids)
            rows = tx.rows(f"UPDATE webhook_inbox SET lease_until = ? WHERE {test} RETURNING id, raw, failures",
                           [now + lease_s, *params])
        return sorted((int(r[0]), bytes(r[1]), int(r[2])) for r in rows)

    def inbox_extend(self, ids: Sequence[int], lease_s: float) -> None:
        """Extend the leases of deliveries still being processed."""
        import time

        if not ids:
            return
        test, params = self._in("id", [int(i) for i in ids])
        with self._tx() as tx:
            tx.run(f"UPDATE webhook_inbox SET lease_until = ? WHERE dead_at IS NULL AND {test}",
                   [time.time() + lease_s, *params])

    def inbox_retry_later(self, id: int, delay_s: float, reason: str) -> None:
        """Count a failed attempt; the delivery is due again in ``delay_s``."""
        import time

        with self._tx() as tx:
            tx.run("UPDATE webhook_inbox SET lease_until = ?, failures = failures + 1, last_error = ? "
                   "WHERE id = ?", (time.time() + delay_s, reason[:1000], int(id)))

    def inbox_dead_letter(self, id: int, reason: str) -> None:
        """Set a delivery aside for good (kept, with the reason, no longer pending)."""
        import time

        with self._tx() as tx:
            tx.run("UPDATE webhook_inbox SET dead_at = ?, last_error = ?, lease_until = NULL WHERE id = ?",
                   (time.time(), reason[:1000], int(id)))


class _Locked(AbstractContextManager[Tx]):
    """Holds the store's thread lock for the life of one transaction."""

    def __init__(self, lock: threading.RLock, inner: AbstractContextManager[Tx]) -> None:
        self._lock = lock
        self._inner = inner

    def __enter__(self) -> Tx:
        self._lock.acquire()
        try:
            return self._inner.__enter__()
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: Any) -> bool | None:
        try:
            return self._inner.__exit__(*exc)
        finally:
            self._lock.release()


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i:i + size]
