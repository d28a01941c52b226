"""The SQLite store: one file in WAL mode, for one host (several processes may share the file)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

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


class SqliteStore(SqlStore):
    """The outbox in one SQLite file (WAL). Writers take the database lock at BEGIN, so a claim is atomic."""

    TYPES = {"ID": "INTEGER PRIMARY KEY", "REAL": "REAL", "BLOB": "BLOB"}

    def __init__(self, path: str | Path = "wacloud.db", *, busy_timeout_s: float = 30.0) -> None:
        super().__init__()
        self.path = str(path)
        try:
            # isolation_level=None: we issue BEGIN ourselves, so transactions are exactly ours.
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None,
                                         check_same_thread=False)
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            # NORMAL in WAL: a commit survives a process crash (kill -9); only power loss can drop
            # the last commits, never corrupt the file.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self.path!r}: {exc}") from exc
        if self.path != ":memory:" and str(mode).lower() != "wal":
            raise StoreError(f"SQLite store {self.path!r} could not switch to WAL mode (got {mode!r})")
        self.migrate()

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Tx]:
        conn = self._conn
        try:
            # IMMEDIATE takes the write lock at once: no other process can interleave a claim.
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store {self.path!r}: {exc}") from exc
        try:
            yield _SqliteTx(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            # Locked/busy/I-O errors may pass; constraint and data errors will not.
            transient = isinstance(exc, sqlite3.OperationalError)
            raise StoreError(f"SQLite store {self.path!r}: {exc}", transient=transient) from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _transaction(self, write: bool) -> AbstractContextManager[Tx]:
        return self._begin(write)

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        if len(values) > _MAX_PARAMS and all(isinstance(v, int) for v in values):
            return f"{column} IN ({','.join(str(int(v)) for v in values)})", []
        return f"{column} IN ({','.join('?' * len(values))})", list(values)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"
