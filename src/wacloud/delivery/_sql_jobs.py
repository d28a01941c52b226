"""Jobs: queueing, reading, filtering and counting them."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wacloud._json import dumps, loads
from wacloud.delivery._job_events import EventRow, JobFacts, job_events_out
from wacloud.delivery._sql_base import SqlBase, Tx, int_ids
from wacloud.delivery.model import (
    Job,
    JobEvent,
    JobState,
    NewJob,
    Summary,
)
from wacloud.delivery.store import StoredHook
from wacloud.events.log import Rows

JOB_COLUMNS = (
    "id, phone_number_id, recipient, state, body, is_template, idem_key, category, fallback, campaign, "
    "not_before, attempts, failures, throttles, pair_retries, used_fallback, wamid, error_code, "
    "error_title, error_details, fbtrace_id, created_at, updated_at, accepted_at, sent_at, delivered_at, "
    "read_at, finished_at, priority"
)

__all__ = ["JOB_COLUMNS", "EventRow", "JobsSql", "job_from_row", "job_with", "record_events"]

_INSERT = ("INSERT INTO jobs (phone_number_id, recipient, state, body, is_template, idem_key, category, fallback, "
           "campaign, not_before, created_at, updated_at, priority)")
_ROW = "(?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: Rows per multi-row INSERT: 12 parameters each, well under SQLite's and PostgreSQL's caps.
_ROWS_PER_INSERT = 250


def _values(job: NewJob, now: float) -> tuple[Any, ...]:
    """The parameters of :data:`_ROW` for ``job``."""
    return (job.phone_number_id, job.to, dumps(job.body), int(job.is_template), job.key, job.category,
            dumps(job.fallback) if job.fallback is not None else None, job.campaign, job.not_before, now, now,
            job.priority)


def record_events(tx: Rows, events: Sequence[EventRow], known: Mapping[int, JobFacts] | None = None) -> None:
    """Append history entries, in this order, inside the transaction that made the changes; each also
    becomes an event in the event log (the same transaction: neither exists without the other).
    ``known``: the jobs' (number, recipient, campaign) when the caller has them (not read again)."""
    if events:
        tx.insert("INSERT INTO job_events (job_id, state, at, code, detail, attempt)",
                  ("bigint", "text", "float8", "integer", "text", "integer"), events)
        job_events_out(tx, events, known)


#: A state by its stored name: a dict lookup, where ``JobState(name)`` goes through the enum's call (~0.8 µs
#: of a claim's ~7 µs per job).
_STATES = {state.value: state for state in JobState}


#: Job's fields in order.
_JOB_FIELDS = tuple(f.name for f in dataclasses.fields(Job))


def _job_maker() -> Callable[..., Job]:
    """:class:`Job`'s constructor, positional in field order, without its per-field ``object.__setattr__``.

    A frozen dataclass's ``__init__`` sets each of its 29 fields through ``object.__setattr__`` (~4.5 µs a
    job, the largest part of a claim's Python per job); this sets the slots through their descriptors, as
    unpickling does: the same instance (tests/delivery/test_job_rows.py compares the two). A Job that is
    not slotted or has a ``__post_init__`` gets its own constructor.
    """
    names = _JOB_FIELDS
    if "__slots__" not in Job.__dict__ or hasattr(Job, "__post_init__"):
        return Job
    lines = [f"def make({', '.join(names)}):", "    job = new(Job)"]
    lines += [f"    set_{name}(job, {name})" for name in names]
    lines.append("    return job")
    # The source holds only the dataclass's field names (identifiers), never data.
    namespace: dict[str, Any] = {"new": object.__new__, "Job": Job,
                                 **{f"set_{name}": Job.__dict__[name].__set__ for name in names}}
    exec(compile("\n".join(lines), "<Job from a row>", "exec"), namespace)
    make: Callable[..., Job] = namespace["make"]
    return make


_make_job = _job_maker()
#: Job's fields read all at once (one C call), and each one's position.
_job_values = operator.attrgetter(*_JOB_FIELDS)
_JOB_FIELD_AT = {name: i for i, name in enumerate(_JOB_FIELDS)}


def job_with(job: Job, changes: Mapping[str, Any]) -> Job:
    """``dataclasses.replace(job, **changes)``, the same Job, without ``replace``'s per-field Python (a
    getattr and a keyword each, then the frozen constructor's 29 ``object.__setattr__``): ~2 µs, not ~9, for
    each status applied."""
    values = list(_job_values(job))
    for name, value in changes.items():
        at = _JOB_FIELD_AT.get(name)
        if at is None:
            raise TypeError(f"Job has no field {name!r}")
        values[at] = value
    return _make_job(*values)


def job_from_row(row: Sequence[Any]) -> Job:
    """A :class:`Job` from a row of :data:`JOB_COLUMNS`."""
    # Positional: JOB_COLUMNS lists the columns in Job's field order (tests/delivery/test_job_rows.py).
    return _make_job(
        str(row[0]), row[1], row[2], _STATES[row[3]], loads(row[4]), bool(row[5]), row[6], row[7],
        loads(row[8]) if row[8] is not None else None, row[9], float(row[10]), row[11], row[12], row[13],
        row[14], bool(row[15]), row[16], row[17], row[18], row[19], row[20], float(row[21]), float(row[22]),
        row[23], row[24], row[25], row[26], row[27], row[28],
    )


class JobsSql(SqlBase):
    """Queueing and reading jobs."""

    def add(self, jobs: Sequence[NewJob], now: float, *, on_stored: StoredHook | None = None) -> list[tuple[str, bool]]:
        """Store jobs; returns (id, created) each. An existing ``key`` returns the old id, not created.

        ``on_stored`` runs in the same transaction (a log of what was queued stays in step with the jobs).
        Jobs with a key (a campaign's) are inserted many rows per statement; the rest one by one.
        """
        ids: list[int | None] = [None] * len(jobs)
        # Encoded before the transaction: a worker waiting for the store waits less.
        values = [_values(job, now) for job in jobs]
        with self._tx() as tx:
            keyed: dict[str, int] = {}  # key -> the first position holding it
            block: list[int] = []  # keyed jobs not stored yet, in order (ids follow the jobs' order)
            for i, job in enumerate(jobs):
                if job.key is None:
                    self._insert_keyed(tx, values, block, keyed, ids)
                    block = []
                    ids[i] = int(tx.rows(f"{_INSERT} VALUES {_ROW} RETURNING id", values[i])[0][0])
                elif job.key not in keyed:
                    keyed[job.key] = i
                    block.append(i)
                    if len(block) >= _ROWS_PER_INSERT:
                        self._insert_keyed(tx, values, block, keyed, ids)
                        block = []
            self._insert_keyed(tx, values, block, keyed, ids)
            missing = sorted({str(jobs[i].key) for i, got in enumerate(ids) if got is None})
            existing: dict[str, int] = {}
            for start in range(0, len(missing), _ROWS_PER_INSERT):
                test, params = self._in("idem_key", missing[start:start + _ROWS_PER_INSERT])
                existing.update({str(k): int(v) for v, k in tx.rows(f"SELECT id, idem_key FROM jobs WHERE {test}",
                                                                     params)})
            out: list[tuple[str, bool]] = []
            events: list[EventRow] = []
            known: dict[int, tuple[str, str, str | None]] = {}
            for i, job in enumerate(jobs):
                stored = ids[i]
                if stored is None:
                    # A key taken before, or by an earlier job of this call: that job's id, not created.
                    out.append((str(existing.get(str(job.key), ids[keyed[str(job.key)]])), False))
                    continue
                job_id = stored
                out.append((str(job_id), True))
                events.append((job_id, JobState.QUEUED.value, now, None, None, 0))
                known[job_id] = (job.phone_number_id, job.to, job.campaign)
            record_events(tx, events, known)
            if on_stored is not None:
                on_stored(tx, [(job, job_id, made) for job, (job_id, made) in zip(jobs, out, strict=True)])
        return out

    @staticmethod
    def _insert_keyed(tx: Tx, values: Sequence[tuple[Any, ...]], block: Sequence[int], keyed: Mapping[str, int],
                      ids: list[int | None]) -> None:
        """Insert the keyed jobs at positions ``block`` (``values``: every job's row) in one statement; their
        ids go to ``ids``."""
        if not block:
            return
        params = [v for i in block for v in values[i]]
        # RETURNING gives rows in no stated order: match them by key. A key already stored returns
        # nothing (DO NOTHING) and is looked up by the caller.
        for job_id, key in tx.rows(f"{_INSERT} VALUES {', '.join([_ROW] * len(block))} "
                                   "ON CONFLICT (idem_key) DO NOTHING RETURNING id, idem_key", params):
            ids[keyed[str(key)]] = int(job_id)

    def history(self, job_id: str) -> list[JobEvent]:
        """The job's history, in the order it was recorded (empty for an unknown id)."""
        ids = int_ids([job_id])
        if not ids:
            return []
        return self.histories([str(ids[0])]).get(str(ids[0]), [])

    def histories(self, job_ids: Sequence[str]) -> dict[str, list[JobEvent]]:
        """Several jobs' histories at once (a page of jobs), by job id; jobs without one are absent."""
        ids = int_ids(job_ids)
        if not ids:
            return {}
        test, params = self._in("job_id", ids)
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT id, job_id, state, at, code, detail, attempt FROM job_events "
                           f"WHERE {test} ORDER BY id", params)
        out: dict[str, list[JobEvent]] = {}
        for r in rows:
            out.setdefault(str(r[1]), []).append(
                JobEvent(int(r[0]), str(r[1]), str(r[2]), float(r[3]), r[4], r[5], int(r[6])))
        return out

    def get(self, job_id: str) -> Job | None:
        """One job by id."""
        ids = int_ids([job_id])
        if not ids:
            return None
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (ids[0],))
        return job_from_row(rows[0]) if rows else None

    def job_by_wamid(self, wamid: str) -> Job | None:
        """The job whose accepted send got ``wamid`` (None when no job has it)."""
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {JOB_COLUMNS} FROM jobs WHERE wamid = ?", (str(wamid),))
        return job_from_row(rows[0]) if rows else None

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
            after_ids = int_ids([after])
            where.append("id < ?" if newest_first else "id > ?")
            params.append(after_ids[0] if after_ids else 0)
        params.append(max(0, int(limit)))
        with self._tx(write=False) as tx:
            order = "DESC" if newest_first else "ASC"
            rows = tx.rows(f"SELECT {JOB_COLUMNS} FROM jobs WHERE {' AND '.join(where)} "
                           f"ORDER BY id {order} LIMIT ?", params)
        return [job_from_row(r) for r in rows]

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
