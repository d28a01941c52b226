"""Which business number each conversation and message belongs to, and the webhooks of numbers not served.

The conversation log (:mod:`wacloud.gateway._history`) keeps one line per message; this module keeps,
beside it, the number of each customer conversation and of each wamid, so conversations and messages can
be listed per number. Webhooks for a number this gateway does not serve are kept in a table of their own
(``wacloud_gw_unrouted``), never mixed into a served number's conversations.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wacloud.delivery.store import Transaction
from wacloud.gateway._db import Database

log = logging.getLogger("wacloud.gateway.numbers")

_TOUCH = ("INSERT INTO wacloud_gw_number_contacts (phone_number_id, wa_id, last_ts) VALUES (?, ?, ?) "
          "ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET last_ts = "
          "CASE WHEN excluded.last_ts > wacloud_gw_number_contacts.last_ts "
          "THEN excluded.last_ts ELSE wacloud_gw_number_contacts.last_ts END")
_WAMID = ("INSERT INTO wacloud_gw_number_wamids (wamid, phone_number_id) VALUES (?, ?) "
          "ON CONFLICT (wamid) DO NOTHING")


@dataclass(frozen=True, slots=True)
class Unrouted:
    """A webhook update for a number this gateway does not serve."""

    id: int
    received_at: float
    phone_number_id: str | None
    display_phone_number: str | None
    waba_id: str | None
    field: str | None
    kind: str
    body: Any

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, "received_at": self.received_at, "phone_number_id": self.phone_number_id,
                "display_phone_number": self.display_phone_number, "waba_id": self.waba_id, "field": self.field,
                "kind": self.kind, "body": self.body}


class NumberLog:
    """The number of each conversation and wamid, and the unrouted webhooks (in the gateway database)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.execute("""CREATE TABLE IF NOT EXISTS wacloud_gw_number_contacts (
            phone_number_id TEXT NOT NULL, wa_id TEXT NOT NULL, last_ts DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (phone_number_id, wa_id))""")
        db.execute("""CREATE TABLE IF NOT EXISTS wacloud_gw_number_wamids (
            wamid TEXT PRIMARY KEY, phone_number_id TEXT NOT NULL)""")
        db.execute(f"""CREATE TABLE IF NOT EXISTS wacloud_gw_unrouted (
            id {db.serial}, received_at DOUBLE PRECISION NOT NULL, phone_number_id TEXT,
            display_phone_number TEXT, waba_id TEXT, field TEXT, kind TEXT NOT NULL, update_key TEXT, body TEXT)""")
        db.execute("CREATE UNIQUE INDEX IF NOT EXISTS wacloud_gw_unrouted_key ON wacloud_gw_unrouted (update_key)")

    # --- conversations per number ----------------------------------------------------------------

    def touch(self, phone_number_id: str, wa_id: str, ts: float | None = None, wamid: str | None = None) -> None:
        """``wa_id`` talked with ``phone_number_id`` at ``ts`` (and ``wamid`` is theirs, when given)."""
        self.db.execute(_TOUCH, (phone_number_id, wa_id, ts if ts is not None else time.time()))
        if wamid:
            self.db.execute(_WAMID, (wamid, phone_number_id))

    def touch_many(self, phone_number_id: str, wa_ids: Sequence[str], ts: float | None = None,
                   chunk: int = 1000) -> None:
        """:meth:`touch` for many customers (a campaign's), ``chunk`` rows per transaction: one commit
        per row held the database's write lock 10,000 times against the sending worker."""
        now = ts if ts is not None else time.time()
        rows = [(phone_number_id, wa_id, now) for wa_id in wa_ids]
        for start in range(0, len(rows), chunk):
            self.db.executemany(_TOUCH, rows[start:start + chunk])

    def touch_each(self, rows: Sequence[tuple[str, str, float, str | None]]) -> None:
        """:meth:`touch` for each (phone_number_id, wa_id, ts, wamid), one statement per table (a payload's
        statuses)."""
        self.db.executemany(_TOUCH, [(pid, wa_id, ts) for pid, wa_id, ts, _ in rows])
        self.db.executemany(_WAMID, [(wamid, pid) for pid, _, _, wamid in rows if wamid])

    @staticmethod
    def touch_each_in(tx: Transaction, rows: Sequence[tuple[str, str, float, str | None]]) -> None:
        """:meth:`touch_each` in the caller's open transaction of this database (the outbox's)."""
        touches = [(pid, wa_id, ts) for pid, wa_id, ts, _ in rows]
        wamids = [(wamid, pid) for pid, _, _, wamid in rows if wamid]
        if touches:
            tx.many(_TOUCH, touches)
        if wamids:
            tx.many(_WAMID, wamids)

    def wa_ids(self, phone_number_id: str) -> set[str]:
        """The customers who talked with ``phone_number_id``."""
        rows = self.db.execute("SELECT wa_id FROM wacloud_gw_number_contacts WHERE phone_number_id = ?",
                               (phone_number_id,))
        return {str(r[0]) for r in rows}

    def number_of(self, wamid: str) -> str | None:
        """The number a message (by wamid) was sent from or to, when known."""
        rows = self.db.execute("SELECT phone_number_id FROM wacloud_gw_number_wamids WHERE wamid = ?", (wamid,))
        return str(rows[0][0]) if rows else None

    # --- unrouted webhooks -----------------------------------------------------------------------

    def keep_unrouted(self, *, phone_number_id: str | None, display_phone_number: str | None, waba_id: str | None,
                      field: str | None, kind: str, key: str | None, body: Any) -> bool:
        """Store an update for a number not served; False when it was stored already (a redelivery)."""
        text = json.dumps(body, default=str).replace("\\u0000", "\\ufffd")
        rows = self.db.execute(
            "INSERT INTO wacloud_gw_unrouted (received_at, phone_number_id, display_phone_number, waba_id, field, "
            "kind, update_key, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (time.time(), phone_number_id, display_phone_number, waba_id, field, kind, key, text),
        )
        return bool(rows)

    def unrouted(self, *, limit: int = 100, phone_number_id: str | None = None) -> list[Unrouted]:
        """Stored unrouted updates, newest first (optionally of one number)."""
        where, params = ("WHERE phone_number_id = ? ", (phone_number_id,)) if phone_number_id else ("", ())
        rows = self.db.execute(
            "SELECT id, received_at, phone_number_id, display_phone_number, waba_id, field, kind, body "
            f"FROM wacloud_gw_unrouted {where}ORDER BY id DESC LIMIT ?", (*params, limit))
        return [Unrouted(int(r[0]), float(r[1]), r[2], r[3], r[4], r[5], str(r[6]), json.loads(r[7] or "null"))
                for r in rows]

    def unrouted_count(self) -> dict[str, int]:
        """Stored unrouted updates by phone number id (``""`` when the update named none)."""
        rows = self.db.execute(
            "SELECT COALESCE(phone_number_id, ''), COUNT(*) FROM wacloud_gw_unrouted GROUP BY 1")
        return {str(r[0]): int(r[1]) for r in rows}


__all__ = ["NumberLog", "Unrouted"]
