"""Turning a policy :class:`~wacloud.delivery.policy.Decision` into a stored outcome and its side effects.

Used for both kinds of failure: an error answer to a call (worker) and a ``failed`` status webhook
(which arrives after the call was accepted). Every decision is logged with the job id, code and
fbtrace_id.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from wacloud.delivery.holds import LimitsStore, limit_key, note_limit
from wacloud.delivery.model import IN_HAND, Job, JobState, Outcome, Step
from wacloud.delivery.pacing import pair_hold_until
from wacloud.delivery.policy import Action, Decision
from wacloud.delivery.store import Store

log = logging.getLogger("wacloud.delivery")


@dataclass(frozen=True, slots=True)
class Effect:
    """A change beyond the job itself: hold a recipient, pause the number, record an opt-out."""

    kind: str  #: "hold" | "pause" | "opt_out" | "refund" | "limit" (reason: which; to: its key)
    to: str = ""
    until: float = 0.0
    reason: str = ""
    interval_s: float = 0.0


@dataclass(slots=True)
class Settlement:
    """An outcome with the effects that must be written with it."""

    outcome: Outcome
    effects: list[Effect] = field(default_factory=list)
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong with one call (or one failed status)."""

    code: int | None
    title: str | None = None
    details: str | None = None
    fbtrace_id: str | None = None


#: The code a closed 24-hour window is refused with (the reason a fallback template goes instead).
FALLBACK_CODE = 131047


def fallback_step(job: Job, *, sent: bool) -> Step:
    """The history entry for swapping in ``job``'s fallback template (``sent``: it went out, else queued)."""
    template = (job.fallback or {}).get("template")
    name = template.get("name") if isinstance(template, dict) else None
    verb = "sent" if sent else "queued"
    return Step("fallback", FALLBACK_CODE, f"window closed → {verb} fallback template {name or '?'}")


def settle_failure(job: Job, decision: Decision, failure: Failure, now: float, *, pair_interval_s: float,
                   pair_burst: int, called: bool = True,
                   expect: frozenset[JobState] | None = None, worker: str | None = None) -> Settlement:
    """The outcome (and effects) for ``decision`` about ``job``; logs the decision."""
    effects: list[Effect] = []

    def make(state: JobState, not_before: float | None = None, body: Job | None = None) -> Outcome:
        """The outcome in ``state``, carrying the failure (``body``: swap in that job's fallback)."""
        return Outcome(job.id, state, now, not_before=not_before, error_code=failure.code,
                       error_title=failure.title, error_details=failure.details,
                       fbtrace_id=failure.fbtrace_id,
                       counter=decision.counter, count_attempt=called,
                       body=body.fallback if body is not None else None,
                       expect=expect if expect is not None else IN_HAND, worker=worker,
                       steps=(fallback_step(job, sent=False),) if body is not None else ())

    a = decision.action
    if a is Action.RETRY:
        outcome = make(JobState.QUEUED, now + decision.delay_s)
    elif a is Action.RETRY_RECIPIENT:
        until = now + decision.delay_s
        effects.append(Effect("hold", to=job.to, until=pair_hold_until(until, pair_interval_s, pair_burst)))
        outcome = make(JobState.QUEUED, until)
    elif a is Action.PAUSE:
        effects.append(Effect("pause", until=now + decision.delay_s, reason=decision.reason))
        outcome = make(JobState.QUEUED, now)
    elif a is Action.FALLBACK:
        outcome = make(JobState.QUEUED, now, body=job)
    elif a is Action.DEAD:
        outcome = make(JobState.DEAD)
    elif a is Action.UNCERTAIN:
        outcome = make(JobState.UNCERTAIN)
    else:
        outcome = make(JobState.FAILED)
    if decision.opt_out:
        effects.append(Effect("opt_out", to=job.to, until=now))
    if decision.limit is not None:
        effects.append(Effect("limit", to=limit_key(decision.limit, job), until=now, reason=decision.limit))
    loud = a in (Action.FAIL, Action.DEAD, Action.UNCERTAIN, Action.PAUSE)
    level = logging.WARNING if loud else logging.INFO
    log.log(level, "job %s to %s: %s (%s) delay=%.1fs code=%s fbtrace_id=%s", job.id, job.to, a.value,
            decision.reason, decision.delay_s, failure.code, failure.fbtrace_id,
            extra={"job_id": job.id, "code": failure.code, "fbtrace_id": failure.fbtrace_id,
                   "action": a.value})
    return Settlement(outcome, effects, decision)


def apply_effects(store: Store, phone_number_id: str, effects: Sequence[Effect]) -> None:
    """Write side effects (before the outcomes they belong to)."""
    for e in effects:
        if e.kind == "hold":
            store.hold_recipient(phone_number_id, e.to, e.until)
        elif e.kind == "pause":
            store.pause(phone_number_id, e.until, e.reason)
        elif e.kind == "opt_out":
            store.set_marketing(phone_number_id, e.to, True, e.until)
        elif e.kind == "refund":
            store.refund_recipient(phone_number_id, e.to, e.interval_s, e.until)
        elif e.kind == "limit" and isinstance(store, LimitsStore):
            note_limit(store, phone_number_id, e.reason, e.to, e.until)
