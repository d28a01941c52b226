"""The store interface the outbox runs on (``open_store`` in :mod:`wacloud.delivery._factory` opens one).

Two implementations share one SQL core (:mod:`wacloud.delivery.sql`): SQLite (one host, WAL) and
PostgreSQL (several processes on several hosts). A store also serves the webhook receiver as its
durable dedup store (``first_seen``) and inbox (``put``/``pending``/``done``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

from wacloud.delivery.model import (
    ContactRecord,
    EarlyStatus,
    InFlightPolicy,
    Job,
    JobEvent,
    JobState,
    NewJob,
    Outcome,
    Recovery,
    StatusChange,
    StatusInput,
    Summary,
)
from wacloud.errors import WacloudError
from wacloud.identity import CustomerIds


class StoreError(WacloudError):
    """The store could not do what was asked (database down, bad URL…).

    ``transient`` is True when trying again may work (connection lost, database locked, deadlock),
    False when the same call will fail again (a constraint violation, bad data).
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class Transaction(Protocol):
    """One open transaction of a store, as a hook sees it: statements with ``?`` placeholders."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement and return its rows."""
        ...

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return the number of rows it changed."""
        ...

    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter tuple."""
        ...

    def insert(self, head: str, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` in their order (PostgreSQL: one statement; ``types``: the columns' types)."""
        ...


#: Called inside the transaction that stores jobs, with each job, its id and whether it is new (an
#: existing ``key`` is not): what it writes commits (or rolls back) with the jobs.
StoredHook = Callable[[Transaction, Sequence[tuple[NewJob, str, bool]]], None]


@runtime_checkable
class Store(Protocol):
    """Durable outbox state. Every method is one atomic transaction."""

    def close(self) -> None:
        """Release the connection."""

    # --- jobs ---------------------------------------------------------------------------------
    def add(self, jobs: Sequence[NewJob], now: float, *, on_stored: StoredHook | None = None) -> list[tuple[str, bool]]:
        """Store jobs; returns (id, created) each. An existing ``key`` returns the old id, not created.

        ``on_stored`` runs in the same transaction (a log of what was queued stays in step with the jobs).
        """

    def get(self, job_id: str) -> Job | None:
        """One job by id."""

    def job_by_wamid(self, wamid: str) -> Job | None:
        """The job whose accepted send got ``wamid`` (None when no job has it)."""

    def history(self, job_id: str) -> list[JobEvent]:
        """The job's history, in the order it was recorded (empty for an unknown id)."""

    def histories(self, job_ids: Sequence[str]) -> dict[str, list[JobEvent]]:
        """Several jobs' histories at once (a page of jobs), by job id; jobs without one are absent."""

    def find(self, *, phone_number_id: str | None = None, state: JobState | None = None,
             campaign: str | None = None, to: str | None = None, after: str | None = None,
             limit: int = 100, newest_first: bool = False) -> list[Job]:
        """Jobs matching every given filter, in id order, ``limit`` at a time after id ``after``.

        ``newest_first`` reverses the order (and ``after`` then pages towards older ids).
        """

    def summary(self, *, phone_number_id: str | None = None, campaign: str | None = None) -> Summary:
        """Counts by state and failures by code."""

    # --- the worker's side ----------------------------------------------------------------------
    def claim(self, phone_number_id: str, limit: int, now: float, *, lease_s: float, worker: str,
              pair_interval_s: float, pair_burst: int) -> list[Job]:
        """Lease up to ``limit`` ready jobs whose recipient has a pair token; defer the others."""

    def mark_sending(self, job_ids: Sequence[str], now: float, *, lease_s: float, worker: str,
                     pair_interval_s: float | None = None) -> list[str]:
        """Mark claimed jobs as in flight just before their call; returns the ids still ours.

        ``pair_interval_s``: the recipients' next pair token is no sooner than that after ``now``; a job
        whose recipient's pair bucket moved past what its claim's token allows (another send, answer or
        claim since) is not returned but queued again, for its next claim to wait for the next token.
        """

    def settle(self, outcomes: Sequence[Outcome]) -> list[EarlyStatus]:
        """Write outcomes; returns status webhooks that had arrived early for the newly accepted wamids."""

    def release(self, job_ids: Sequence[str], *, worker: str, now: float) -> int:
        """Give claimed (not in flight) jobs back to the queue."""

    def recover(self, phone_number_id: str, now: float, policy: InFlightPolicy) -> Recovery:
        """Sweep expired leases: claims go back to the queue; in-flight calls become uncertain or resend."""

    def reserve(self, phone_number_id: str, n: int, now: float, interval_s: float) -> float:
        """Reserve ``n`` send slots ``interval_s`` apart; returns the first slot's time."""

    def hold_recipient(self, phone_number_id: str, to: str, tat: float) -> None:
        """Push a recipient's pair bucket forward (after a 131056)."""

    def refund_recipient(self, phone_number_id: str, to: str, interval_s: float, now: float) -> None:
        """Give back the pair token of a call Meta refused (nothing reached the user)."""

    def pause(self, phone_number_id: str, until: float, reason: str) -> None:
        """Pause all sending from a number until ``until``."""

    def resume(self, phone_number_id: str) -> None:
        """Lift a pause."""

    def paused(self, phone_number_id: str, now: float) -> tuple[float, str] | None:
        """The current pause (until, reason), if any."""

    def backlog(self, phone_number_id: str) -> tuple[int, float | None]:
        """(jobs still owed a send, earliest ``not_before`` of the queued ones)."""

    def booked_until(self, phone_number_id: str) -> float | None:
        """The time the number's send slots are booked until (its pacing bucket), None if never used."""

    def lease_holders(self, phone_number_id: str, now: float) -> list[tuple[str, int, float]]:
        """(worker, jobs held, latest lease end) of the unexpired leases on a number."""

    def expire_leases(self, phone_number_id: str, workers: Sequence[str], now: float,
                      states: Sequence[str]) -> int:
        """End now the leases ``workers`` (known to be gone) hold on jobs in ``states``."""

    def recovered(self, *, campaign: str | None = None,
                  phone_number_id: str | None = None) -> dict[str, int]:
        """Jobs taken back from lost workers, by kind (``released``, ``uncertain``, ``resent``)."""

    # --- statuses and conversations -------------------------------------------------------------
    def apply_status(self, wamid: str, status: str, ts: float, *, error_code: int | None = None,
                     error_title: str | None = None, error_details: str | None = None,
                     now: float) -> StatusChange:
        """Move the job with ``wamid`` forward (never back); a ``failed`` one is returned for the policy."""

    def apply_statuses(self, items: Sequence[StatusInput], *, now: float) -> list[StatusChange]:
        """:meth:`apply_status` for each item in order, in one transaction."""

    def touch_inbound(self, phone_number_id: str, wa_id: str, ts: float) -> None:
        """Record a customer's message (opens the 24 h window); ``wa_id`` may be any id of theirs."""

    def set_marketing(self, phone_number_id: str, wa_id: str, opted_out: bool, ts: float) -> None:
        """Record a marketing opt-out or resume; the latest timestamp wins."""

    def contacts(self, phone_number_id: str, wa_ids: Iterable[str]) -> dict[str, ContactRecord]:
        """What is known about these customers, by the address asked (phone number or BSUID)."""

    def learn_contact(self, phone_number_id: str, ids: CustomerIds, now: float) -> str | None:
        """Record that these ids are one person (merging records found to be one); their contact id."""

    def change_number(self, phone_number_id: str, old: str, new_wa_id: str, now: float) -> str | None:
        """A customer moved from ``old`` (phone number or BSUID) to the phone number ``new_wa_id``."""

    def identity_changed(self, phone_number_id: str, ids: CustomerIds, identity_hash: str | None, now: float, *,
                         created_at: float | None = None) -> str | None:
        """A customer's security identity changed: its hash recorded with a ``contact.identity_changed``
        event (one transaction; a repeat changes nothing); their contact id, None when unknown."""

    def people(self, phone_number_id: str, addresses: Iterable[str]) -> dict[str, CustomerIds]:
        """All the ids of the person each address names, by address (absent: unknown); one look-up."""

    def find_contact(self, phone_number_id: str, any_id: str) -> ContactRecord | None:
        """The person known by any of their ids (or their contact id), with all ids; None if unknown."""

    def opted_out(self, phone_number_id: str, limit: int = 500) -> list[ContactRecord]:
        """Customers of this number opted out of marketing, latest first (each with all their ids)."""

    def prune(self, now: float, *, dedup_ttl_s: float, early_ttl_s: float) -> int:
        """Forget dedup keys older than ``dedup_ttl_s`` and early statuses nobody claimed (not our sends)."""

    def early_for_jobs(self, phone_number_id: str, limit: int = 500) -> list[EarlyStatus]:
        """Early statuses whose send is now recorded but that were not replayed yet (a crash)."""

    def forget_early(self, wamid: str, status: str) -> None:
        """Drop an early status once it has been applied."""

    # --- webhook receiver protocols (wacloud.webhooks.store) --------------------------------------
    def first_seen(self, key: str) -> bool:
        """Atomically record ``key``; True only the first time."""

    def put(self, raw: bytes, headers_json: str) -> int:
        """Durably store a raw webhook delivery; returns its id."""

    def pending(self, limit: int = 100) -> list[tuple[int, bytes]]:
        """Stored deliveries not yet processed, oldest first."""

    def done(self, id: int) -> None:
        """Mark a stored delivery processed."""
