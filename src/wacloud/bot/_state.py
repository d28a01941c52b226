"""Conversation state, kept in a store so every worker process sees the same conversation.

State belongs to one conversation: a business number and a customer (``metadata.phone_number_id``
and the sender's id). A handler asks for it by naming a ``state`` parameter and gets a :class:`State`
(``state.name``, ``state.data``, :meth:`State.set`, :meth:`State.clear`); handlers registered with
``state="asking_name"`` run only in that state. The dispatch loads it before the handlers and saves it
after them, when it changed, through a :class:`StateStore`: :class:`MemoryStateStore` (one process),
:class:`SqliteStateStore` (processes on one host) or :class:`PostgresStateStore` (several hosts).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from wacloud.webhooks.updates import MessageUpdate, Update

#: (business phone-number id, customer id)
StateKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class StateRecord:
    """What a store keeps for one conversation."""

    name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class StateStore(Protocol):
    """Where conversation state lives (blocking calls: the async runner makes them in a worker thread)."""

    def get(self, key: StateKey) -> StateRecord:
        """The conversation's state (an empty record when it has none)."""
        ...

    def put(self, key: StateKey, record: StateRecord) -> None:
        """Replace the conversation's state (an empty record deletes it)."""
        ...


def state_key(update: Update) -> StateKey | None:
    """The conversation an update belongs to (messages only; None for everything else)."""
    if not isinstance(update, MessageUpdate) or update.metadata is None:
        return None
    business = update.metadata.phone_number_id
    customer = update.message.from_  # the sender, as replies address them
    return (business, customer) if business and customer else None


class State:
    """The state of one conversation during one dispatch."""

    def __init__(self, key: StateKey, record: StateRecord) -> None:
        self.key = key
        self.name: str | None = record.name
        self.data: dict[str, Any] = dict(record.data)
        self._saved = (record.name, json.dumps(record.data, sort_keys=True, default=str))

    def set(self, name: str | None, **data: Any) -> None:
        """Move to state ``name``, adding ``data`` (kept as JSON)."""
        if name is not None and not isinstance(name, str):
            raise TypeError("a state name is a string (or None)")
        self.name = name
        self.data.update(data)

    def clear(self) -> None:
        """Forget the conversation's state and data."""
        self.name = None
        self.data = {}

    @property
    def changed(self) -> bool:
        """True when the name or the data differ from what was loaded."""
        return (self.name, json.dumps(self.data, sort_keys=True, default=str)) != self._saved

    def record(self) -> StateRecord:
        """What to store."""
        return StateRecord(self.name, dict(self.data))

    def __repr__(self) -> str:
        return f"State(key={self.key!r}, name={self.name!r}, data={self.data!r})"


def _dumps(record: StateRecord) -> str:
    try:
        return json.dumps(record.data)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"conversation state data must be JSON-serialisable: {exc}") from None


class MemoryStateStore:
    """State in this process's memory (tests, a single-process bot)."""

    def __init__(self) -> None:
        self._items: dict[StateKey, tuple[str | None, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: StateKey) -> StateRecord:
        """The conversation's state."""
        with self._lock:
            item = self._items.get(key)
        return StateRecord(item[0], json.loads(item[1])) if item else StateRecord()

    def put(self, key: StateKey, record: StateRecord) -> None:
        """Replace (or delete) the conversation's state."""
        text = _dumps(record)
        with self._lock:
            if record.name is None and not record.data:
                self._items.pop(key, None)
            else:
                self._items[key] = (record.name, text)


_TABLE = """CREATE TABLE IF NOT EXISTS bot_state (
    business TEXT NOT NULL, customer TEXT NOT NULL, name TEXT, data TEXT NOT NULL, updated_at DOUBLE PRECISION,
    PRIMARY KEY (business, customer))"""


class _SqlStateStore:
    """``get``/``put`` on a ``bot_state`` table, written once for both drivers (``?`` is the placeholder)."""

    _conn: Any
    #: The driver's parameter placeholder, put in place of ``?``.
    placeholder = "?"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def _run(self, sql: str, params: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._conn.execute(sql.replace("?", self.placeholder), params)

    def get(self, key: StateKey) -> StateRecord:
        """The conversation's state."""
        row = self._run("SELECT name, data FROM bot_state WHERE business = ? AND customer = ?", key).fetchone()
        return StateRecord(row[0], json.loads(row[1])) if row else StateRecord()

    def put(self, key: StateKey, record: StateRecord) -> None:
        """Replace (or delete) the conversation's state."""
        if record.name is None and not record.data:
            self._run("DELETE FROM bot_state WHERE business = ? AND customer = ?", key)
        else:
            self._run(
                "INSERT INTO bot_state (business, customer, name, data, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (business, customer) DO UPDATE SET name = excluded.name, data = excluded.data, "
                "updated_at = excluded.updated_at", (*key, record.name, _dumps(record), time.time()))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class SqliteStateStore(_SqlStateStore):
    """State in a SQLite file (a table ``bot_state``), shared by the processes of one host."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_TABLE)


class PostgresStateStore(_SqlStateStore):
    """State in PostgreSQL (a table ``bot_state``), shared by processes on several hosts (psycopg 3)."""

    placeholder = "%s"

    def __init__(self, dsn: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is in the postgres extra
            raise RuntimeError("the PostgreSQL state store needs psycopg: pip install 'wacloud[postgres]'") from exc
        super().__init__()
        self._conn = psycopg.connect(dsn, autocommit=True)
        self._conn.execute(_TABLE)


def open_state_store(url: str) -> StateStore:
    """A state store from a URL: ``memory://``, ``sqlite:///path`` or ``postgresql://…``."""
    if url in ("memory", "memory://"):
        return MemoryStateStore()
    if url.startswith("sqlite:///"):
        return SqliteStateStore(url.removeprefix("sqlite:///") or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStateStore(url)
    raise ValueError(f"unknown state store URL {url!r}: use memory://, sqlite:///path or postgresql://…")
