"""The shared dialect and transaction layer: a transaction, ``IN`` lists, migrations, locks.

A dialect (:mod:`~wacloud.delivery.sqlite`, :mod:`~wacloud.delivery.postgres`) supplies the
connection, the transaction, the placeholder style and the few phrases that differ (row locks,
``max`` vs ``GREATEST``, column types). Each concern's queries (jobs, leases, pacing, contacts,
statuses, webhook inbox) are a mixin over :class:`SqlBase`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from wacloud.delivery._priority import PriorityLock
from wacloud.delivery.store import StoreError
from wacloud.events.log import DeferredAppends, NewEvent, append

#: Job ids are 64-bit signed integers (SQLite INTEGER, PostgreSQL BIGINT); the drivers refuse larger ones.
MAX_ID = 2**63 - 1
#: A migration statement filled in as this comment is another dialect's own step, skipped (see _sql_schema).
SKIPPED = "-- "

T = TypeVar("T")


def int_ids(job_ids: Iterable[str]) -> list[int]:
    """The ids that can be ours, as ints (anything else matches no row, so it is left out)."""
    out = []
    for job_id in job_ids:
        try:
            value = int(job_id)
        except (TypeError, ValueError):
            continue  # not one of ours: matches nothing
        if -MAX_ID - 1 <= value <= MAX_ID:
            out.append(value)  # a larger number cannot be an id either: it matches nothing
    return out


class Tx(ABC):
    """One open transaction: run statements with ``?`` placeholders."""

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement and return its rows."""

    @abstractmethod
    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement and return the number of rows it changed."""

    @abstractmethod
    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter tuple."""

    def insert(self, head: str, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` in their order with ``head`` (``INSERT INTO t (a, b)``); ``types`` are the columns'
        PostgreSQL types (``bigint``, ``text``...), for a dialect that sends every row in one statement."""
        self.many(f"{head} VALUES ({', '.join('?' * len(types))})", rows)



class SqlBase(ABC):
    """One connection and its dialect: transactions, ``IN`` lists, row locks and migrations."""

    #: The SQL name of the two-argument maximum.
    GREATEST = "max"
    #: Appended to a SELECT that reads rows it will update (PostgreSQL: ``FOR UPDATE``).
    LOCK = ""
    #: Appended to the claim SELECT (PostgreSQL: ``FOR UPDATE SKIP LOCKED``).
    CLAIM_LOCK = ""
    #: True when a statement can take arrays as parameters (PostgreSQL's ``unnest``): per-row steps then
    #: run as one set-based statement instead of one statement per row (a round trip and a plan each).
    ARRAYS = False
    TYPES: dict[str, str] = {}
    #: The schema, as (version, statements) in order; ``{NAME}`` is filled from :attr:`TYPES`.
    MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = ()
    #: The table that records which migrations were applied.
    VERSION_TABLE = "schema_version"

    def __init__(self) -> None:
        # One connection per store object; the lock makes it safe to share between threads
        # (the outbox's store thread, a webhook receiver's threads).
        self._lock = PriorityLock()  # the delivery worker's calls first (see _priority)
        # The transaction of a batch open in this thread (see batch()).
        self._batch = threading.local()

    # --- dialect hooks ------------------------------------------------------------------------------
    @abstractmethod
    def _transaction(self, write: bool) -> AbstractContextManager[Tx]:
        """An open transaction (``write``: take the write lock at once where that matters)."""

    @abstractmethod
    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """A ``column IN (...)`` test and its parameters."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    # --- plumbing --------------------------------------------------------------------------------
    def _tx(self, write: bool = True) -> AbstractContextManager[Tx]:
        open_batch: _Batch | None = getattr(self._batch, "open", None)
        if open_batch is not None:
            return open_batch.joined()
        return Locked(self._lock, self._transaction(write))

    def _one(self) -> AbstractContextManager[Tx]:
        """A transaction of one statement (PostgreSQL: it commits alone, without the BEGIN and COMMIT round
        trips); inside :meth:`batch` the batch's, like :meth:`_tx`."""
        return self._tx()

    def transact(self, work: Callable[[Tx], T]) -> T:
        """``work(tx)`` in one write transaction: the batch's when one is open in this thread (a caller's
        own statements, such as the gateway's log rows in the same database, then commit or roll back
        with the store's; a failure fails the batch), else one of its own."""
        with self._tx() as tx:
            return work(tx)

    @property
    def in_batch(self) -> bool:
        """True inside :meth:`batch` in this thread."""
        return getattr(self._batch, "open", None) is not None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Run every store call this thread makes inside the block in one write transaction.

        Many small writes (a webhook payload's statuses) then cost one commit instead of one each,
        with the same statements and the same effects: they commit together or not at all. A call
        that fails inside the block fails the whole batch (it rolls back even if the caller caught
        the error), so the caller can redo the work one call at a time. Other threads wait for the
        store meanwhile; a nested ``batch`` joins the open one.
        """
        if getattr(self._batch, "open", None) is not None:
            yield
            return
        with self._tx() as tx:
            state = _Batch(tx)
            self._batch.open = state
            try:
                yield
            finally:
                self._batch.open = None
            if state.failed is not None:
                raise StoreError(f"a call in the batch failed: {state.failed}", transient=False)
            state.tx.flush()

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version now in force."""
        with self._tx() as tx:
            self._lock_schema(tx)
            table = self.VERSION_TABLE
            latest = self.MIGRATIONS[-1][0] if self.MIGRATIONS else 0
            tx.run(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)")
            row = tx.rows(f"SELECT max(version) FROM {table}")
            current = (row[0][0] or 0) if row else 0
            if current > latest:
                raise StoreError(f"the store's schema is version {current}, newer than this wacloud "
                                 f"({latest}): upgrade wacloud")
            for version, statements in self.MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    sql = statement.format(**self.TYPES)
                    if not sql.startswith(SKIPPED):  # another dialect's own step
                        tx.run(sql)
                tx.run(f"INSERT INTO {table} (version) VALUES (?)", (version,))
                current = version
            return int(current)

    def _lock_schema(self, tx: Tx) -> None:  # noqa: B027 - optional hook, a no-op for SQLite
        """Serialise concurrent migrations (PostgreSQL takes an advisory lock)."""

    def _lock_wamids(self, tx: Tx, wamids: Sequence[str]) -> None:  # noqa: B027 - optional hook, a no-op for SQLite
        """Serialise statuses for these wamids with the send answers that record them, taking the locks in
        the given (sorted) order (SQLite: BEGIN IMMEDIATE serialises every writer already)."""


class _BatchTx(Tx, DeferredAppends):
    """A batch's transaction as its calls see it: their statements run at once, their events are appended
    together when the batch ends (the event log's lock last, as in a lone call: see :class:`DeferredAppends`)."""

    def __init__(self, tx: Tx) -> None:
        self._tx = tx
        self._events: list[NewEvent] = []

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._tx.rows(sql, params)

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._tx.run(sql, params)

    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        self._tx.many(sql, seq)

    def insert(self, head: str, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._tx.insert(head, types, rows)

    def defer_events(self, events: Sequence[NewEvent]) -> None:
        self._events.extend(events)

    def flush(self) -> None:
        """Append the batch's events, in the order its calls made them."""
        events, self._events = self._events, []
        append(self._tx, events)


class _Batch:
    """An open batch: its transaction, and the first failure of a call inside it."""

    def __init__(self, tx: Tx) -> None:
        self.tx = _BatchTx(tx)
        self.failed: BaseException | None = None

    @contextmanager
    def joined(self) -> Iterator[Tx]:
        """A store call inside the batch: the batch's transaction; a failure fails the batch."""
        try:
            yield self.tx
        except BaseException as exc:
            self.failed = self.failed or exc
            raise


class Locked(AbstractContextManager[Tx]):
    """Holds the store's thread lock for the life of one transaction."""

    def __init__(self, lock: PriorityLock, inner: AbstractContextManager[Tx]) -> None:
        self._lock = lock
        self._inner = inner

    def __enter__(self) -> Tx:
        self._lock.acquire()
        try:
            return self._inner.__enter__()
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: Any) -> bool | None:
        try:
            return self._inner.__exit__(*exc)
        finally:
            self._lock.release()
