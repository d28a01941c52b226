"""Where the receiver remembers things: seen keys (duplicates) and not-yet-processed payloads (inbox).

The protocols are what the receiver needs; the in-memory classes are the defaults for one process.
``wacloud.delivery`` implements both durably on SQLite and PostgreSQL, so duplicates are caught across
processes and restarts and a payload answered with 200 survives a crash. Implementations must be
safe to call from several threads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
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

    def first_seen(self, key: str) -> bool:
        """Record ``key``; True if it was not seen within the TTL (and not evicted since)."""
        now = self._clock()
        with self._lock:
            seen_at = self._seen.get(key)
            if seen_at is not None and now - seen_at < self.ttl_s:
                return False
            self._seen[key] = now
            self._seen.move_to_end(key)
            # Oldest first: drop expired keys, then the least recently recorded beyond the cap.
            while self._seen:
                oldest_key, oldest_at = next(iter(self._seen.items()))
                if len(self._seen) > self.max_keys or now - oldest_at >= self.ttl_s:
                    del self._seen[oldest_key]
                else:
                    break
            return True

    def __len__(self) -> int:
        return len(self._seen)


class MemoryInboxStore:
    """In-process inbox: survives nothing, but lets the same code path run without a database."""

    def __init__(self) -> None:
        self._items: dict[int, bytes] = {}
        self._headers: dict[int, str] = {}
        self._next = 1
        self._lock = threading.Lock()

    def put(self, raw: bytes, headers_json: str) -> int:
        """Keep a payload; returns its id."""
        with self._lock:
            id = self._next
            self._next += 1
            self._items[id] = bytes(raw)
            self._headers[id] = headers_json
            return id

    def pending(self, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` payloads not done, oldest first."""
        with self._lock:
            return [(id, self._items[id]) for id in sorted(self._items)[:limit]]

    def done(self, id: int) -> None:
        """Forget a processed payload."""
        with self._lock:
            self._items.pop(id, None)
            self._headers.pop(id, None)

    def __len__(self) -> int:
        return len(self._items)
