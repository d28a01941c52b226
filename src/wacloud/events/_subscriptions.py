"""Subscriptions: who gets which events, their secret, cursor, delivery state and dead letters.

Two tables in the gateway's database (created if missing): ``wacloud_gw_subscriptions`` (one row each:
filters, secret, the cursor below which every matching event was delivered or dead-lettered, counters of
attempts, the last attempt, and a lease so one process delivers a subscription at a time) and
``wacloud_gw_subscription_dead`` (events that failed every attempt, kept until replayed or deleted).
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from wacloud.events.log import Rows, Runner

_TABLES: Final = (
    """CREATE TABLE IF NOT EXISTS wacloud_gw_subscriptions (
        id TEXT PRIMARY KEY, url TEXT NOT NULL, types TEXT, numbers TEXT, secret TEXT NOT NULL,
        state TEXT NOT NULL, paused_reason TEXT, failing INTEGER NOT NULL DEFAULT 0,
        cursor BIGINT NOT NULL, generation INTEGER NOT NULL DEFAULT 0, created_at DOUBLE PRECISION NOT NULL,
        delivered BIGINT NOT NULL DEFAULT 0, failed_attempts BIGINT NOT NULL DEFAULT 0,
        dead_lettered BIGINT NOT NULL DEFAULT 0, consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_status INTEGER, last_error TEXT, last_latency_ms DOUBLE PRECISION,
        last_attempt_at DOUBLE PRECISION, next_retry_at DOUBLE PRECISION,
        holder TEXT, lease_until DOUBLE PRECISION)""",
    """CREATE TABLE IF NOT EXISTS wacloud_gw_subscription_dead (
        subscription_id TEXT NOT NULL, position BIGINT NOT NULL, event_id TEXT NOT NULL,
        attempts INTEGER NOT NULL, last_error TEXT, at DOUBLE PRECISION NOT NULL,
        requeued INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (subscription_id, position))""",
)
_COLUMNS: Final = ("id, url, types, numbers, secret, state, paused_reason, failing, cursor, generation, created_at, "
                   "delivered, failed_attempts, dead_lettered, consecutive_failures, last_status, last_error, "
                   "last_latency_ms, last_attempt_at, next_retry_at, holder, lease_until")


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class Subscription:
    """One subscription as stored (``cursor``: every matching event up to it is done)."""

    id: str
    url: str
    types: tuple[str, ...] | None
    numbers: tuple[str, ...] | None
    secret: str
    state: str  # "active" or "paused"
    paused_reason: str | None
    failing: bool
    cursor: int
    generation: int
    created_at: float
    delivered: int
    failed_attempts: int
    dead_lettered: int
    consecutive_failures: int
    last_status: int | None
    last_error: str | None
    last_latency_ms: float | None
    last_attempt_at: float | None
    next_retry_at: float | None
    holder: str | None
    lease_until: float | None

    def as_json(self, *, with_secret: bool = False) -> dict[str, Any]:
        """The API's view (the secret only when asked: it is shown once, at creation)."""
        out: dict[str, Any] = {
            "id": self.id, "url": self.url, "types": list(self.types) if self.types else None,
            "numbers": list(self.numbers) if self.numbers else None, "state": self.state,
            "paused_reason": self.paused_reason, "failing": self.failing, "cursor": self.cursor,
            "created_at": self.created_at,
            "delivery": {"delivered": self.delivered, "failed_attempts": self.failed_attempts,
                         "dead_lettered": self.dead_lettered, "consecutive_failures": self.consecutive_failures,
                         "last_status": self.last_status, "last_error": self.last_error,
                         "last_latency_ms": self.last_latency_ms, "last_attempt_at": self.last_attempt_at,
                         "next_retry_at": self.next_retry_at},
        }
        if with_secret:
            out["secret"] = self.secret
        return out


class SecretCodec(Protocol):
    """How a subscription's signing secret is kept (the gateway's: encrypted with ``WACLOUD_SECRET_KEY``)."""

    def seal(self, value: str) -> str:
        """``value`` as stored."""
        ...

    def open(self, value: str) -> str:
        """A stored value in clear; a :class:`ValueError` when it cannot be read (no key, or another one)."""
        ...

    def stale(self, value: str) -> bool:
        """True when a stored value should be stored again (sealed anew)."""
        ...


def _sub(row: Sequence[Any], codec: SecretCodec) -> Subscription:
    types = tuple(json.loads(row[2])) if row[2] else None
    numbers = tuple(json.loads(row[3])) if row[3] else None
    state, reason = str(row[5]), row[6]
    try:
        secret = codec.open(str(row[4]))
    except ValueError as exc:
        # Deliveries signed with anything else would fail at the receiver: none go, and the API says why.
        secret, state, reason = "", "paused", f"its signing secret cannot be read: {exc}"
    return Subscription(str(row[0]), str(row[1]), types, numbers, secret, state, reason, bool(row[7]),
                        int(row[8]), int(row[9]), float(row[10]), int(row[11]), int(row[12]), int(row[13]),
                        int(row[14]), row[15], row[16], row[17], row[18], row[19], row[20], row[21])


@dataclass(slots=True)
class DeliveryStats:
    """What a batch of attempts adds to a subscription's counters (written with its cursor)."""

    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0
    consecutive_failures: int = 0
    last_status: int | None = None
    last_error: str | None = None
    last_latency_ms: float | None = None
    last_attempt_at: float | None = None
    next_retry_at: float | None = None

    def params(self) -> list[Any]:
        """The values of :data:`_STATS_SET`'s placeholders."""
        return [self.delivered, self.failed_attempts, self.dead_lettered, self.consecutive_failures,
                self.last_status, self.last_error, self.last_latency_ms, self.last_attempt_at, self.next_retry_at]

    def reset_counts(self) -> None:
        """After they were written: the counters are added, the last-attempt fields stay."""
        self.delivered = self.failed_attempts = self.dead_lettered = 0


_STATS_SET: Final = ("delivered = delivered + ?, failed_attempts = failed_attempts + ?, "
                     "dead_lettered = dead_lettered + ?, consecutive_failures = ?, "
                     "last_status = COALESCE(?, last_status), last_error = ?, "
                     "last_latency_ms = COALESCE(?, last_latency_ms), "
                     "last_attempt_at = COALESCE(?, last_attempt_at), next_retry_at = ?")


class SubscriptionStore:
    """The subscription tables, through ``run`` (one transaction per call); ``codec`` keeps the secrets."""

    def __init__(self, run: Runner, codec: SecretCodec) -> None:
        self._run = run
        self._codec = codec
        for statement in _TABLES:
            self._rows(statement)

    def protect(self) -> int:
        """Store again every signing secret the codec calls stale (kept in clear while a key is set, or
        under an older key); how many were."""
        done = 0
        for sub_id, stored in self._rows("SELECT id, secret FROM wacloud_gw_subscriptions"):
            if not self._codec.stale(str(stored)):
                continue
            try:
                clear = self._codec.open(str(stored))
            except ValueError:
                continue  # shown paused, with the reason (see _sub)
            done += len(self._rows("UPDATE wacloud_gw_subscriptions SET secret = ? WHERE id = ? AND secret = ? "
                                   "RETURNING id", (self._codec.seal(clear), sub_id, stored)))
        return done

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._run(lambda tx: tx.rows(sql, params))
        return rows

    def create(self, url: str, *, types: Sequence[str] | None, numbers: Sequence[str] | None,
               cursor: int) -> Subscription:
        """A new active subscription, delivering events after position ``cursor``."""
        sub_id = "sub_" + secrets.token_hex(8)
        self._rows("INSERT INTO wacloud_gw_subscriptions (id, url, types, numbers, secret, state, cursor, "
                   "created_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?)",
                   (sub_id, url, json.dumps(list(types)) if types else None,
                    json.dumps(list(numbers)) if numbers else None, self._codec.seal(new_secret()), int(cursor),
                    time.time()))
        sub = self.get(sub_id)
        assert sub is not None
        return sub

    def get(self, sub_id: str) -> Subscription | None:
        """One subscription (None when unknown)."""
        rows = self._rows(f"SELECT {_COLUMNS} FROM wacloud_gw_subscriptions WHERE id = ?", (sub_id,))
        return _sub(rows[0], self._codec) if rows else None

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        return [_sub(r, self._codec) for r in self._rows(f"SELECT {_COLUMNS} FROM wacloud_gw_subscriptions "
                                                         "ORDER BY created_at, id")]

    def delete(self, sub_id: str) -> bool:
        """Remove a subscription and its dead letters; False when unknown."""

        def work(tx: Rows) -> bool:
            tx.rows("DELETE FROM wacloud_gw_subscription_dead WHERE subscription_id = ?", (sub_id,))
            return bool(tx.rows("DELETE FROM wacloud_gw_subscriptions WHERE id = ? RETURNING id", (sub_id,)))

        done: bool = self._run(work)
        return done

    def set_state(self, sub_id: str, state: str, reason: str | None = None, *, failing: bool = False) -> bool:
        """Pause (with a reason; ``failing`` flags a pause caused by failures) or resume (clears both)."""
        rows = self._rows("UPDATE wacloud_gw_subscriptions SET state = ?, paused_reason = ?, failing = ?, "
                          "consecutive_failures = CASE WHEN ? = 'active' THEN 0 ELSE consecutive_failures END, "
                          "next_retry_at = NULL WHERE id = ? RETURNING id",
                          (state, reason, int(failing), state, sub_id))
        return bool(rows)

    def replay(self, sub_id: str, cursor: int) -> bool:
        """Move the cursor (back or forward): delivery goes on with the events after it."""
        return bool(self._rows("UPDATE wacloud_gw_subscriptions SET cursor = ?, generation = generation + 1 "
                               "WHERE id = ? RETURNING id", (int(cursor), sub_id)))

    def lease(self, sub_id: str, holder: str, now: float, ttl_s: float) -> Subscription | None:
        """Take or renew the right to deliver ``sub_id`` for ``ttl_s``; None when another process holds it."""
        rows = self._rows(f"UPDATE wacloud_gw_subscriptions SET holder = ?, lease_until = ? WHERE id = ? "
                          "AND (holder IS NULL OR holder = ? OR lease_until IS NULL OR lease_until < ?) "
                          f"RETURNING {_COLUMNS}", (holder, now + ttl_s, sub_id, holder, now))
        return _sub(rows[0], self._codec) if rows else None

    def take_over(self, sub_id: str, gone: str, holder: str, now: float, ttl_s: float) -> Subscription | None:
        """Take the lease from ``gone`` (a holder known to be dead), if it still holds it."""
        rows = self._rows(f"UPDATE wacloud_gw_subscriptions SET holder = ?, lease_until = ? WHERE id = ? "
                          f"AND holder = ? RETURNING {_COLUMNS}", (holder, now + ttl_s, sub_id, gone))
        return _sub(rows[0], self._codec) if rows else None

    def release(self, sub_id: str, holder: str) -> None:
        """Give the lease back (a graceful stop), so another process may deliver at once."""
        self._rows("UPDATE wacloud_gw_subscriptions SET holder = NULL, lease_until = NULL "
                   "WHERE id = ? AND holder = ?", (sub_id, holder))

    def advance(self, sub_id: str, generation: int, cursor: int, stats: DeliveryStats) -> bool:
        """Record a finished batch: its counters and, unless a replay moved it meanwhile, the new cursor."""

        def work(tx: Rows) -> bool:
            tx.rows(f"UPDATE wacloud_gw_subscriptions SET {_STATS_SET} WHERE id = ?", [*stats.params(), sub_id])
            return bool(tx.rows("UPDATE wacloud_gw_subscriptions SET cursor = ? WHERE id = ? AND generation = ? "
                                "AND cursor < ? RETURNING id", (int(cursor), sub_id, generation, int(cursor))))

        moved: bool = self._run(work)
        stats.reset_counts()
        return moved

    def save_stats(self, sub_id: str, stats: DeliveryStats) -> None:
        """Record counters and the last attempt without moving the cursor (a retry is waiting)."""
        self._rows(f"UPDATE wacloud_gw_subscriptions SET {_STATS_SET} WHERE id = ?", [*stats.params(), sub_id])
        stats.reset_counts()

    # --- dead letters ------------------------------------------------------------------------------
    def dead_letter(self, sub_id: str, position: int, event_id: str, attempts: int, error: str | None) -> None:
        """Set an event aside after its last attempt (replayable)."""
        self._rows("INSERT INTO wacloud_gw_subscription_dead (subscription_id, position, event_id, attempts, "
                   "last_error, at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subscription_id, position) DO UPDATE "
                   "SET attempts = excluded.attempts, last_error = excluded.last_error, at = excluded.at, "
                   "requeued = 0", (sub_id, position, event_id, attempts, error, time.time()))

    def dead_letters(self, sub_id: str, *, requeued_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
        """The subscription's dead letters, in log order."""
        only = " AND requeued = 1" if requeued_only else ""
        rows = self._rows("SELECT position, event_id, attempts, last_error, at, requeued FROM "
                          f"wacloud_gw_subscription_dead WHERE subscription_id = ?{only} ORDER BY position LIMIT ?",
                          (sub_id, int(limit)))
        return [{"position": int(r[0]), "event_id": r[1], "attempts": int(r[2]), "last_error": r[3],
                 "at": float(r[4]), "requeued": bool(r[5])} for r in rows]

    def requeue_dead(self, sub_id: str) -> int:
        """Mark every dead letter of ``sub_id`` for another round of delivery; returns how many."""
        return len(self._rows("UPDATE wacloud_gw_subscription_dead SET requeued = 1 WHERE subscription_id = ? "
                              "RETURNING position", (sub_id,)))

    def forget_dead(self, sub_id: str, position: int) -> None:
        """A replayed dead letter was delivered."""
        self._rows("DELETE FROM wacloud_gw_subscription_dead WHERE subscription_id = ? AND position = ?",
                   (sub_id, position))
