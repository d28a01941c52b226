"""The webhook receiver's tables: dedup keys and the durable inbox (:mod:`wacloud.webhooks.store`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from wacloud.delivery._sql_base import SqlBase

#: Dedup keys looked at per transaction of a sweep (a short hold of the file's write lock).
SWEEP_BATCH = 2_000
#: Dedup keys looked at per :meth:`InboxSql.prune` call at least; and at most the share of the table that
#: lets a full pass take :data:`SWEEP_CALLS_PER_PASS` calls (the worker prunes every 10 minutes: ~33 h).
SWEEP_MIN_KEYS = 200_000
SWEEP_CALLS_PER_PASS = 200


class InboxSql(SqlBase):
    """The webhook receiver's dedup keys and durable inbox."""

    #: True when ``webhook_dedup`` has an index on its age (PostgreSQL); SQLite's keys are one b-tree in
    #: key order (migration 12), pruned by a sweep that resumes where the previous call stopped.
    DEDUP_AGE_INDEX = True
    #: The sweep's position (the last key looked at; None: at the start) and the size of its last full pass.
    _sweep_after: str | None = None
    _sweep_pass_keys = 0
    _sweep_seen = 0

    def prune(self, now: float, *, dedup_ttl_s: float, early_ttl_s: float) -> int:
        """Forget dedup keys older than ``dedup_ttl_s`` and early statuses nobody claimed (not our sends).

        Without an age index (SQLite) the keys are swept in key order, :data:`SWEEP_BATCH` a transaction,
        at most the larger of :data:`SWEEP_MIN_KEYS` and 1/:data:`SWEEP_CALLS_PER_PASS` of the table a
        call: an old key may outlive its time by one pass, and a key costs the request path one b-tree
        write instead of three.
        """
        cutoff = now - dedup_ttl_s
        with self._tx() as tx:
            n = tx.run("DELETE FROM early_statuses WHERE received_at < ?", (now - early_ttl_s,))
            if self.DEDUP_AGE_INDEX:
                n += tx.run("DELETE FROM webhook_dedup WHERE seen_at < ?", (cutoff,))
        if not self.DEDUP_AGE_INDEX:
            n += self._sweep(cutoff)
        return n

    def _sweep(self, cutoff: float) -> int:
        """One call's share of the sweep of the dedup keys seen before ``cutoff``; the keys deleted."""
        budget = max(SWEEP_MIN_KEYS, self._sweep_pass_keys // SWEEP_CALLS_PER_PASS)
        deleted = 0
        while budget > 0:
            after = self._sweep_after
            lower, params = (" AND key > ?", [after]) if after is not None else ("", [])
            with self._tx() as tx:
                # The batch's last key: the batch is (after, last]; none: the rest of the table.
                last = tx.rows(f"SELECT key FROM webhook_dedup WHERE 1 = 1{lower} ORDER BY key LIMIT 1 OFFSET ?",
                               [*params, SWEEP_BATCH - 1])
                upper, bound = (" AND key <= ?", [last[0][0]]) if last else ("", [])
                deleted += tx.run(f"DELETE FROM webhook_dedup WHERE seen_at < ?{lower}{upper}",
                                  [cutoff, *params, *bound])
            budget -= SWEEP_BATCH
            self._sweep_seen += SWEEP_BATCH
            if not last:  # a full pass: start again next call
                self._sweep_after, self._sweep_pass_keys, self._sweep_seen = None, self._sweep_seen, 0
                break
            self._sweep_after = str(last[0][0])
        return deleted

    # --- webhook receiver protocols -------------------------------------------------------------------
    def first_seen(self, key: str) -> bool:
        """Atomically record ``key``; True only the first time."""

        with self._tx() as tx:
            return tx.run("INSERT INTO webhook_dedup (key, seen_at) VALUES (?, ?) "
                          "ON CONFLICT (key) DO NOTHING", (key, time.time())) == 1

    def first_seen_all(self, keys: Sequence[str]) -> list[bool]:
        """Record every key in one statement (the receiver's "done" marks); True for each new one."""
        with self._tx() as tx:
            new = {r[0] for r in tx.rows("INSERT INTO webhook_dedup (key, seen_at) VALUES "
                                         + ",".join(["(?, ?)"] * len(keys)) + " ON CONFLICT (key) DO NOTHING "
                                         "RETURNING key", [v for k in keys for v in (k, time.time())])}
        return [k in new for k in keys]

    def seen(self, key: str) -> bool:
        """True if ``key`` was recorded (read only)."""
        with self._tx(write=False) as tx:
            return bool(tx.rows("SELECT 1 FROM webhook_dedup WHERE key = ?", (key,)))

    def put(self, raw: bytes, headers_json: str, lease_s: float | None = None) -> int:
        """Durably store a raw webhook delivery (leased to the caller for ``lease_s``); returns its id."""

        now = time.time()
        lease = now + lease_s if lease_s is not None else None
        with self._tx() as tx:
            rows = tx.rows("INSERT INTO webhook_inbox (raw, headers, received_at, lease_until) "
                           "VALUES (?, ?, ?, ?) RETURNING id", (bytes(raw), headers_json, now, lease))
        return int(rows[0][0])

    def pending(self, limit: int = 100) -> list[tuple[int, bytes]]:
        """Stored deliveries not yet processed (nor set aside), oldest first."""
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT id, raw FROM webhook_inbox WHERE dead_at IS NULL ORDER BY id LIMIT ?",
                           (max(0, int(limit)),))
        return [(int(r[0]), bytes(r[1])) for r in rows]

    def done(self, id: int) -> None:
        """Mark a stored delivery processed (it is removed)."""
        with self._tx() as tx:
            tx.run("DELETE FROM webhook_inbox WHERE id = ?", (int(id),))

    def inbox_claim(self, limit: int, lease_s: float) -> list[tuple[int, bytes, int]]:
        """Lease up to ``limit`` due deliveries (not leased, not set aside): (id, raw, failures)."""

        now = time.time()
        with self._tx() as tx:
            ids = [int(r[0]) for r in tx.rows(
                "SELECT id FROM webhook_inbox WHERE dead_at IS NULL AND (lease_until IS NULL OR "
                f"lease_until <= ?) ORDER BY id LIMIT ?{self.CLAIM_LOCK}", (now, max(0, int(limit))))]
            if not ids:
                return []
            test, params = self._in("id", ids)
            rows = tx.rows(f"UPDATE webhook_inbox SET lease_until = ? WHERE {test} RETURNING id, raw, failures",
                           [now + lease_s, *params])
        return sorted((int(r[0]), bytes(r[1]), int(r[2])) for r in rows)

    def inbox_extend(self, ids: Sequence[int], lease_s: float) -> None:
        """Extend the leases of deliveries still being processed."""

        if not ids:
            return
        test, params = self._in("id", [int(i) for i in ids])
        with self._tx() as tx:
            tx.run(f"UPDATE webhook_inbox SET lease_until = ? WHERE dead_at IS NULL AND {test}",
                   [time.time() + lease_s, *params])

    def inbox_retry_later(self, id: int, delay_s: float, reason: str) -> None:
        """Count a failed attempt; the delivery is due again in ``delay_s``."""

        with self._tx() as tx:
            tx.run("UPDATE webhook_inbox SET lease_until = ?, failures = failures + 1, last_error = ? "
                   "WHERE id = ?", (time.time() + delay_s, reason[:1000], int(id)))

    def inbox_dead_letter(self, id: int, reason: str) -> None:
        """Set a delivery aside for good (kept, with the reason, no longer pending)."""

        with self._tx() as tx:
            tx.run("UPDATE webhook_inbox SET dead_at = ?, last_error = ?, lease_until = NULL WHERE id = ?",
                   (time.time(), reason[:1000], int(id)))
