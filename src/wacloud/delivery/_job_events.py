"""Job history entries become events (``job.state_changed``, ``campaign.progress``) in the same transaction.

:func:`~wacloud.delivery._sql_jobs.record_events` is the one place every job change is written to
``job_events``; it hands the same entries here, so an event exists exactly when the change does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wacloud.delivery.model import PENDING_STATES, JobState
from wacloud.events.log import NewEvent, Rows, append
from wacloud.identity import CustomerIds, is_bsuid, is_parent_bsuid

#: One history entry: (job id, state, at, code, detail, attempt).
EventRow = tuple[int, str, float, int | None, str | None, int]
#: What an event says of its job: (phone number id, recipient, campaign).
JobFacts = tuple[str, str, Any]

_PENDING = tuple(s.value for s in PENDING_STATES)
#: Job ids looked up per statement.
_CHUNK = 500
#: The states a job leaves the queue for (status webhooks then move it on without changing the counts).
_LEAVING = frozenset({"accepted", "failed", "dead", "uncertain"})


def customer_of(recipient: str) -> CustomerIds:
    """The ids a job's recipient gives (a phone number's digits, or a BSUID)."""
    if recipient.isdigit():  # a phone number as jobs store it (the usual case: no pattern to match)
        return CustomerIds(wa_id=recipient)
    if is_parent_bsuid(recipient):
        return CustomerIds(parent_bsuid=recipient)
    if is_bsuid(recipient):
        return CustomerIds(bsuid=recipient)
    return CustomerIds(wa_id=recipient.lstrip("+"))


def _in(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def job_events_out(tx: Rows, entries: Sequence[EventRow], known: Mapping[int, JobFacts] | None = None) -> None:
    """Append a ``job.state_changed`` event per entry, and ``campaign.progress`` steps they make.

    ``known`` gives jobs' facts the caller has (the jobs it has just inserted); the others are read."""
    if not entries:
        return
    jobs: dict[int, JobFacts] = dict(known or {})
    ids = sorted({e[0] for e in entries} - jobs.keys())
    for start in range(0, len(ids), _CHUNK):  # a campaign queues thousands at once: stay under the parameter cap
        chunk = ids[start:start + _CHUNK]
        jobs.update({int(r[0]): (str(r[1]), str(r[2]), r[3]) for r in tx.rows(
            f"SELECT id, phone_number_id, recipient, campaign FROM jobs WHERE id IN ({_in(chunk)})", chunk)})
    out: list[NewEvent] = []
    queued: dict[tuple[str, str], int] = {}
    settled: dict[str, str] = {}
    for job_id, state, at, code, detail, attempt in entries:
        if job_id not in jobs:
            continue  # cannot happen inside the transaction that wrote the job; never invent a number
        number, recipient, campaign = jobs[job_id]
        data: dict[str, Any] = {"job_id": str(job_id), "state": state, "attempt": attempt, "to": recipient}
        if code is not None:
            data["code"] = code
        if detail is not None:
            data["detail"] = detail
        if campaign is not None:
            data["campaign"] = campaign
            if state == JobState.QUEUED.value and attempt == 0:
                queued[(number, campaign)] = queued.get((number, campaign), 0) + 1
            elif state in _LEAVING:
                settled[campaign] = number
        out.append(NewEvent("job.state_changed", number, data, customer_of(recipient), at))
    for (number, campaign), n in sorted(queued.items()):
        out.append(NewEvent("campaign.progress", number, {"campaign": campaign, "step": "queued", "jobs": n}))
    for campaign, number in sorted(settled.items()):
        # Most settled batches leave jobs pending: one index probe says so, instead of counting every job of
        # the campaign by state (0.5 ms for 10,000 queued, once per batch of sends while it runs).
        if tx.rows(f"SELECT 1 FROM jobs WHERE campaign = ? AND state IN ({_in(_PENDING)}) LIMIT 1",
                   (campaign, *_PENDING)):
            continue
        counts = {str(s): int(n) for s, n in tx.rows(
            "SELECT state, count(*) FROM jobs WHERE campaign = ? GROUP BY state", (campaign,))}
        if counts and not any(counts.get(s, 0) for s in _PENDING):
            out.append(NewEvent("campaign.progress", number,
                                {"campaign": campaign, "step": "finished", "jobs": counts}))
    append(tx, out)
