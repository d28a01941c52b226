"""The PostgreSQL store (psycopg 3): how several processes on several hosts share one outbox.

Claims use ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent workers never take the same job and
never wait on each other's rows. A lost connection (server restart) is reopened on the next call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from wacloud.delivery._sql_base import SKIPPED, Locked
from wacloud.delivery.sql import SqlStore, Tx
from wacloud.delivery.store import StoreError

#: Any constant: the key of the advisory lock that serialises migrations across processes.
_MIGRATION_LOCK_KEY = 0x7761636C
#: The first key of the (int, int) advisory locks that pair a status with its send's answer.
_WAMID_LOCK_CLASS = 0x77616D69


def _pg(sql: str, cache: dict[str, str] = {}) -> str:  # noqa: B006 - a deliberate memo
    out = cache.get(sql)
    if out is None:
        out = cache[sql] = sql.replace("?", "%s")
    return out


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _array_text(values: list[Any]) -> Any:
    """A list of ints, floats or strs (``None`` allowed) as PostgreSQL's array text, else the list itself.

    psycopg's list dumper costs ~1-1.5 µs of Python per element (the claim, mark and settle of 100 jobs
    pass about 13 arrays of 100); this text costs ~0.05, and the statement's cast (``?::float8[]``,
    ``= ANY(?)``) reads it exactly: ``repr`` of a float is the shortest text of that same double.
    """
    kinds = {type(v) for v in values} - {type(None)}
    if kinds == {str}:
        return "{" + ",".join("NULL" if v is None else _quoted(v) for v in values) + "}"
    if kinds <= {int, float}:  # exact types: a bool (an int) keeps psycopg's adaptation; none: all NULL
        return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"
    return values


def _params(params: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_array_text(p) if type(p) is list else p for p in params)


class _PgTx(Tx):
    def __init__(self, cur: Any, *, single: bool = False) -> None:
        self._cur = cur
        # Outside a transaction block (autocommit) each statement commits alone: allow one only.
        self._left = 1 if single else -1

    def _execute(self, sql: str, params: Sequence[Any]) -> None:
        if self._left == 0:
            raise StoreError("a second statement in a single-statement transaction", transient=False)
        self._left -= 1
        self._cur.execute(_pg(sql), _params(params))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._execute(sql, params)
        return list(self._cur.fetchall()) if self._cur.description is not None else []

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._execute(sql, params)
        return int(self._cur.rowcount)

    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        if self._left >= 0:
            raise StoreError("executemany in a single-statement transaction", transient=False)
        if seq:
            self._cur.executemany(_pg(sql), [tuple(p) for p in seq])

    def insert(self, head: str, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        # One statement, a column per array: executemany costs ~10 µs of Python per row, this ~2.
        if rows:
            columns = [list(c) for c in zip(*rows, strict=True)]
            self.run(f"{head} SELECT * FROM unnest({', '.join(f'?::{t}[]' for t in types)})", columns)


def where_dsn(dsn: str) -> str:
    """Host/port/db of a DSN without credentials (never log a password)."""
    try:
        from psycopg.conninfo import conninfo_to_dict  # psycopg is optional (the postgres extra)

        info = conninfo_to_dict(dsn)
        return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"
    except Exception:  # a malformed DSN (or no psycopg): say nothing about it rather than echo it
        return "(the configured DSN)"


@contextmanager
def postgres_transaction(conn: Any, where: str, *, single: bool = False) -> Iterator[Tx]:
    """One transaction on a psycopg connection (``autocommit=True``); errors become :class:`StoreError`.

    A lost connection (``OperationalError``) is transient; the caller reconnects when ``conn.broken``.
    ``single``: the transaction is one statement, which commits alone (no BEGIN and COMMIT round trips).
    """
    import psycopg  # the postgres extra: only imported when a PostgreSQL database is in use

    try:
        with contextlib.ExitStack() as stack:
            if not single:
                stack.enter_context(conn.transaction())
            yield _PgTx(stack.enter_context(conn.cursor()), single=single)
    except psycopg.OperationalError as exc:
        raise StoreError(f"PostgreSQL store at {where}: {type(exc).__name__}: {exc}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL store at {where}: {type(exc).__name__}: {exc}", transient=False) from exc


class PostgresStore(SqlStore):
    """The outbox in a PostgreSQL database (``postgresql://user@host:port/db``)."""

    GREATEST = "GREATEST"
    LOCK = " FOR UPDATE"
    CLAIM_LOCK = " FOR UPDATE SKIP LOCKED"
    ARRAYS = True
    TYPES = {"ID": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "REAL": "DOUBLE PRECISION",
             "BLOB": "BYTEA",
             "FALLBACK_NAME": "(body::json #>> '{template,name}')", "SQLITE_ONLY": SKIPPED}

    def __init__(self, dsn: str, *, connect_timeout_s: int = 10) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is in the postgres extra
            raise StoreError("the PostgreSQL store needs psycopg: pip install 'wacloud[postgres]'") from exc
        self._psycopg = psycopg
        self._dsn = dsn
        self._timeout = connect_timeout_s
        self._conn: Any = None
        self._connect()
        self.migrate()

    def _connect(self) -> Any:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        try:
            self._conn = self._psycopg.connect(self._dsn, autocommit=True, connect_timeout=self._timeout)
        except self._psycopg.Error as exc:
            raise StoreError(f"cannot connect to the PostgreSQL store at {self._where()}: "
                             f"{type(exc).__name__}") from exc
        return self._conn

    def fork(self) -> PostgresStore:
        """Another store on the same database with its own connection (a worker's send lane: its
        ``mark_sending`` never waits for a claim on this connection)."""
        return PostgresStore(self._dsn, connect_timeout_s=self._timeout)

    def _where(self) -> str:
        return where_dsn(self._dsn)

    @contextmanager
    def _begin(self, write: bool, single: bool = False) -> Iterator[Tx]:
        conn = self._connect()
        try:
            with postgres_transaction(conn, where_dsn(self._dsn), single=single) as tx:
                yield tx
        except StoreError:
            # The connection may be gone (server restart): the next call reconnects.
            if conn.broken or conn.closed:
                self._conn = None
            raise

    def _transaction(self, write: bool) -> AbstractContextManager[Tx]:
        return self._begin(write)

    def _one(self) -> AbstractContextManager[Tx]:
        return self._tx() if self.in_batch else Locked(self._lock, self._begin(True, single=True))

    def _lock_schema(self, tx: Tx) -> None:
        tx.rows("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_KEY,))

    def _lock_wamids(self, tx: Tx, wamids: Sequence[str]) -> None:
        # Held to the end of the transaction (taken again by the same transaction, a lock is granted at
        # once); hashtext collisions only serialise two unrelated wamids. One statement; the subquery's
        # ORDER BY fixes the order the locks are taken in.
        if not wamids:
            return
        tx.rows("SELECT pg_advisory_xact_lock(?, hashtext(w)) FROM "
                "(SELECT DISTINCT w FROM unnest(?::text[]) AS w ORDER BY w) AS s", (_WAMID_LOCK_CLASS, list(wamids)))

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __repr__(self) -> str:
        return f"PostgresStore({self._where()!r})"
