"""The retry policy: what to do after a failed call, decided from the error table, never ad hoc.

:func:`wacloud.errors.retry_class` gives each code a :class:`~wacloud.errors.RetryClass`;
:class:`RetryPolicy.decide` maps that class (plus the job's counters) to a :class:`Decision`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from enum import StrEnum

from wacloud.delivery.model import Counter, InFlightPolicy
from wacloud.errors import RetryClass, retry_class

#: Codes that mean "the number's throughput was exceeded" (backoff without burning a failure).
THROTTLE_CODES: frozenset[int] = frozenset({130429, 4, 80007, 80008})
#: The marketing opt-out code: record it, never retry marketing to that user.
OPT_OUT_CODE = 131050
#: The window-closed code (local WindowClosed failures carry it too).
WINDOW_CLOSED_CODE = 131047
#: Codes that reveal a limit (:mod:`wacloud.delivery.holds` holds the jobs it would refuse): a throughput
#: upgrade in progress and a paused template wait (the job is held, no failure counted); a disabled
#: template and the per-user marketing cap fail the job (131049 is never retried) and are remembered.
LIMIT_CODES: dict[int, str] = {
    131057: "throughput_upgrade", 132015: "template_paused", 132016: "template_disabled",
    131049: "marketing_cap",
}
#: Of those, the ones whose job waits (held) rather than fails.
LIMIT_WAITS = frozenset({"throughput_upgrade", "template_paused"})


class Action(StrEnum):
    """What the worker does with the job."""

    RETRY = "retry"  #: queue it again after ``delay_s``
    RETRY_RECIPIENT = "retry_recipient"  #: hold this recipient (only) for ``delay_s``, then retry
    PAUSE = "pause"  #: pause the whole number for ``delay_s``; the job waits without burning an attempt
    FALLBACK = "fallback"  #: send the job's fallback template instead, now
    FAIL = "fail"  #: final failure with the code
    DEAD = "dead"  #: retries exhausted: dead letter with the reason
    UNCERTAIN = "uncertain"  #: the call may have gone out: do not resend (at_most_once)


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's verdict for one failed call."""

    action: Action
    reason: str
    delay_s: float = 0.0
    counter: Counter | None = None
    opt_out: bool = False
    #: The limit the error revealed (a key of :data:`LIMIT_CODES`' values), recorded with the outcome.
    limit: str | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds and backoff shapes; every number here is a setting, not a constant spread in code."""

    #: Calls allowed for transient failures (5xx, timeouts, 131000/131016/131057) before dead-lettering.
    max_failures: int = 6
    #: 130429 backoffs allowed before dead-lettering (throughput errors do not count as failures).
    max_throttles: int = 20
    #: 131056 retries (4^n s) allowed before dead-lettering.
    max_pair_retries: int = 6
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    #: Jitter as a fraction of the delay: the delay is drawn from [d·(1-jitter), d].
    jitter: float = 0.5
    pair_base_s: float = 4.0
    pair_cap_s: float = 4.0 ** 6
    #: How long an auth error (190…) pauses the number before one job probes again.
    auth_pause_s: float = 60.0
    in_flight: InFlightPolicy = InFlightPolicy.AT_MOST_ONCE
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, n: int) -> float:
        """The n-th (0-based) exponential backoff with jitter: about 1, 2, 4 … capped."""
        # The exponent is bounded: 2.0 ** n overflows (OverflowError) past n = 1023.
        nominal = min(self.backoff_cap_s, self.backoff_base_s * (2.0 ** min(max(0, n), 1000)))
        return nominal * (1.0 - self.jitter * self.rng.random())

    def pair_delay(self, n: int) -> float:
        """Meta's advice for 131056: wait 4^n s (n = 0, 1, 2 …), capped."""
        return float(min(self.pair_cap_s, self.pair_base_s ** min(max(0, n), 500)))

    def decide(self, code: int, http_status: int | None, *, failures: int = 0, throttles: int = 0,
               pair_retries: int = 0, has_fallback: bool = False, used_fallback: bool = False,
               title: str | None = None) -> Decision:
        """Decide about an API error ``code`` given how often this job already failed each way."""
        klass = retry_class(code, http_status)
        label = f"(#{code}) {title}" if title else f"(#{code})"
        limit = LIMIT_CODES.get(code)
        if limit in LIMIT_WAITS:
            # Queued again: the gate holds it (and the rest) until the limit lifts. A 131057 still counts
            # as a failure, so a number that stays in maintenance ends in the dead letter, not a loop.
            counter: Counter | None = "failures" if limit == "throughput_upgrade" else None
            if counter is not None and failures + 1 >= self.max_failures:
                return Decision(Action.DEAD, f"gave up after {failures + 1} failures: {label}", limit=limit)
            return Decision(Action.RETRY, f"limit {limit}: {label}; held until it lifts", 1.0, counter,
                            limit=limit)
        if limit is not None:
            return Decision(Action.FAIL, f"limit {limit}: {label}", limit=limit)
        if klass is RetryClass.BACKOFF:
            if code in THROTTLE_CODES:
                if throttles + 1 >= self.max_throttles:
                    return Decision(Action.DEAD, f"throttled {throttles + 1} times: {label}")
                return Decision(Action.RETRY, f"throughput: {label}", self.backoff(throttles), "throttles")
            return self._transient(label, failures)
        if klass is RetryClass.RECIPIENT_LATER:
            if pair_retries + 1 >= self.max_pair_retries:
                return Decision(Action.DEAD, f"pair rate hit {pair_retries + 1} times: {label}")
            return Decision(Action.RETRY_RECIPIENT, f"pair rate: {label}", self.pair_delay(pair_retries),
                            "pair_retries")
        if klass is RetryClass.AUTH:
            # No counter: an auth error is the account's fault, not the message's.
            return Decision(Action.PAUSE, f"auth: {label}; sending paused", self.auth_pause_s)
        if klass is RetryClass.NEEDS_TEMPLATE:
            if has_fallback and not used_fallback:
                return Decision(Action.FALLBACK, f"window closed: {label}; sending the fallback template")
            return Decision(Action.FAIL, f"window closed: {label}")
        if klass is RetryClass.NEVER:
            return Decision(Action.FAIL, label, opt_out=code == OPT_OUT_CODE)
        return Decision(Action.FAIL, f"request refused: {label}")

    def transport(self, *, ambiguous: bool, failures: int, reason: str) -> Decision:
        """Decide about a call that got no answer.

        A connect-phase failure never reached Meta: retry it. A dropped connection or read timeout
        may have been accepted: under ``at_most_once`` it is ``uncertain``, under ``at_least_once``
        it is retried like a 5xx.
        """
        if ambiguous and self.in_flight is InFlightPolicy.AT_MOST_ONCE:
            return Decision(Action.UNCERTAIN, f"no answer, outcome unknown: {reason}")
        return self._transient(f"transport: {reason}", failures)

    def _transient(self, label: str, failures: int) -> Decision:
        if failures + 1 >= self.max_failures:
            return Decision(Action.DEAD, f"gave up after {failures + 1} failures: {label}")
        return Decision(Action.RETRY, f"transient: {label}", self.backoff(failures), "failures")
