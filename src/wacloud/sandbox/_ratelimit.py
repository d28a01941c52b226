"""Token buckets for Meta's throughput (per business number) and pair rate (per number and recipient)."""

from __future__ import annotations


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second; one message takes one token."""

    __slots__ = ("capacity", "last", "rate", "tokens")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = float(capacity)
        self.rate = float(rate)
        self.tokens = float(capacity)
        self.last = now

    def take(self, now: float) -> bool:
        """Take one token if there is one; False means the limit is hit (nothing is taken)."""
        if now > self.last:
            self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
            self.last = now
        # A tiny tolerance keeps float rounding from turning an exactly refilled token into a refusal.
        if self.tokens >= 1.0 - 1e-9:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """The two buckets Meta applies to sends: throughput and pair rate."""

    def __init__(self, *, mps: float, capacity: float, pair_interval_s: float, pair_burst: int) -> None:
        self.configure(mps=mps, capacity=capacity, pair_interval_s=pair_interval_s, pair_burst=pair_burst)
        self._numbers: dict[str, TokenBucket] = {}
        self._pairs: dict[tuple[str, str], TokenBucket] = {}
        #: Numbers with a rate of their own (messages per second; capacity one second's worth).
        self.per_number: dict[str, float] = {}

    def configure(self, *, mps: float, capacity: float, pair_interval_s: float, pair_burst: int) -> None:
        """Change the limits; existing buckets are dropped so the new limits apply at once."""
        self.mps = float(mps)
        self.capacity = float(capacity)
        self.pair_rate = 1.0 / float(pair_interval_s)
        self.pair_burst = float(pair_burst)
        self._numbers = {}
        self._pairs = {}

    def reset(self) -> None:
        """Full buckets everywhere."""
        self._numbers.clear()
        self._pairs.clear()

    def take_throughput(self, phone_number_id: str, now: float) -> bool:
        """One token from the number's throughput bucket."""
        bucket = self._numbers.get(phone_number_id)
        if bucket is None:
            own = self.per_number.get(phone_number_id)
            bucket = self._numbers[phone_number_id] = (
                TokenBucket(own, own, now) if own is not None else TokenBucket(self.capacity, self.mps, now)
            )
        return bucket.take(now)

    def take_pair(self, phone_number_id: str, wa_id: str, now: float) -> bool:
        """One token from the (number, recipient) pair-rate bucket."""
        key = (phone_number_id, wa_id)
        bucket = self._pairs.get(key)
        if bucket is None:
            bucket = self._pairs[key] = TokenBucket(self.pair_burst, self.pair_rate, now)
        return bucket.take(now)
