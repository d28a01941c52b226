"""The gateway's own small tables (API keys, conversation log) in the same database as the outbox.

A deliberately tiny layer over ``sqlite3`` and psycopg 3: one statement at a time, ``?`` placeholders.
The outbox's tables belong to :mod:`wacloud.delivery`; ours are prefixed ``wacloud_gw_``/``wacloud_api_``.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from wacloud.errors import WacloudError


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
        if self.is_postgres:
            return self._execute_pg(sql.replace("?", "%s"), params)
        # A connection per statement: SQLite connections are cheap and must not cross threads.
        try:
            conn = sqlite3.connect(sqlite_path(self.url), timeout=30)
            try:
                with conn:
                    return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            raise DatabaseUnavailable(f"SQLite: {exc}") from exc

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run one statement for many parameter rows, in a single transaction."""
        if not rows:
            return
        if self.is_postgres:
            psycopg = _psycopg()

            with self._lock:
                try:
                    if self._pg is None or self._pg.closed:
                        self._pg = psycopg.connect(self.url, autocommit=True)
                    with self._pg.transaction(), self._pg.cursor() as cur:
                        cur.executemany(sql.replace("?", "%s"), rows)
                except psycopg.OperationalError as exc:
                    self._pg = None
                    raise DatabaseUnavailable(f"PostgreSQL: {exc}") from exc
            return
        try:
            conn = sqlite3.connect(sqlite_path(self.url), timeout=30)
            try:
                with conn:
                    conn.executemany(sql, rows)
            finally:
                conn.close()
        except sqlite3.OperationalError as exc:
            raise DatabaseUnavailable(f"SQLite: {exc}") from exc

    def _execute_pg(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        psycopg = _psycopg()

        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._pg is None or self._pg.closed:
                        self._pg = psycopg.connect(self.url, autocommit=True)
                    cur = self._pg.execute(sql, params)
                    return list(cur.fetchall()) if cur.description else []
                except psycopg.OperationalError as exc:
                    # The server restarted or the connection dropped: reconnect once.
                    self._pg = None
                    if attempt == 2:
                        raise DatabaseUnavailable(f"PostgreSQL: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            self.execute("SELECT 1")
            return True
        except Exception:
            return False

    def close(self) -> None:
        """Close the PostgreSQL connection, if any."""
        with self._lock:
            if self._pg is not None:
                self._pg.close()
                self._pg = None
