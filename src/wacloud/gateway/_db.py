"""The gateway's own small tables (API keys, conversation log) in the same database as the outbox.

One statement at a time, ``?`` placeholders, each in its own transaction of the delivery engine's
dialect layer (:func:`~wacloud.delivery.sqlite.sqlite_transaction`,
:func:`~wacloud.delivery.postgres.postgres_transaction`): the same SQL conventions and error
classification as the outbox's store. SQLite gets a connection per thread (threads never wait on each
other's busy timeouts; opening one per statement re-read the schema each time and was a quarter of the
gateway's CPU under a campaign's status webhooks); PostgreSQL one shared connection, reconnected once
when lost.
The outbox's tables belong to :mod:`wacloud.delivery`; ours are prefixed ``wacloud_gw_``/``wacloud_api_``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from wacloud.delivery.postgres import postgres_transaction, where_dsn
from wacloud.delivery.sql import Tx
from wacloud.delivery.sqlite import sqlite_transaction, take_over_checkpoints
from wacloud.delivery.store import StoreError
from wacloud.errors import WacloudError

T = TypeVar("T")

#: How long a statement waits for another process's lock on the SQLite file before failing (503): short,
#: so an API call or a webhook answers within seconds instead of hanging while the file is locked.
BUSY_TIMEOUT_S = 5.0
#: The readiness probe's write waits at most this long for the lock.
PROBE_TIMEOUT_S = 2.0

_PROBE_TABLE = "CREATE TABLE IF NOT EXISTS wacloud_gw_probe (id INTEGER PRIMARY KEY, at DOUBLE PRECISION)"
_PROBE_WRITE = ("INSERT INTO wacloud_gw_probe (id, at) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET at = excluded.at")


class DatabaseUnavailable(WacloudError):
    """The gateway's database did not answer (down, unreachable, locked for too long)."""


def _psycopg() -> Any:
    """The psycopg module, or a clear error: it comes with the ``postgres`` extra, not the base install."""
    try:
        import psycopg
    except ImportError as exc:
        raise DatabaseUnavailable("PostgreSQL needs psycopg: pip install 'wacloud[postgres]'") from exc
    return psycopg


def sqlite_path(url: str) -> str:
    """The file path of a ``sqlite:///path`` URL (``sqlite:////abs`` is absolute)."""
    return url.removeprefix("sqlite:///") or "wacloud.db"


class Database:
    """Runs single SQL statements on a SQLite file or a PostgreSQL server, from any thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = not url.startswith("sqlite:")
        self._lock = threading.Lock()
        self._pg: Any = None
        self._probe_table = False
        # SQLite: one connection per thread (thread ident -> (thread, connection, its lock)), closed by
        # close(). The lock is held while the thread uses it (never contended but by close(), which must not
        # close a connection under a running statement: sqlite3 may crash the process then).
        self._local = threading.local()
        self._sqlite: dict[int, tuple[threading.Thread, sqlite3.Connection, threading.Lock]] = {}
        if not self.is_postgres:
            path = sqlite_path(url)
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)

    @property
    def serial(self) -> str:
        """The column type of an auto-increment primary key."""
        return "BIGSERIAL PRIMARY KEY" if self.is_postgres else "INTEGER PRIMARY KEY AUTOINCREMENT"

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction; return the rows it produced."""
        return self._run(lambda tx: tx.rows(sql, params))

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run one statement for many parameter rows, in a single transaction."""
        if rows:
            self._run(lambda tx: tx.many(sql, rows))

    def read(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` (several reads) in one transaction that takes no write lock."""
        return self._run(work)

    def run(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` (several statements) in one write transaction: they commit together or not at all."""
        return self._run(work, write=True)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Run every statement this thread issues inside the block in one write transaction.

        A payload's status webhooks then cost one commit instead of several each. A statement that
        fails inside fails the whole batch (rolled back even if the caller caught the error), so the
        caller can redo the work statement by statement. A nested batch joins the open one.
        """
        if getattr(self._local, "batch", None) is not None:
            yield
            return
        failed: list[BaseException] = []
        with self._batch_tx() as tx:
            self._local.batch = (tx, failed)
            try:
                yield
            finally:
                self._local.batch = None
            if failed:
                raise StoreError(f"a statement in the batch failed: {failed[0]}", transient=False)

    @contextlib.contextmanager
    def _batch_tx(self) -> Iterator[Tx]:
        """One write transaction on this thread's connection (SQLite) or the shared one (PostgreSQL)."""
        if self.is_postgres:
            with self._lock:
                if self._pg is None or self._pg.closed or self._pg.broken:
                    try:
                        self._pg = _psycopg().connect(self.url, autocommit=True)
                    except Exception as exc:
                        self._pg = None
                        raise DatabaseUnavailable(f"PostgreSQL: {exc}") from exc
                with postgres_transaction(self._pg, where_dsn(self.url)) as tx:
                    yield tx
            return
        try:
            conn, using = self._thread_conn()
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"SQLite: {exc}") from exc
        ok = False
        try:
            # ``using``: close() waits for a statement in progress on this connection (see _run).
            with using, sqlite_transaction(conn, True, sqlite_path(self.url), BUSY_TIMEOUT_S) as tx:
                yield tx
            ok = True
        finally:
            if not ok:
                self._drop_thread_conn()

    def _run(self, work: Callable[[Tx], T], *, timeout_s: float = BUSY_TIMEOUT_S, write: bool = False) -> T:
        open_batch: tuple[Tx, list[BaseException]] | None = getattr(self._local, "batch", None)
        if open_batch is not None and timeout_s == BUSY_TIMEOUT_S:
            tx, failed = open_batch
            try:
                return work(tx)
            except BaseException as exc:
                failed.append(exc)
                raise
        if self.is_postgres:
            return self._run_pg(work)
        shared = timeout_s == BUSY_TIMEOUT_S  # the probe's shorter wait gets a connection of its own
        try:
            conn, using = self._thread_conn() if shared else (self._connect_sqlite(timeout_s), threading.Lock())
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"SQLite: {exc}") from exc
        ok = False
        try:
            # write: BEGIN IMMEDIATE, so a transaction that reads before it writes is not refused midway.
            with using, sqlite_transaction(conn, write, sqlite_path(self.url), timeout_s) as tx:
                result = work(tx)
            ok = True
            return result
        except StoreError as exc:
            if exc.transient:
                raise DatabaseUnavailable(f"SQLite: {exc.__cause__ or exc}") from exc
            raise
        finally:
            if not shared:
                conn.close()
            elif not ok:
                self._drop_thread_conn()  # start afresh after a failure (a replaced or broken file)

    def _connect_sqlite(self, timeout_s: float) -> sqlite3.Connection:
        # check_same_thread off only so close() may close it from another thread; it is used by one.
        conn = sqlite3.connect(sqlite_path(self.url), timeout=timeout_s, isolation_level=None,
                               check_same_thread=False)
        # As the outbox's store: in WAL mode a commit then survives a process crash (kill -9) without an
        # fsync each (FULL, the default, synced the log at every one of the gateway's small commits).
        conn.execute("PRAGMA synchronous=NORMAL")
        take_over_checkpoints(conn)  # made apart, not inside a commit that holds the file's writer lock
        return conn

    def _thread_conn(self) -> tuple[sqlite3.Connection, threading.Lock]:
        """This thread's SQLite connection and its lock (opened on first use; those of finished threads
        are closed)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            # The file must still be the one we opened: a moved or replaced file (a lost volume) must
            # fail like a fresh connect would, not go on writing to the old inode.
            if self._file_id() == self._local.file_id:
                return conn, self._local.using
            self._drop_thread_conn()
        conn = self._connect_sqlite(BUSY_TIMEOUT_S)
        using = threading.Lock()
        self._local.conn, self._local.using = conn, using
        self._local.file_id = self._file_id()
        with self._lock:
            for ident, (thread, old, _) in list(self._sqlite.items()):
                if not thread.is_alive():
                    del self._sqlite[ident]
                    old.close()
            self._sqlite[threading.get_ident()] = (threading.current_thread(), conn, using)
        return conn, using

    def _file_id(self) -> tuple[int, int] | None:
        try:
            st = os.stat(sqlite_path(self.url))
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _drop_thread_conn(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        self._local.conn = None
        with self._lock:
            self._sqlite.pop(threading.get_ident(), None)
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _run_pg(self, work: Callable[[Tx], T]) -> T:
        psycopg = _psycopg()
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._pg is None or self._pg.closed or self._pg.broken:
                        self._pg = psycopg.connect(self.url, autocommit=True)
                    with postgres_transaction(self._pg, where_dsn(self.url)) as tx:
                        return work(tx)
                except psycopg.OperationalError as exc:  # could not connect
                    self._pg = None
                    if attempt == 2:
                        raise DatabaseUnavailable(f"PostgreSQL: {exc}") from exc
                except StoreError as exc:
                    if not exc.transient:
                        raise
                    # The server restarted or the connection dropped: reconnect once.
                    self._pg = None
                    if attempt == 2:
                        raise DatabaseUnavailable(f"PostgreSQL: {exc.__cause__ or exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            self.execute("SELECT 1")
            return True
        except Exception:
            return False

    def check_writable(self, timeout_s: float = PROBE_TIMEOUT_S) -> None:
        """Commit a one-row write (readiness): raises when the database is down, locked or read-only."""
        if self.is_postgres and not self._probe_table:
            # Two processes creating it at once may collide: the write below is what decides.
            with contextlib.suppress(Exception):
                self.execute(_PROBE_TABLE)
                self._probe_table = True

        def probe(tx: Tx) -> None:
            if not self.is_postgres:
                tx.run(_PROBE_TABLE)
            tx.run(_PROBE_WRITE, (time.time(),))

        try:
            self._run(probe, timeout_s=timeout_s)
        except StoreError as exc:  # read-only file, a full disk…: not ready either
            raise DatabaseUnavailable(str(exc.__cause__ or exc)) from exc

    def close(self) -> None:
        """Close the PostgreSQL connection and the SQLite connections, if any."""
        with self._lock:
            if self._pg is not None:
                self._pg.close()
                self._pg = None
            conns = [(conn, using) for _, conn, using in self._sqlite.values()]
            self._sqlite.clear()
        self._local = threading.local()
        for conn, using in conns:
            # Wait for a statement another thread is running on it (a shutdown while a task's thread reads).
            if using.acquire(timeout=BUSY_TIMEOUT_S + 1):
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
                using.release()
