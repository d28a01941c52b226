"""Status webhooks: moving jobs forward by wamid, and keeping early ones until their send is recorded."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from wacloud.delivery._sql_base import SqlBase
from wacloud.delivery._sql_jobs import JOB_COLUMNS, job_from_row, record_events
from wacloud.delivery.model import (
    STATUS_RANK,
    EarlyStatus,
    JobState,
    StatusChange,
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


class StatusesSql(SqlBase):
    """Status webhooks applied to jobs, and the ones that arrived before their send was recorded."""

    def apply_status(self, wamid: str, status: str, ts: float, *, error_code: int | None = None,
                     error_title: str | None = None, error_details: str | None = None,
                     now: float) -> StatusChange:
        """Move the job with ``wamid`` forward (never back); a ``failed`` one is returned for the policy."""
        status = status.lower()
        with self._tx() as tx:
            # Without it a status can miss the job (not yet recorded) and be kept as early just
            # after settle looked for early ones: stranded, never applied.
            self._lock_wamid(tx, wamid)
            rows = tx.rows(f"SELECT {JOB_COLUMNS} FROM jobs WHERE wamid = ?{self.LOCK}", (wamid,))
            if not rows:
                # The webhook can beat the send's answer into the store: keep it, replay it on accept.
                tx.run("INSERT INTO early_statuses (wamid, status, ts, error_code, error_title, "
                       "error_details, received_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                       "ON CONFLICT (wamid, status) DO NOTHING",
                       (wamid, status, ts, error_code, error_title, error_details, now))
                return StatusChange(None, False, "unknown wamid: kept until its send is recorded")
            job = job_from_row(rows[0])
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
            # History: each step this status newly stamps (a read first implies sent and delivered).
            record_events(tx, [(int(job.id), _STAMP_STATE[col], ts, None, None, job.attempts)
                               for col in stamps if getattr(job, col) is None])
        # The row as the UPDATE left it, without reading it (and decoding its body) again.
        changes: dict[str, Any] = {col: ts for col in stamps if getattr(job, col) is None}
        if forward:
            changes["state"] = target
        fresh = replace(job, **changes, updated_at=now)
        reason = (f"{job.state.value} → {target.value}" if forward
                  else f"{status} after {job.state.value}: kept")
        return StatusChange(fresh, forward, reason)


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
