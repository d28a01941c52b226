"""Where the receiver remembers things: seen keys (duplicates) and not-yet-processed payloads (inbox).

The protocols are what the receiver needs; the in-memory classes are the defaults for one process.
``wacloud.delivery`` implements both durably on SQLite and PostgreSQL, so duplicates are caught across
processes and restarts and a payload answered with 200 survives a crash. Implementations must be
safe to call from several threads.

Three optional capabilities make the receiver exact under failures and with several processes, and cheap:

* :class:`DedupLookup` (``seen``): a read that records nothing, so a retried payload can skip the
  updates that were completed and re-run the one that failed.
* :class:`LeasedInboxStore`: payloads are *leased* to one receiver at a time (``put`` leases the new
  payload to the process that answered it; ``inbox_claim`` leases due ones to whoever asks), a failed
  payload is put back with a delay (``inbox_retry_later``) and a hopeless one is set aside
  (``inbox_dead_letter``). Without it, two processes resuming one inbox would both process it.
* :class:`GroupInbox` (``write_group``): an inbox that is also the dedup store writes, in one transaction,
  the payloads arriving together *with* the claims of their updates' keys, and the "done" marks and
  removal of payloads processed meanwhile (group commit). Without it, a payload costs a transaction for
  its row, one for its claims, one for its marks and one for its removal.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

# Meta retries a webhook for up to 7 days, so a key must be remembered that long to catch the
# latest retry; the cap bounds memory (~100 bytes a key) when traffic is high.
DEDUP_TTL_S: Final = 7 * 24 * 3600
DEDUP_MAX_KEYS: Final = 200_000


@runtime_checkable
class DedupStore(Protocol):
    """Records keys; ``first_seen`` is True only the first time a key is offered (atomically)."""

    def first_seen(self, key: str) -> bool:
        """Record ``key``; True if it was not recorded before."""
        ...


@runtime_checkable
class DedupLookup(Protocol):
    """A dedup store that can also tell whether a key was recorded, without recording it."""

    def seen(self, key: str) -> bool:
        """True if ``key`` was recorded (and not forgotten since)."""
        ...


@runtime_checkable
class DedupBatch(Protocol):
    """A dedup store that can record several keys in one go (one transaction)."""

    def first_seen_all(self, keys: Sequence[str]) -> list[bool]:
        """Record every key; for each, True if it was not recorded before."""
        ...


@runtime_checkable
class InboxStore(Protocol):
    """Raw webhook payloads kept from before the 200 until they are processed."""

    def put(self, raw: bytes, headers_json: str) -> int:
        """Store a payload durably; returns its id (increasing)."""
        ...

    def pending(self, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` payloads not marked done, oldest first."""
        ...

    def done(self, id: int) -> None:
        """Mark a payload processed."""
        ...


@runtime_checkable
class LeasedInboxStore(InboxStore, Protocol):
    """An inbox whose payloads are leased to one receiver at a time, retried later, or set aside.

    ``put(raw, headers_json, lease_s=...)`` must accept ``lease_s``: the new payload is then leased to
    the caller for that long, so no other process claims it while it is processed after the 200.
    """

    def put(self, raw: bytes, headers_json: str, lease_s: float | None = None) -> int:
        """Store a payload durably, leased to the caller for ``lease_s`` (if given); returns its id."""
        ...

    def inbox_claim(self, limit: int, lease_s: float) -> list[tuple[int, bytes, int]]:
        """Lease up to ``limit`` due payloads (not leased, not set aside): (id, raw, failures so far)."""
        ...

    def inbox_extend(self, ids: Sequence[int], lease_s: float) -> None:
        """Extend the leases of payloads still being processed to ``lease_s`` from now."""
        ...

    def inbox_retry_later(self, id: int, delay_s: float, reason: str) -> None:
        """Count a failure and release the payload: it is due again in ``delay_s``."""
        ...

    def inbox_dead_letter(self, id: int, reason: str) -> None:
        """Set a payload aside for good (no longer pending), keeping it and the reason."""
        ...


@dataclass(frozen=True, slots=True)
class Arrival:
    """A payload to store, leased to the caller, and the dedup keys of its updates, in order (None: no key)."""

    raw: bytes
    headers_json: str
    keys: tuple[str | None, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxGroup:
    """What one :meth:`GroupInbox.write_group` transaction writes.

    ``arrivals`` are stored, each leased for ``lease_s``, and their keys recorded (claimed); a key that was
    recorded before (or by an earlier arrival of the group) is not claimed, and ``skip_mark(id, index)``
    of its update is recorded instead, so a later retry of that payload knows the update is not its own.
    ``marks`` are recorded as keys too ("done" marks), and the payloads ``done`` are removed (processed).
    With ``wait_s``, the write waits at most that long for a busy database (then fails), and leaves the
    slow maintenance (a WAL checkpoint's fsync) to other calls: the caller is an event loop's thread.
    """

    skip_mark: Callable[[int, int], str]
    arrivals: Sequence[Arrival] = ()
    lease_s: float = 0.0
    marks: Sequence[str] = ()
    done: Sequence[int] = ()
    wait_s: float | None = None


@runtime_checkable
class GroupInbox(Protocol):
    """An inbox (and dedup store) that writes a group of arrivals, marks and removals in one transaction."""

    def write_group(self, group: InboxGroup) -> list[tuple[int, list[bool]]]:
        """Write ``group`` atomically; per arrival, its id and, per key, True if it was claimed (new)."""
        ...


def first_seen_all(dedup: DedupStore, keys: Sequence[str]) -> list[bool]:
    """Record every key, in one call when the store is a :class:`DedupBatch`; True for each new one."""
    if isinstance(dedup, DedupBatch):
        return dedup.first_seen_all(keys)
    return [dedup.first_seen(key) for key in keys]


class MemoryDedupStore:
    """Bounded in-process dedup: at most ``max_keys`` keys, each forgotten after ``ttl_s`` (LRU order)."""

    def __init__(self, max_keys: int = DEDUP_MAX_KEYS, ttl_s: float = DEDUP_TTL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self.ttl_s = ttl_s
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._next_purge = float("-inf")

    def first_seen(self, key: str) -> bool:
        """Record ``key``; True if it was not seen within the TTL (and not evicted since)."""
        now = self._clock()
        seen = self._seen
        with self._lock:
            seen_at = seen.get(key)
            if seen_at is not None:
                if now - seen_at < self.ttl_s:
                    return False
                seen.move_to_end(key)
            seen[key] = now
            # Expired keys are dropped at most every second (a lookup checks the TTL anyway): looking at
            # the oldest key on every call cost a fifth of this method, once per webhook.
            if len(seen) > self.max_keys or now >= self._next_purge:
                self._purge(now)
            return True

    def _purge(self, now: float) -> None:
        """Oldest first: drop expired keys, then the least recently recorded beyond the cap."""
        seen = self._seen
        while seen:
            oldest_key, oldest_at = next(iter(seen.items()))
            if len(seen) > self.max_keys or now - oldest_at >= self.ttl_s:
                del seen[oldest_key]
            else:
                break
        self._next_purge = now + min(1.0, self.ttl_s)

    def seen(self, key: str) -> bool:
        """True if ``key`` was recorded within the TTL (and not evicted since); records nothing."""
        with self._lock:
            seen_at = self._seen.get(key)
            return seen_at is not None and self._clock() - seen_at < self.ttl_s

    def __len__(self) -> int:
        return len(self._seen)


@dataclass(slots=True)
class _Stored:
    raw: bytes
    headers: str
    lease_until: float | None = None
    failures: int = 0
    reason: str | None = None


class MemoryInboxStore:
    """In-process inbox: survives nothing, but lets the same code path run without a database.

    It implements :class:`LeasedInboxStore`; payloads set aside are kept in :attr:`dead_letters`.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._items: dict[int, _Stored] = {}
        #: Payloads set aside: id → (raw, reason).
        self.dead_letters: dict[int, tuple[bytes, str]] = {}
        self._next = 1
        self._clock = clock
        self._lock = threading.Lock()

    def put(self, raw: bytes, headers_json: str, lease_s: float | None = None) -> int:
        """Keep a payload (leased to the caller for ``lease_s``, if given); returns its id."""
        with self._lock:
            id = self._next
            self._next += 1
            lease = self._clock() + lease_s if lease_s is not None else None
            self._items[id] = _Stored(bytes(raw), headers_json, lease)
            return id

    def pending(self, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` payloads not done, oldest first."""
        with self._lock:
            return [(id, self._items[id].raw) for id in sorted(self._items)[:limit]]

    def done(self, id: int) -> None:
        """Forget a processed payload."""
        with self._lock:
            self._items.pop(id, None)

    def inbox_claim(self, limit: int, lease_s: float) -> list[tuple[int, bytes, int]]:
        """Lease up to ``limit`` due payloads, oldest first: (id, raw, failures so far)."""
        with self._lock:
            now = self._clock()
            out: list[tuple[int, bytes, int]] = []
            for id in sorted(self._items):
                if len(out) >= limit:
                    break
                item = self._items[id]
                if item.lease_until is None or item.lease_until <= now:
                    item.lease_until = now + lease_s
                    out.append((id, item.raw, item.failures))
            return out

    def inbox_extend(self, ids: Sequence[int], lease_s: float) -> None:
        """Extend the leases of payloads still being processed."""
        with self._lock:
            until = self._clock() + lease_s
            for id in ids:
                if id in self._items:
                    self._items[id].lease_until = until

    def inbox_retry_later(self, id: int, delay_s: float, reason: str) -> None:
        """Count a failure; the payload is due again in ``delay_s``."""
        with self._lock:
            item = self._items.get(id)
            if item is not None:
                item.failures += 1
                item.reason = reason
                item.lease_until = self._clock() + delay_s

    def inbox_dead_letter(self, id: int, reason: str) -> None:
        """Move a payload to :attr:`dead_letters`."""
        with self._lock:
            item = self._items.pop(id, None)
            if item is not None:
                self.dead_letters[id] = (item.raw, reason)

    def failures(self, id: int) -> int:
        """How many failed attempts a pending payload has had (0 if unknown)."""
        with self._lock:
            item = self._items.get(id)
            return item.failures if item is not None else 0

    def __len__(self) -> int:
        return len(self._items)
