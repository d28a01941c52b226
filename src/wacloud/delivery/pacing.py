"""Pacing math: the per-number send-slot schedule and the per-recipient pair bucket.

Both are GCRA ("virtual scheduling") buckets: the store keeps one number per bucket, the
*theoretical arrival time* (TAT) of the next message, and updates it atomically, so the limit holds
across every worker and process that shares the store.

- Global: a worker reserves ``n`` send slots at once (cheap: one row update per batch); slot ``i``
  is at ``start + i / rate``. Slots of different workers never overlap, so together they never
  exceed the rate.
- Pair: one token per :data:`wacloud.limits.PAIR_RATE_INTERVAL_S` per (number, recipient), with a
  configurable burst (default 1: Meta's 45-message burst borrows from future quota, so using it
  only delays later messages and risks 131056).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wacloud.errors import ValidationError
from wacloud.limits import COEXISTENCE_MPS, DEFAULT_MPS, PAIR_RATE_BURST, PAIR_RATE_INTERVAL_S, UPGRADED_MPS

#: The conservative default pair burst (see the module docstring).
DEFAULT_PAIR_BURST = 1
#: The round trip of a Graph send that the default calls in flight are sized for (Meta: ~0.1-0.3 s).
GRAPH_CALL_S = 0.25
#: The fewest calls in flight by default (80 mps to Meta at ~0.3 s is ~24).
MIN_CONCURRENCY = 32


@dataclass(frozen=True, slots=True)
class Pacing:
    """The limits one outbox paces to."""

    #: Messages per second for the business number (80 default; 20 coexistence; 1000 upgraded).
    mps: float = DEFAULT_MPS
    #: Fraction of ``mps`` actually used, a little headroom for clock and network jitter.
    utilisation: float = 0.995
    pair_interval_s: float = PAIR_RATE_INTERVAL_S
    pair_burst: int = DEFAULT_PAIR_BURST
    #: Added to the pair interval: Meta measures arrival times, so a message paced at exactly the
    #: interval can arrive a hair early (network and loop jitter) and hit 131056.
    pair_slack_s: float = 0.05
    #: Never pace above this, whatever Meta grants (an operator's ceiling, kept over a throughput upgrade).
    max_mps: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.mps <= UPGRADED_MPS:
            raise ValidationError("mps", f"must be in (0, {UPGRADED_MPS}]", size=int(self.mps),
                                  limit=UPGRADED_MPS)
        if not 0 < self.utilisation <= 1:
            raise ValidationError("utilisation", "must be in (0, 1]")
        if not 1 <= self.pair_burst <= PAIR_RATE_BURST:
            raise ValidationError("pair_burst", f"must be in [1, {PAIR_RATE_BURST}]", size=self.pair_burst,
                                  limit=PAIR_RATE_BURST)
        if self.pair_interval_s <= 0:
            raise ValidationError("pair_interval_s", "must be positive")
        if self.pair_slack_s < 0:
            raise ValidationError("pair_slack_s", "must not be negative")
        if self.max_mps is not None and not 0 < self.max_mps <= UPGRADED_MPS:
            raise ValidationError("max_mps", f"must be in (0, {UPGRADED_MPS}]", size=int(self.max_mps),
                                  limit=UPGRADED_MPS)

    @property
    def pair_spacing_s(self) -> float:
        """Seconds between two messages to one recipient, slack included."""
        return self.pair_interval_s + self.pair_slack_s

    @property
    def in_flight(self) -> int:
        """The calls in flight the highest rate this number may reach needs when each takes
        :data:`GRAPH_CALL_S` (the default ``concurrency``: pacing sets the rate, the number of calls in
        flight must not cap it). Meta may upgrade a number to :data:`UPGRADED_MPS` while it sends (the
        store then paces at that rate), so that is the top unless ``max_mps`` caps it."""
        top = self.max_mps if self.max_mps is not None else max(self.mps, UPGRADED_MPS)
        return max(MIN_CONCURRENCY, math.ceil(top * GRAPH_CALL_S))

    @property
    def interval_s(self) -> float:
        """Seconds between two send slots of this number."""
        return 1.0 / (self.mps * self.utilisation)


#: Named presets for the documented throughput levels.
PRESETS: dict[str, float] = {
    "standard": DEFAULT_MPS, "coexistence": COEXISTENCE_MPS, "upgraded": UPGRADED_MPS,
}


def reserve(tat: float | None, now: float, n: int, interval_s: float) -> tuple[float, float]:
    """Reserve ``n`` slots: returns (first slot time, new TAT). Idle time is never banked as burst."""
    start = now if tat is None else max(tat, now)
    return start, start + n * interval_s


def pair_take(tat: float | None, now: float, interval_s: float, burst: int) -> tuple[bool, float]:
    """Try to take one pair token: (True, new TAT) or (False, time the next token is available)."""
    if tat is not None and tat - now > (burst - 1) * interval_s:
        return False, tat - (burst - 1) * interval_s
    base = now if tat is None else max(tat, now)
    return True, base + interval_s


def pair_hold_until(until: float, interval_s: float, burst: int) -> float:
    """The TAT that makes the next pair token available exactly at ``until`` (after a 131056)."""
    return until + (burst - 1) * interval_s
