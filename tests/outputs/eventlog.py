"""A small SQL-backed :class:`~wacloud.events.model.EventSource` for the outputs' tests (a real SQLite
table), standing in for the gateway's event log until both meet on main."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wacloud.events.model import Event


class SqliteEventLog:
    """Events in one SQLite table: ``position`` global, ``seq`` per number, appended in transactions."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS test_events (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                "seq INTEGER NOT NULL, type TEXT NOT NULL, at REAL NOT NULL, phone_number_id TEXT NOT NULL, "
                "data TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def append(self, type: str, phone_number_id: str, data: dict[str, Any]) -> Event:
        """Add one event (next position, next seq of its number)."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            seq = conn.execute("SELECT COALESCE(max(seq), 0) + 1 FROM test_events WHERE phone_number_id = ?",
                               (phone_number_id,)).fetchone()[0]
            event_id = "evt_" + uuid.uuid4().hex
            cur = conn.execute(
                "INSERT INTO test_events (id, seq, type, at, phone_number_id, data) VALUES (?, ?, ?, ?, ?, ?)",
                (event_id, seq, type, time.time(), phone_number_id, json.dumps(data)),
            )
            position = cur.lastrowid
        assert position is not None
        return self.read(position - 1, 1)[0]

    def append_many(self, n: int, numbers: Sequence[str], type: str = "message.received") -> list[Event]:
        """``n`` events spread over ``numbers`` in turn (one transaction)."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            seqs = {p: conn.execute("SELECT COALESCE(max(seq), 0) FROM test_events WHERE phone_number_id = ?",
                                    (p,)).fetchone()[0] for p in numbers}
            first = conn.execute("SELECT COALESCE(max(position), 0) FROM test_events").fetchone()[0]
            for i in range(n):
                phone = numbers[i % len(numbers)]
                seqs[phone] += 1
                conn.execute(
                    "INSERT INTO test_events (id, seq, type, at, phone_number_id, data) VALUES (?, ?, ?, ?, ?, ?)",
                    ("evt_" + uuid.uuid4().hex, seqs[phone], type, time.time(), phone, json.dumps({"i": i})),
                )
        return self.read(first, n)

    def read(self, after: int, limit: int, *, types: Sequence[str] | None = None,
             numbers: Sequence[str] | None = None) -> list[Event]:
        """Up to ``limit`` events after position ``after``, in order (filtered by type and number)."""
        sql = "SELECT position, id, seq, type, at, phone_number_id, data FROM test_events WHERE position > ?"
        params: list[Any] = [after]
        if types:
            sql += f" AND type IN ({', '.join('?' * len(types))})"
            params += list(types)
        if numbers:
            sql += f" AND phone_number_id IN ({', '.join('?' * len(numbers))})"
            params += list(numbers)
        with self._connect() as conn:
            rows = conn.execute(sql + " ORDER BY position LIMIT ?", (*params, limit)).fetchall()
        return [Event(id=r[1], position=r[0], seq=r[2], type=r[3], at=r[4], phone_number_id=r[5],
                      data=json.loads(r[6])) for r in rows]

    def last_position(self) -> int:
        """The newest position (0 when empty)."""
        with self._connect() as conn:
            return int(conn.execute("SELECT COALESCE(max(position), 0) FROM test_events").fetchone()[0])
