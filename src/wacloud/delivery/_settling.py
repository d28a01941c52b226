"""The one place failures are settled: policy decision → outcome and effects → operator event.

Both kinds of failure go through :class:`Settler`: an error answer to a call (the worker, which
writes the settlement in its batches) and a ``failed`` status webhook (which arrives after the call
was accepted and is written at once). Status webhooks in general are applied here too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from wacloud.delivery.model import (
    AFTER_ACCEPT,
    DeliveryEvent,
    EarlyStatus,
    Job,
    JobState,
    Price,
    StatusChange,
    StatusInput,
)
from wacloud.delivery.outcomes import Effect, Failure, Settlement, apply_effects, settle_failure
from wacloud.delivery.pacing import Pacing
from wacloud.delivery.policy import Action, Decision, RetryPolicy
from wacloud.delivery.store import Store, StoreError

log = logging.getLogger("wacloud.delivery")


def _nothing() -> None:
    """The default wake-up: nobody to wake."""


def _no_prices(prices: Sequence[Price]) -> None:
    """The default for prices: nowhere to record them (a settler without an outbox)."""


@dataclass(slots=True)
class Settler:
    """Runs the retry policy on failures and turns its decisions into stored outcomes."""

    store: Store
    pacing: Pacing
    policy: RetryPolicy
    clock: Callable[[], float]
    #: The event sink (an operator hears about an auth pause).
    emit: Callable[[DeliveryEvent], None]
    #: Called when a job was queued again, so a sleeping worker looks at once.
    wake: Callable[[], None] = field(default=_nothing)
    #: Records statuses' prices with their jobs (the outbox's ``record_prices``, which knows the rate card):
    #: an early status's pricing is recorded when it is replayed.
    price: Callable[[Sequence[Price]], None] = field(default=_no_prices)

    def decide(self, job: Job, code: int | None, http_status: int | None = None,
               title: str | None = None) -> Decision:
        """The policy's decision about ``job`` after an error ``code`` (None: no code was given)."""
        if code is None:
            return Decision(Action.FAIL, "failed status without an error code")
        return self.policy.decide(code, http_status, failures=job.failures, throttles=job.throttles,
                                  pair_retries=job.pair_retries, has_fallback=job.fallback is not None,
                                  used_fallback=job.used_fallback, title=title)

    def failure(self, job: Job, decision: Decision, failure: Failure, now: float, *, called: bool = True,
                refund: bool = False, expect: frozenset[JobState] | None = None,
                worker: str | None = None) -> Settlement:
        """The settlement for ``decision`` about ``job`` (not yet written); tells the operator of a pause.

        ``refund``: nothing reached the user, so the pair token the claim took goes back.
        """
        settlement = settle_failure(job, decision, failure, now, pair_interval_s=self.pacing.pair_spacing_s,
                                    pair_burst=self.pacing.pair_burst, called=called, expect=expect,
                                    worker=worker)
        if refund:
            settlement.effects.insert(0, Effect("refund", to=job.to, until=now,
                                                interval_s=self.pacing.pair_spacing_s))
        if decision.action is Action.PAUSE:
            self.emit(DeliveryEvent("auth_paused", job.phone_number_id, decision.reason, code=failure.code,
                                    fbtrace_id=failure.fbtrace_id, until=now + decision.delay_s))
        return settlement

    def apply_statuses(self, items: Sequence[StatusInput], *, fbtrace_id: str | None = None) -> list[StatusChange]:
        """Apply status webhooks, forward only (their changes in the items' order), set-based; a ``failed`` one
        meets the retry policy, like an error answer to the call, where it stands among its message's statuses."""
        now = self.clock()
        # First every status up to its message's first failure, in one store call: it locks all the
        # wamids at once (sorted), before the policy's writes (pair buckets) and the statuses after a
        # failure, which take them again. One order for every transaction: no deadlock with a settle.
        first: list[int] = []
        after: list[int] = []
        failed_wamids: set[str] = set()
        for k, item in enumerate(items):
            (after if item.wamid in failed_wamids else first).append(k)
            if item.status.lower() == "failed":
                failed_wamids.add(item.wamid)
        out: list[StatusChange] = [*self.store.apply_statuses([items[k] for k in first], now=now)]
        if not failed_wamids:
            return out
        changes: dict[int, StatusChange] = dict(zip(first, out, strict=True))
        for k in first:
            if items[k].status.lower() == "failed":
                changes[k] = self._failed(items[k], changes[k], now, fbtrace_id)
        if after:  # a message's statuses after its failure: they see what the policy did
            changes.update(zip(after, self.apply_statuses([items[k] for k in after], fbtrace_id=fbtrace_id),
                               strict=True))
        return [changes[k] for k in range(len(items))]

    def _failed(self, item: StatusInput, change: StatusChange, now: float, fbtrace_id: str | None) -> StatusChange:
        """A ``failed`` status (``change``: the store's answer to it): the retry policy decides, like for an
        error answer to the call."""
        if not (change.applied and change.job is not None):
            return change
        job = change.job
        decision = self.decide(job, item.error_code, title=item.error_title)
        settlement = self.failure(job, decision, Failure(item.error_code, item.error_title, item.error_details,
                                                         fbtrace_id), now, called=False, expect=AFTER_ACCEPT)
        apply_effects(self.store, job.phone_number_id, settlement.effects)
        self.store.settle([settlement.outcome])
        if settlement.outcome.state is JobState.QUEUED:
            self.wake()
        return StatusChange(self.store.get(job.id), True, decision.reason)

    def replay_all(self, statuses: list[EarlyStatus]) -> None:
        """:meth:`replay_early` for each, in one transaction when the store can batch (the statuses that
        beat a settled batch's answers: two commits each, in the worker's store thread, otherwise).
        A failure redoes them one at a time; one that still fails is logged, never raised."""
        batch = getattr(self.store, "batch", None)
        if len(statuses) > 1 and callable(batch):
            try:
                with batch():
                    self._replay(statuses)
                return
            except StoreError as exc:
                if exc.transient:
                    raise  # the caller waits out an unavailable store and calls again
        for early in statuses:
            try:
                self.replay_early(early)
            except StoreError as exc:
                if exc.transient:
                    raise
                log.error("early status %s for %s not applied: %s", early.status, early.wamid, exc)

    def replay_early(self, early: EarlyStatus) -> StatusChange:
        """Apply a status that arrived before its send was recorded, record the pricing it came with, then
        forget it (replays are harmless)."""
        return self._replay([early])[0]

    def _replay(self, statuses: Sequence[EarlyStatus]) -> list[StatusChange]:
        """Early statuses applied together (their wamids locked at once, in one order), their prices
        recorded with their jobs, and forgotten."""
        items = [StatusInput(e.wamid, e.status, float(e.ts) if e.ts else self.clock(), e.error_code, e.error_title,
                             e.error_details) for e in statuses]
        changes = self.apply_statuses(items)
        prices = [Price(e.wamid, e.pricing, e.wa_id, c.job)
                  for e, c in zip(statuses, changes, strict=True) if e.pricing is not None and c.job is not None]
        if prices:
            self.price(prices)
        for early in statuses:
            self.store.forget_early(early.wamid, early.status)
        return changes
