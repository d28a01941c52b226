"""The delivery engine's plain data: job states, jobs, outcomes, summaries, events."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from wacloud._deprecation import renamed
from wacloud.errors import ErrorDetail, WhatsAppError, exception_class
from wacloud.identity import CustomerIds


class JobState(StrEnum):
    """Where a job is. ``queued → claimed → sending → accepted → sent → delivered → read``, or an end."""

    QUEUED = "queued"  #: waiting for its turn (``not_before``, pacing, a pause)
    HELD = "held"  #: a Meta limit (or the budget) would refuse it now: waits with a reason, resumes itself
    CLAIMED = "claimed"  #: leased by a worker, not yet sent: safe to give back
    SENDING = "sending"  #: the API call is (or was) in flight
    ACCEPTED = "accepted"  #: the API answered 200 with a wamid
    SENT = "sent"  #: status webhook ``sent``
    DELIVERED = "delivered"  #: status webhook ``delivered``
    READ = "read"  #: status webhook ``read`` (or ``played``)
    FAILED = "failed"  #: final: the API (or a local rule) refused it, with the code
    DEAD = "dead"  #: final: retries exhausted (dead letter), with the last reason
    UNCERTAIN = "uncertain"  #: final: the worker died mid-call; it may or may not have gone out


#: States a worker will not send again.
FINAL_STATES: frozenset[JobState] = frozenset({
    JobState.ACCEPTED, JobState.SENT, JobState.DELIVERED, JobState.READ,
    JobState.FAILED, JobState.DEAD, JobState.UNCERTAIN,
})

#: States still owed a send.
PENDING_STATES: frozenset[JobState] = frozenset({JobState.QUEUED, JobState.CLAIMED, JobState.SENDING})

#: Progress order for status webhooks: a job never moves to a lower rank.
STATUS_RANK: Mapping[JobState, int] = {
    JobState.ACCEPTED: 1, JobState.SENT: 2, JobState.DELIVERED: 3, JobState.READ: 4,
}

Category = Literal["marketing", "utility", "authentication", "service"]
CATEGORIES: frozenset[str] = frozenset({"marketing", "utility", "authentication", "service"})


class InFlightPolicy(StrEnum):
    """What to do with a call whose outcome is unknown (worker died, connection dropped mid-call)."""

    AT_MOST_ONCE = "at_most_once"  #: mark the job ``uncertain`` and never resend it
    AT_LEAST_ONCE = "at_least_once"  #: send it again (the customer may get it twice)


@dataclass(frozen=True, slots=True)
class NewJob:
    """A validated job, ready to be stored."""

    phone_number_id: str
    to: str
    body: Mapping[str, Any]
    is_template: bool
    key: str | None = None
    not_before: float = 0.0
    category: str | None = None
    fallback: Mapping[str, Any] | None = None
    campaign: str | None = None
    #: 1: claimed before every priority-0 job (one-off messages); 0: campaigns.
    priority: int = 0


@dataclass(frozen=True, slots=True)
class Job:
    """One message in the outbox, as stored."""

    id: str
    phone_number_id: str
    to: str
    state: JobState
    body: dict[str, Any]
    is_template: bool
    key: str | None
    category: str | None
    fallback: dict[str, Any] | None
    campaign: str | None
    not_before: float
    attempts: int
    failures: int
    throttles: int
    pair_retries: int
    used_fallback: bool
    wamid: str | None
    error_code: int | None
    error_title: str | None
    error_details: str | None
    fbtrace_id: str | None
    created_at: float
    updated_at: float
    accepted_at: float | None
    sent_at: float | None
    delivered_at: float | None
    read_at: float | None
    finished_at: float | None
    priority: int = 0

    @property
    def final(self) -> bool:
        """True once no worker will send this job again."""
        return self.state in FINAL_STATES

    def error(self) -> WhatsAppError | None:
        """The failure as the exception the client would raise (``WindowClosed`` for 131047…), if any."""
        if self.state not in (JobState.FAILED, JobState.DEAD) or self.error_code is None:
            return None
        detail = ErrorDetail(code=self.error_code, message=self.error_title or "", title=self.error_title,
                             details=self.error_details, fbtrace_id=self.fbtrace_id)
        return exception_class(self.error_code)(detail)


Counter = Literal["failures", "throttles", "pair_retries"]

#: The states a worker's outcome may overwrite: the job is still in its hands (or was swept as
#: uncertain while its call was still running, and the real answer has now come back).
IN_HAND: frozenset[JobState] = frozenset({JobState.SENDING, JobState.CLAIMED, JobState.UNCERTAIN})
#: The states a worker's *accepted* answer may overwrite: the message went out, so it lands even
#: when the lease expired and the job was queued (or taken) again, which stops a needless resend.
BEFORE_ACCEPT: frozenset[JobState] = IN_HAND | {JobState.QUEUED}
#: The states a ``failed`` status webhook may overwrite.
AFTER_ACCEPT: frozenset[JobState] = frozenset({JobState.ACCEPTED, JobState.SENT})


@dataclass(frozen=True, slots=True)
class Step:
    """A history entry written with an outcome, before the outcome's own (the fallback step)."""

    state: str
    code: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One entry of a job's history: append-only, written in the transaction that changed the job.

    ``state`` is the job's state after the change (``queued``, ``accepted``, ``sent``…), or
    ``fallback`` for the step that swapped in the fallback template. ``at`` is when it happened
    (a status webhook's own timestamp, whole seconds); the history is in recorded order (``id``).
    ``attempt`` counts the calls made for the job so far.
    """

    id: int
    job_id: str
    state: str
    at: float
    code: int | None = None
    detail: str | None = None
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one claimed job; the store writes it atomically with the job.

    ``state`` is ACCEPTED (with ``wamid``), QUEUED (a retry at ``not_before``), or a final failure
    state. ``body`` replaces the job's body (the fallback template went out instead).
    """

    job_id: str
    state: JobState
    at: float
    wamid: str | None = None
    not_before: float | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None
    fbtrace_id: str | None = None
    counter: Counter | None = None
    count_attempt: bool = True
    body: Mapping[str, Any] | None = None
    #: Only settle when the job is in one of these states (compare-and-set against races).
    expect: frozenset[JobState] = IN_HAND
    #: The worker whose call this answers: its error outcome only lands while the job is still its
    #: own (or was swept as uncertain), never on a job another worker took after the lease expired.
    worker: str | None = None
    #: Accepted: the recipient's next pair token no sooner than this (answer time + interval: Meta
    #: saw the message at the latest when it answered, so the gap counts from there).
    pair_tat: float | None = None
    #: History entries to write before the outcome's own (e.g. the fallback template swapped in).
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True)
class EarlyStatus:
    """A status webhook that arrived before its send's answer was stored; replayed once it is."""

    wamid: str
    status: str
    ts: float | None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None
    #: The status's ``pricing`` object, kept with it: the job's cost is recorded when it is replayed.
    pricing: Mapping[str, Any] | None = None
    #: The recipient's phone number as the status named it (what the rate card prices by).
    wa_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusInput:
    """One status webhook as the store applies it: plain values, ``ts`` in epoch seconds."""

    wamid: str
    status: str
    ts: float
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None
    #: Its ``pricing`` object: kept with the status when its job is not recorded yet (an early one).
    pricing: Mapping[str, Any] | None = None
    #: The recipient's phone number as the status named it.
    wa_id: str | None = None


@dataclass(frozen=True, slots=True)
class Price:
    """A status's ``pricing`` for the message ``wamid`` (``job``: its job, when the caller has it already)."""

    wamid: str
    pricing: Mapping[str, Any]
    wa_id: str | None = None
    job: Job | None = None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """What the store knows about one customer of one business number.

    ``wa_id`` is the id the record was asked for (a phone number, a BSUID or a username); ``contact_id``
    is the person's own key, the same whichever of their ids found them, and ``ids`` all they are known by.
    """

    wa_id: str
    last_inbound: float | None = None
    marketing_opt_out: bool = False
    contact_id: str | None = None
    ids: CustomerIds | None = None


@dataclass(frozen=True, slots=True)
class Recovery:
    """What a lease sweep did: claims given back, in-flight calls marked uncertain or queued again."""

    released: int = 0
    uncertain: int = 0
    resent: int = 0


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The result of applying one status webhook to the job with that wamid."""

    job: Job | None
    applied: bool
    reason: str


@dataclass(slots=True)
class Summary:
    """Counts of a campaign's (or the whole outbox's) jobs by state, and failures by error code."""

    total: int = 0
    by_state: dict[str, int] = field(default_factory=dict)
    failed_by_code: dict[int, int] = field(default_factory=dict)

    def count(self, state: JobState) -> int:
        """Jobs currently in ``state``."""
        return self.by_state.get(state.value, 0)

    @property
    def queued(self) -> int:
        """Jobs not yet sent (queued, claimed or in flight)."""
        return sum(self.count(s) for s in PENDING_STATES)

    @property
    def held(self) -> int:
        """Jobs held by a limit, the budget or a campaign pause (they resume on their own)."""
        return self.count(JobState.HELD)

    @property
    def accepted(self) -> int:
        """Jobs Meta accepted (whatever their later status)."""
        return sum(self.count(s) for s in STATUS_RANK)

    @property
    def delivered(self) -> int:
        """Jobs delivered (read ones included: a read implies delivered)."""
        return self.count(JobState.DELIVERED) + self.count(JobState.READ)

    @property
    def read(self) -> int:
        """Jobs read."""
        return self.count(JobState.READ)

    @property
    def failed(self) -> int:
        """Jobs failed or dead-lettered."""
        return self.count(JobState.FAILED) + self.count(JobState.DEAD)

    @property
    def uncertain(self) -> int:
        """Jobs whose call was in flight when a worker died (at_most_once: not resent)."""
        return self.count(JobState.UNCERTAIN)

    @property
    def done(self) -> bool:
        """True when no job is still owed a send."""
        return self.queued == 0  # held jobs wait for a limit: not owed a send now

    def __str__(self) -> str:
        codes = ", ".join(f"{code}×{n}" for code, n in sorted(self.failed_by_code.items())) or "-"
        return (f"total {self.total}: queued {self.queued}, accepted {self.accepted}, "
                f"delivered {self.delivered}, read {self.read}, failed {self.failed} ({codes}), "
                f"uncertain {self.uncertain}" + (f", held {self.held}" if self.held else ""))


@dataclass(frozen=True, slots=True)
class DeliveryEvent:
    """Something an operator should hear about (sending paused on an auth error, a recovery…)."""

    kind: str
    phone_number_id: str
    message: str
    code: int | None = None
    fbtrace_id: str | None = None
    until: float | None = None


#: Old names kept for one release: ``Contact`` is the message type in :mod:`wacloud.messages`.
_RENAMED = {"Contact": "ContactRecord"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals().__getitem__)
