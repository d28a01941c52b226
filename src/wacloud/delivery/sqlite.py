"""The SQLite store: one file in WAL mode, for one host (several processes may share the file)."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from wacloud.delivery._checkpoints import committed, take_over
from wacloud.delivery._priority import PriorityLock
from wacloud.delivery.sql import SqlStore, Tx
from wacloud.delivery.store import StoreError

#: SQLite caps the number of ``?`` in one statement; IN lists longer than this are inlined as ints.
_MAX_PARAMS = 900


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        self._conn.executemany(sql, [tuple(p) for p in seq])


#: One writer at a time per SQLite file in this process (see :func:`writer_lock`), by the path as given.
_WRITERS: dict[str, PriorityLock] = {}
_WRITERS_BY_FILE: dict[str, PriorityLock] = {}
#: The real path of each path given (checkpoints are counted by file).
_REAL: dict[str, str] = {}
_WRITERS_GUARD = threading.Lock()


def writer_lock(path: str) -> PriorityLock | None:
    """The lock every write transaction on the SQLite file ``path`` takes in this process (None for an
    in-memory database).

    The outbox's, the webhook receiver's and the gateway's connections all write to one file. Waiting for
    each other inside SQLite means its busy handler: a sleep and a retry, sleeps that grow to 100 ms, so
    under load writers spent most of their time asleep while the file was free (the gateway held the GIL
    half the time at a third of its rate). Queued on this lock, the next writer starts the moment the last
    one commits, the delivery worker's first. Other processes are still kept out by SQLite's own lock.
    Re-entrant: a thread that already writes may open another connection's transaction and wait in
    SQLite, as before.
    """
    lock = _WRITERS.get(path)
    if lock is not None:
        return lock
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    with _WRITERS_GUARD:
        real = _REAL[path] = os.path.realpath(path)
        lock = _WRITERS_BY_FILE.setdefault(real, PriorityLock())
        _WRITERS[path] = lock
        return lock


@contextmanager
def sqlite_transaction(conn: sqlite3.Connection, write: bool, where: str, timeout_s: float = 30.0) -> Iterator[Tx]:
    """One transaction on ``conn`` (opened with ``isolation_level=None``); errors become :class:`StoreError`.

    ``write``: BEGIN IMMEDIATE takes the write lock at once, so no other process can interleave (a
    claim); otherwise BEGIN (deferred), which takes it at the first write, as sqlite3 does by default.
    A write transaction first waits its turn among this process's writers to the file (:func:`writer_lock`),
    at most ``timeout_s`` (then it fails like a busy database: a transient :class:`StoreError`).
    """
    lock = writer_lock(where) if write else None
    if lock is not None and not lock.acquire(timeout_s):
        raise StoreError(f"SQLite store {where!r}: database is locked (waited {timeout_s:g} s)", transient=True)
    try:
        with _plain_transaction(conn, write, where) as tx:
            yield tx
    finally:
        if lock is not None:
            lock.release()
    if lock is not None:
        committed(_REAL[where], lock)


@contextmanager
def _plain_transaction(conn: sqlite3.Connection, write: bool, where: str) -> Iterator[Tx]:
    try:
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite store {where!r}: {exc}") from exc
    try:
        yield _SqliteTx(conn)
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(conn)
        # Locked/busy/I-O errors may pass; constraint and data errors will not.
        transient = isinstance(exc, sqlite3.OperationalError)
        raise StoreError(f"SQLite store {where!r}: {exc}", transient=transient) from exc
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


class SqliteStore(SqlStore):
    """The outbox in one SQLite file (WAL). Writers take the database lock at BEGIN, so a claim is atomic."""

    TYPES = {"ID": "INTEGER PRIMARY KEY", "REAL": "REAL", "BLOB": "BLOB",
             "FALLBACK_NAME": "json_extract(body, '$.template.name')", "SQLITE_ONLY": ""}
    DEDUP_AGE_INDEX = False  # migration 12: one b-tree in key order, swept (InboxSql.prune)

    def __init__(self, path: str | Path = "wacloud.db", *, busy_timeout_s: float = 30.0) -> None:
        super().__init__()
        self.path = str(path)
        self._busy_timeout_s = busy_timeout_s
        deadline = time.monotonic() + busy_timeout_s
        delay = 0.005
        while True:
            try:
                mode = self._open(busy_timeout_s)
                break
            except sqlite3.OperationalError as exc:
                # Switching a new file to WAL takes an exclusive lock, and SQLite answers "locked"
                # at once (no busy wait) while other processes open it too: wait our turn.
                if time.monotonic() + delay > deadline or ("locked" not in str(exc) and "busy" not in str(exc)):
                    raise StoreError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
                time.sleep(delay)
                delay = min(0.2, delay * 2)
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        if self.path != ":memory:" and str(mode).lower() != "wal":
            raise StoreError(f"SQLite store {self.path!r} could not switch to WAL mode (got {mode!r})")
        self.migrate()

    def _open(self, busy_timeout_s: float) -> str:
        """Connect and set the pragmas; returns the journal mode now in force."""
        # isolation_level=None: we issue BEGIN ourselves, so transactions are exactly ours.
        self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None,
                                     check_same_thread=False)
        try:
            mode = str(self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
            # NORMAL in WAL: a commit survives a process crash (kill -9); only power loss can drop
            # the last commits, never corrupt the file.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
            if writer_lock(self.path) is not None:
                take_over(self._conn)  # not inside our commits, which hold the writer lock
        except BaseException:
            self._conn.close()
            raise
        return mode

    def _transaction(self, write: bool) -> AbstractContextManager[Tx]:
        return sqlite_transaction(self._conn, write, self.path, self._busy_timeout_s)

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        if len(values) > _MAX_PARAMS and all(isinstance(v, int) for v in values):
            return f"{column} IN ({','.join(str(int(v)) for v in values)})", []
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    def set_busy_timeout(self, seconds: float) -> None:
        """How long a transaction waits for another connection's lock before failing (transient)."""
        with self._lock:
            self._conn.execute(f"PRAGMA busy_timeout={max(0, int(seconds * 1000))}")
            self._busy_timeout_s = max(0.0, seconds)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"


def take_over_checkpoints(conn: sqlite3.Connection) -> None:
    """``conn`` (on a file, in WAL mode) leaves its WAL checkpoints to this module: they run in a thread
    of their own, beside the writers, instead of inside one of ``conn``'s commits."""
    take_over(conn)


def count_commit(path: str) -> None:
    """A write transaction committed on the file ``path`` by a store that talks to its connection directly
    (not through :func:`sqlite_transaction`): counted toward the file's next WAL checkpoint."""
    lock = writer_lock(path)
    if lock is not None:
        committed(_REAL[path], lock)
