"""The webhook receiver's SQLite store: its own connections, short busy timeouts, and group commits."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence

from wacloud.delivery.sqlite import SqliteStore, count_commit, writer_lock
from wacloud.delivery.store import StoreError
from wacloud.gateway._db import BUSY_TIMEOUT_S
from wacloud.webhooks.store import InboxGroup

#: How long the webhook's store calls wait for a locked SQLite file (the workers wait longer).
WEBHOOK_BUSY_TIMEOUT_S = BUSY_TIMEOUT_S / 2
#: Keys per INSERT statement (two parameters each; SQLite allows 32,766 parameters since 3.32).
_KEYS_PER_INSERT = 400


class _FrontStore(SqliteStore):
    """The request path's connection: ``put`` and the group commits (see :meth:`write_group`).

    ``groups_only``: the connection only ever writes groups (an event loop's): a plain lock guards it,
    not the store's priority lock (there is no other caller to serve first; ~1 µs less per request).
    """

    def __init__(self, path: str, *, groups_only: bool = False) -> None:
        super().__init__(path)
        self._groups_lock = threading.Lock() if groups_only else None

    def write_group(self, group: InboxGroup, urgent: bool | None = None) -> list[tuple[int, list[bool]]]:
        """Store the arrivals with their claims, record the marks, remove the done payloads: one transaction.

        ``urgent``: served before the process's other writers (see ``wacloud.delivery.urgent``); None: as
        the calling thread is marked.

        The statements go straight to the connection, under the same locks as the store's other writes
        (this connection's, then the file's writer lock) and with the same errors: one per request, the
        layers of the generic transaction (context managers, the ``Tx`` wrapper) cost as much as its SQL.
        """
        now = time.time()
        lease = now + group.lease_s
        arrivals = group.arrivals
        keys = list(dict.fromkeys(k for a in arrivals for k in a.keys if k is not None))
        marks = list(group.marks)
        conn = self._conn
        wait_s = self._busy_timeout_s if group.wait_s is None else group.wait_s
        plain = self._groups_lock
        if plain is not None:
            plain.acquire()
        else:
            self._lock.acquire(urgent=urgent)
        try:
            writer = writer_lock(self.path)
            if writer is not None and not writer.acquire(wait_s, urgent=urgent):
                raise StoreError(f"SQLite store {self.path!r}: database is locked (waited {wait_s:g} s)",
                                 transient=True)
            try:
                self._begin(wait_s)
                try:
                    ids = [int(conn.execute(_INSERT_ROW, (a.raw, a.headers_json, now, lease)).lastrowid or 0)
                           for a in arrivals]
                    # The claims first (a mark that is also a key of the group must not take its claim), one
                    # plain INSERT a key: its row count says whether it is new. One statement for claims and
                    # marks with RETURNING cost more (a request's SQL: 40.0 against 30.9 µs, benchmarks.dedup_sql).
                    new = {key for key in keys if conn.execute(_CLAIM, (key, now)).rowcount > 0}
                    out: list[tuple[int, list[bool]]] = []
                    skips: list[str] = []
                    for inbox_id, arrival in zip(ids, arrivals, strict=True):
                        claims = []
                        for index, key in enumerate(arrival.keys):
                            ok = key is None or key in new
                            if key is not None:
                                new.discard(key)  # a second copy in the group is a duplicate of the first
                            if not ok:
                                skips.append(group.skip_mark(inbox_id, index))
                            claims.append(ok)
                        out.append((inbox_id, claims))
                    if skips or marks:
                        _record(conn, [*skips, *marks], now)
                    done = group.done
                    if len(done) == 1:
                        conn.execute("DELETE FROM webhook_inbox WHERE id = ?", (int(done[0]),))
                    elif done:
                        test, params = self._in("id", [int(i) for i in done])
                        conn.execute(f"DELETE FROM webhook_inbox WHERE {test}", params)
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise StoreError(f"SQLite store {self.path!r}: {exc}",
                                     transient=isinstance(exc, sqlite3.OperationalError)) from exc
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if writer is not None:
                    writer.release()
        finally:
            if plain is not None:
                plain.release()
            else:
                self._lock.release()
        count_commit(self.path)
        return out

    def _begin(self, wait_s: float) -> None:
        """BEGIN IMMEDIATE, waiting up to ``wait_s`` in all for another process's write lock.

        SQLite's own busy handler waits the connection's busy timeout; the rest of ``wait_s`` (for the
        event loops' connection, which has none, all of it) is waited here, in short sleeps.
        """
        deadline: float | None = None
        delay = 0.001
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                message = str(exc)
                if "locked" not in message and "busy" not in message:
                    raise StoreError(f"SQLite store {self.path!r}: {exc}") from exc
                now = time.monotonic()
                if deadline is None:
                    deadline = now + max(0.0, wait_s - self._busy_timeout_s)
                if now >= deadline:
                    raise StoreError(f"SQLite store {self.path!r}: {exc}") from exc
                time.sleep(min(delay, deadline - now))
                delay = min(delay * 2, 0.01)
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self.path!r}: {exc}") from exc

    def close(self) -> None:
        """Close the connection (after a group being written)."""
        if self._groups_lock is None:
            super().close()
            return
        with self._groups_lock:
            super().close()


_INSERT_ROW = "INSERT INTO webhook_inbox (raw, headers, received_at, lease_until) VALUES (?, ?, ?, ?)"


_CLAIM = "INSERT INTO webhook_dedup (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"


def _keys_sql(n: int) -> str:
    """The INSERT of ``n`` dedup keys (existing ones left as they are), built once per count."""
    sql = _KEYS_SQL.get(n)
    if sql is None:
        sql = _KEYS_SQL[n] = ("INSERT INTO webhook_dedup (key, seen_at) VALUES " + ",".join(["(?, ?)"] * n)
                              + " ON CONFLICT (key) DO NOTHING")
    return sql


_KEYS_SQL: dict[int, str] = {}


def _record(conn: sqlite3.Connection, keys: Sequence[str], now: float) -> None:
    """Record ``keys`` in the dedup table (existing ones are left as they are)."""
    for start in range(0, len(keys), _KEYS_PER_INSERT):
        chunk = keys[start:start + _KEYS_PER_INSERT]
        conn.execute(_keys_sql(len(chunk)), [v for key in chunk for v in (key, now)])


class WebhookSqliteStore(SqliteStore):
    """The receiver's SQLite store: its own connections, short busy timeouts, and ``put`` apart.

    While another process holds the file's lock, a webhook must get a 503 within seconds (Meta
    redelivers it) rather than wait behind the workers' long waits, or behind the receiver's own
    background calls (retry claims, lease renewals): ``put`` and :meth:`write_group`, the calls made
    before the answer, have a connection (and thread lock) of their own.

    It is a :class:`~wacloud.webhooks.store.GroupInbox`: the receiver stores each payload and claims its
    updates in one transaction shared by the payloads arriving meanwhile, and writes the "done" marks
    and removal of processed payloads in that same kind of transaction.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.set_busy_timeout(WEBHOOK_BUSY_TIMEOUT_S)
        self._front = _FrontStore(path)
        self._front.set_busy_timeout(WEBHOOK_BUSY_TIMEOUT_S)
        # Groups written from an event loop's thread (``wait_s``): a connection that never waits inside
        # SQLite (a put alone must not wait at all, a settle at most ``wait_s``: its write waits in
        # write_group). Like every store connection it never checkpoints (a checkpoint fsyncs): its commits
        # are counted toward the file's checkpoints, made in a thread of their own (count_commit).
        # One connection for both: a second one would find the file changed by the first at each
        # transaction and drop its page cache (measured: 8x the reads from the file).
        self._now = _FrontStore(path, groups_only=True)
        self._now.set_busy_timeout(0.0)

    def put(self, raw: bytes, headers_json: str, lease_s: float | None = None) -> int:
        """Store a payload (on the request path's own connection); returns its id."""
        return self._front.put(raw, headers_json, lease_s)

    def write_group(self, group: InboxGroup) -> list[tuple[int, list[bool]]]:
        """One transaction for a group of arrivals, marks and removals (on a connection of the request path)."""
        if group.wait_s is None:
            return self._front.write_group(group)
        # From an event loop's thread, which serves nothing (the worker's sends included) while it waits:
        # ahead of the process's other writers, with the worker's (a status batch waits instead).
        return self._now.write_group(group, urgent=True)

    def close(self) -> None:
        """Close the connections."""
        self._now.close()
        self._front.close()
        super().close()
