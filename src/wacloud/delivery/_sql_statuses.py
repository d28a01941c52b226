"""Status webhooks: moving jobs forward by wamid, and keeping early ones until their send is recorded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wacloud._json import dumps, loads
from wacloud.delivery._job_events import EventRow
from wacloud.delivery._sql_base import SqlBase
from wacloud.delivery._sql_jobs import JOB_COLUMNS, job_from_row, job_with, record_events
from wacloud.delivery.model import (
    STATUS_RANK,
    EarlyStatus,
    Job,
    JobState,
    StatusChange,
    StatusInput,
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


#: The history state each timestamp column stands for.
_STAMP_STATE = {"sent_at": "sent", "delivered_at": "delivered", "read_at": "read"}
#: Wamids looked up per statement (under SQLite's parameter cap).
_CHUNK = 500


class StatusesSql(SqlBase):
    """Status webhooks applied to jobs, and the ones that arrived before their send was recorded."""

    def apply_status(self, wamid: str, status: str, ts: float, *, error_code: int | None = None,
                     error_title: str | None = None, error_details: str | None = None,
                     now: float) -> StatusChange:
        """Move the job with ``wamid`` forward (never back); a ``failed`` one is returned for the policy."""
        return self.apply_statuses([StatusInput(wamid, status, ts, error_code, error_title, error_details)],
                                   now=now)[0]

    def apply_statuses(self, items: Sequence[StatusInput], *, now: float) -> list[StatusChange]:
        """:meth:`apply_status` for each item, in order, in one transaction: the jobs are read with one
        statement, each job touched is written once (its state after all of its statuses), and the history
        entries and events are appended together. A payload of 100 statuses costs a handful of statements
        instead of ~15 each; the result equals applying them one by one."""
        if not items:
            return []
        wamids = sorted({item.wamid for item in items})
        with self._tx() as tx:
            # Without the lock a status can miss the job (not yet recorded) and be kept as early just
            # after settle looked for early ones: stranded, never applied. Sorted: the order settle takes.
            self._lock_wamids(tx, wamids)
            jobs: dict[str, Job] = {}
            for start in range(0, len(wamids), _CHUNK):
                test, params = self._in("wamid", wamids[start:start + _CHUNK])
                # In id order: PostgreSQL locks the rows as they come, so every batch takes them in one order.
                for row in tx.rows(f"SELECT {JOB_COLUMNS} FROM jobs WHERE {test} ORDER BY id{self.LOCK}", params):
                    read = job_from_row(row)
                    jobs[str(read.wamid)] = read
            out: list[StatusChange] = []
            early: list[tuple[Any, ...]] = []
            entries: list[EventRow] = []
            touched: dict[str, Job] = {}
            for item in items:
                job = jobs.get(item.wamid)
                if job is None:
                    # The webhook can beat the send's answer into the store: keep it, replay it on accept.
                    early.append((item.wamid, item.status.lower(), item.ts, item.error_code, item.error_title,
                                  item.error_details, now,
                                  None if item.pricing is None else dumps(item.pricing, sort_keys=True), item.wa_id))
                    out.append(StatusChange(None, False, "unknown wamid: kept until its send is recorded"))
                    continue
                change, steps = _step(job, item.status.lower(), item.ts, now)
                out.append(change)
                if steps is not None and change.job is not None:
                    jobs[item.wamid] = touched[item.wamid] = change.job
                    entries.extend(steps)
            if early:
                tx.many("INSERT INTO early_statuses (wamid, status, ts, error_code, error_title, error_details, "
                        "received_at, pricing, wa_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (wamid, status) DO NOTHING", early)
            if touched:
                # Each job's state after all of its statuses (the rows are locked: nobody moved them since).
                tx.many("UPDATE jobs SET state = ?, sent_at = ?, delivered_at = ?, read_at = ?, updated_at = ? "
                        "WHERE id = ?", [(j.state.value, j.sent_at, j.delivered_at, j.read_at, j.updated_at,
                                          int(j.id)) for j in touched.values()])
            # The jobs' facts the events need are in hand: not read again.
            record_events(tx, entries, {int(j.id): (j.phone_number_id, j.to, j.campaign) for j in touched.values()})
        return out

    def early_for_jobs(self, phone_number_id: str, limit: int = 500) -> list[EarlyStatus]:
        """Early statuses whose send is now recorded but that were not replayed yet (a crash)."""
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT e.wamid, {EARLY_COLUMNS} "
                           "FROM early_statuses e JOIN jobs j ON j.wamid = e.wamid "
                           "WHERE j.phone_number_id = ? ORDER BY e.received_at LIMIT ?",
                           (phone_number_id, max(0, int(limit))))
        return [early_from_row(str(r[0]), r[1:]) for r in rows]

    def forget_early(self, wamid: str, status: str) -> None:
        """Drop an early status once it has been applied."""
        with self._tx() as tx:
            tx.run("DELETE FROM early_statuses WHERE wamid = ? AND status = ?", (wamid, status))


#: An early status's columns after its wamid, in :func:`early_from_row`'s order (``e``: the table's alias).
EARLY_COLUMNS = "e.status, e.ts, e.error_code, e.error_title, e.error_details, e.pricing, e.wa_id"


def early_from_row(wamid: str, row: Sequence[Any]) -> EarlyStatus:
    """An :class:`EarlyStatus` from the :data:`EARLY_COLUMNS` of its row."""
    status, ts, code, title, details, pricing, wa_id = row
    return EarlyStatus(wamid, status, ts, code, title, details, None if pricing is None else loads(pricing),
                       wa_id)


def _step(job: Job, status: str, ts: float, now: float) -> tuple[StatusChange, list[EventRow] | None]:
    """One status applied to ``job`` in memory: the change, and the history entries it writes (None: the
    row is left as it is)."""
    if job.state not in STATUS_RANK:
        return StatusChange(job, False, f"job is {job.state.value}: status {status} ignored"), None
    if status == "failed":
        if job.state in (JobState.DELIVERED, JobState.READ):
            return StatusChange(job, False, f"job is already {job.state.value}: failed ignored"), None
        return StatusChange(job, True, "failed: apply the retry policy"), None
    target = _STATUS_STATE.get(status)
    if target is None:
        return StatusChange(job, False, f"unknown status {status!r} ignored"), None
    # Each step this status newly stamps (a read first implies sent and delivered).
    changes: dict[str, Any] = {col: ts for col in _STATUS_STAMPS[target] if getattr(job, col) is None}
    forward = STATUS_RANK[target] > STATUS_RANK[job.state]
    if forward:
        changes["state"] = target
    changes["updated_at"] = now
    fresh = job_with(job, changes)
    steps: list[EventRow] = [(int(job.id), _STAMP_STATE[col], ts, None, None, job.attempts)
                             for col in _STATUS_STAMPS[target] if col in changes]
    reason = f"{job.state.value} → {target.value}" if forward else f"{status} after {job.state.value}: kept"
    return StatusChange(fresh, forward, reason), steps
