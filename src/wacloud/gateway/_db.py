"""The gateway's own small tables (API keys, conversation log) in the same database as the outbox.

One statement at a time, ``?`` placeholders, each in its own transaction of the delivery engine's
dialect layer (:func:`~wacloud.delivery.sqlite.sqlite_transaction`,
:func:`~wacloud.delivery.postgres.postgres_transaction`): the same SQL conventions and error
classification as the outbox's store. SQLite gets a connection per statement (cheap, and threads never
wait on each other's busy timeouts); PostgreSQL one shared connection, reconnected once when lost.
The outbox's tables belong to :mod:`wacloud.delivery`; ours are prefixed ``wacloud_gw_``/``wacloud_api_``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from wacloud.delivery.postgres import postgres_transaction, where_dsn
from wacloud.delivery.sql import Tx
from wacloud.delivery.sqlite import sqlite_transaction
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

    def run(self, work: Callable[[Tx], T]) -> T:
        """Run ``work`` (several statements) in one write transaction: they commit together or not at all."""
        return self._run(work, write=True)

    def _run(self, work: Callable[[Tx], T], *, timeout_s: float = BUSY_TIMEOUT_S, write: bool = False) -> T:
        if self.is_postgres:
            return self._run_pg(work)
        try:
            # A connection per statement: SQLite connections are cheap and must not cross threads.
            conn = sqlite3.connect(sqlite_path(self.url), timeout=timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(f"SQLite: {exc}") from exc
        try:
            # write: BEGIN IMMEDIATE, so a transaction that reads before it writes is not refused midway.
            with sqlite_transaction(conn, write, sqlite_path(self.url)) as tx:
                return work(tx)
        except StoreError as exc:
            if exc.transient:
                raise DatabaseUnavailable(f"SQLite: {exc.__cause__ or exc}") from exc
            raise
        finally:
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
        """Close the PostgreSQL connection, if any."""
        with self._lock:
            if self._pg is not None:
                self._pg.close()
                self._pg = None
