"""Hand-over: a person (an agent in the console) takes a conversation from the bot, and gives it back.

While a person holds a customer's conversation the gateway's bot dispatch skips that customer's
messages (the system steps, outbox and conversation log, still run). The holder is kept in the gateway
database, so every process sharing it agrees.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from wacloud.gateway._db import Database


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a conversation, since when."""

    wa_id: str
    key_id: str
    name: str
    since: float


class Handover:
    """The ``wacloud_gw_handover`` table: one row per conversation a person holds."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.execute(
            "CREATE TABLE IF NOT EXISTS wacloud_gw_handover (wa_id TEXT PRIMARY KEY, key_id TEXT NOT NULL, "
            "name TEXT NOT NULL, since DOUBLE PRECISION NOT NULL)"
        )

    def take(self, wa_id: str, key_id: str, name: str) -> Holder:
        """A person takes the conversation with ``wa_id`` (taking it again changes the holder)."""
        now = time.time()
        self.db.execute(
            "INSERT INTO wacloud_gw_handover (wa_id, key_id, name, since) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (wa_id) DO UPDATE SET key_id = excluded.key_id, name = excluded.name, "
            "since = excluded.since",
            (wa_id, key_id, name[:100], now),
        )
        return Holder(wa_id, key_id, name[:100], now)

    def release(self, wa_id: str) -> bool:
        """Give the conversation back to the bot; False when nobody held it."""
        held = self.holder(wa_id) is not None
        self.db.execute("DELETE FROM wacloud_gw_handover WHERE wa_id = ?", (wa_id,))
        return held

    def holder(self, wa_id: str) -> Holder | None:
        """Who holds the conversation with ``wa_id``, or None (the bot answers)."""
        rows = self.db.execute("SELECT wa_id, key_id, name, since FROM wacloud_gw_handover WHERE wa_id = ?", (wa_id,))
        return Holder(rows[0][0], rows[0][1], rows[0][2], float(rows[0][3])) if rows else None
