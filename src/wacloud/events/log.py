"""The event log: one table, appended to inside the transaction that makes the change it reports.

Positions and per-number sequences come from counter rows (``event_counters``) that every append updates,
so each appending transaction holds the counter's row lock until it commits. PostgreSQL would otherwise
let a later-allocated id commit (and become visible) before an earlier one, and a reader following
``position`` would step over the earlier one for good; with the lock, positions become visible in order and
a reader never skips. SQLite writers are serialised by the database lock anyway.

The schema is the delivery store's migration 8 (:data:`MIGRATION`), applied with its other migrations.
"""

from __future__ import annotations

import json
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from wacloud._json import dumps
from wacloud.events.model import EVENT_TYPES, SCHEMA_VERSION, Event
from wacloud.identity import CustomerIds

T = TypeVar("T")

#: The delivery store's migration 8: the events table and its counters (IF NOT EXISTS: a store rebuilt
#: to an older version by hand keeps its log).
MIGRATION: Final[tuple[int, tuple[str, ...]]] = (8, (
    """CREATE TABLE IF NOT EXISTS events (
        position BIGINT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        seq BIGINT NOT NULL,
        type TEXT NOT NULL,
        at {REAL} NOT NULL,
        phone_number_id TEXT NOT NULL,
        contact TEXT,
        data TEXT NOT NULL,
        schema_version INTEGER NOT NULL
    )""",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_number_seq ON events (phone_number_id, seq)",
    "CREATE INDEX IF NOT EXISTS events_at ON events (at)",
    # scope '' is the whole log (positions); every other row ('n:' + number) is one number's sequence.
    "CREATE TABLE IF NOT EXISTS event_counters (scope TEXT PRIMARY KEY, last BIGINT NOT NULL)",
    "INSERT INTO event_counters (scope, last) VALUES ('', 0) ON CONFLICT (scope) DO NOTHING",
))

_COLUMNS = "position, id, seq, type, at, phone_number_id, contact, data, schema_version"
_TYPES = ("bigint", "text", "bigint", "text", "float8", "text", "text", "text", "integer")


class Rows(Protocol):
    """An open transaction, as the log needs it (the delivery store's and the gateway's both fit)."""

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a statement and return its rows."""
        ...

    def many(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each parameter tuple."""
        ...

    def insert(self, head: str, types: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` in their order (PostgreSQL: one statement; ``types``: the columns' types)."""
        ...


#: Runs ``work`` in one transaction and returns what it returns (``Database.run`` in the gateway).
Runner = Callable[[Callable[[Rows], Any]], Any]


class UnknownEventType(ValueError):
    """An event type that is not in :data:`~wacloud.events.model.EVENT_TYPES`."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended: the log gives it its id, position and sequence."""

    type: str
    phone_number_id: str
    data: dict[str, Any]
    contact: CustomerIds | None = None
    at: float = field(default_factory=time.time)


def new_event_id() -> str:
    """A fresh, unique event id (``evt_`` and 24 random hex digits)."""
    return "evt_" + secrets.token_hex(12)


class DeferredAppends(ABC):
    """A transaction that appends its events at its end, in one go (a delivery store's batch).

    A batch runs several store calls in one transaction, and each call appends its events as it ends. Were
    the log's counter lock taken there, the calls after it would take their own row locks while holding it:
    the opposite of a lone call's order, and two such transactions would deadlock.
    """

    __slots__ = ()

    @abstractmethod
    def defer_events(self, events: Sequence[NewEvent]) -> None:
        """Keep ``events`` (checked already), in order, for the append at the transaction's end."""


def append(tx: Rows, events: Sequence[NewEvent]) -> list[Event]:
    """Append ``events`` in this order inside ``tx`` (the transaction of the change they report).

    Takes the log's counter lock until ``tx`` ends: keep it for the end of the transaction, after its
    own row locks, so two writers never wait on each other in opposite orders. In a transaction that
    defers its appends (:class:`DeferredAppends`) they are kept for its end, and nothing is returned.
    """
    if not events:
        return []
    for ev in events:
        if ev.type not in EVENT_TYPES:
            raise UnknownEventType(f"unknown event type {ev.type!r}")
    if isinstance(tx, DeferredAppends):
        tx.defer_events(events)
        return []
    last = int(tx.rows("UPDATE event_counters SET last = last + ? WHERE scope = '' RETURNING last",
                       (len(events),))[0][0])
    position = last - len(events)
    counts: dict[str, int] = {}
    for ev in events:
        counts[ev.phone_number_id] = counts.get(ev.phone_number_id, 0) + 1
    seq_last: dict[str, int] = {}
    for number in sorted(counts):  # one order for every writer (they are serialised already; cheap to keep)
        seq_last[number] = int(tx.rows(
            "INSERT INTO event_counters (scope, last) VALUES (?, ?) "
            "ON CONFLICT (scope) DO UPDATE SET last = event_counters.last + excluded.last RETURNING last",
            ("n:" + number, counts[number]))[0][0])
    seq_next = {n: seq_last[n] - counts[n] for n in counts}
    out: list[Event] = []
    rows: list[tuple[Any, ...]] = []
    # One read of the system's randomness for all the ids (a campaign's chunk appends hundreds at once).
    noise = secrets.token_hex(12 * len(events))
    for i, ev in enumerate(events):
        position += 1
        seq_next[ev.phone_number_id] += 1
        event = Event(id="evt_" + noise[24 * i:24 * i + 24], position=position, seq=seq_next[ev.phone_number_id],
                      type=ev.type, at=float(ev.at), phone_number_id=ev.phone_number_id, data=ev.data,
                      contact=ev.contact)
        out.append(event)
        contact = dumps(ev.contact.as_dict()) if ev.contact else None
        rows.append((event.position, event.id, event.seq, event.type, event.at, event.phone_number_id, contact,
                     dumps(ev.data), SCHEMA_VERSION))
    tx.insert(f"INSERT INTO events ({_COLUMNS})", _TYPES, rows)
    return out


def event_from_row(row: Sequence[Any]) -> Event:
    """An :class:`Event` from a row of the log's columns."""
    contact = json.loads(row[6]) if row[6] else None
    return Event(id=str(row[1]), position=int(row[0]), seq=int(row[2]), type=str(row[3]), at=float(row[4]),
                 phone_number_id=str(row[5]), data=json.loads(row[7]),
                 contact=CustomerIds(**contact) if contact is not None else None, schema_version=int(row[8]))


def _filters(types: Sequence[str] | None, numbers: Sequence[str] | None) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, values in (("type", types), ("phone_number_id", numbers)):
        if values:
            where.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    return "".join(" AND " + w for w in where), params


class EventLog:
    """Reads (and prunes) the log through ``run``, which runs a function in one transaction.

    It implements :class:`~wacloud.events.model.EventSource`.
    """

    def __init__(self, run: Runner) -> None:
        self._run = run

    def read(self, after: int, limit: int, *, types: Sequence[str] | None = None,
             numbers: Sequence[str] | None = None) -> list[Event]:
        """Up to ``limit`` events whose ``position`` is greater than ``after``, in order."""
        where, params = _filters(types, numbers)
        sql = f"SELECT {_COLUMNS} FROM events WHERE position > ?{where} ORDER BY position LIMIT ?"
        rows: list[tuple[Any, ...]] = self._run(lambda tx: tx.rows(sql, [int(after), *params, max(0, int(limit))]))
        return [event_from_row(r) for r in rows]

    def at_positions(self, positions: Sequence[int]) -> list[Event]:
        """The retained events at ``positions``, in order (a pruned one is missing)."""
        if not positions:
            return []
        marks = ", ".join("?" * len(positions))
        sql = f"SELECT {_COLUMNS} FROM events WHERE position IN ({marks}) ORDER BY position"
        rows: list[tuple[Any, ...]] = self._run(lambda tx: tx.rows(sql, [int(p) for p in positions]))
        return [event_from_row(r) for r in rows]

    def head(self) -> int:
        """The position of the last event appended (0 for an empty log)."""
        rows: list[tuple[Any, ...]] = self._run(lambda tx: tx.rows("SELECT last FROM event_counters WHERE scope = ''"))
        return int(rows[0][0]) if rows else 0

    def position_before(self, at: float) -> int:
        """The cursor that replays every event at or after time ``at`` (the last position before it)."""
        rows: list[tuple[Any, ...]] = self._run(
            lambda tx: tx.rows("SELECT max(position) FROM events WHERE at < ?", (float(at),)))
        if rows and rows[0][0] is not None:
            return int(rows[0][0])
        first: list[tuple[Any, ...]] = self._run(lambda tx: tx.rows("SELECT min(position) FROM events"))
        return int(first[0][0]) - 1 if first and first[0][0] is not None else self.head()

    def oldest(self) -> int | None:
        """The position of the oldest retained event (None for an empty log)."""
        rows: list[tuple[Any, ...]] = self._run(lambda tx: tx.rows("SELECT min(position) FROM events"))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def prune(self, older_than: float, *, batch: int = 5000) -> int:
        """Delete events from before time ``older_than`` (retention), in batches; returns how many."""
        total = 0
        while True:
            rows: list[tuple[Any, ...]] = self._run(lambda tx: tx.rows(
                "DELETE FROM events WHERE position IN (SELECT position FROM events WHERE at < ? "
                "ORDER BY position LIMIT ?) RETURNING position", (float(older_than), batch)))
            total += len(rows)
            if len(rows) < batch:
                return total
