"""Contacts: the customer's last message (the 24 h window) and marketing opt-outs."""

from __future__ import annotations

from collections.abc import Iterable

from wacloud.delivery._sql_base import SqlBase
from wacloud.delivery.model import (
    ContactRecord,
)


class ContactsSql(SqlBase):
    """Customers' service windows and marketing preferences."""

    def touch_inbound(self, phone_number_id: str, wa_id: str, ts: float) -> None:
        """Record a customer's message (opens the 24 h window)."""
        with self._tx() as tx:
            tx.run(f"INSERT INTO contacts (phone_number_id, wa_id, last_inbound) VALUES (?, ?, ?) "
                   f"ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET last_inbound = "
                   f"{self.GREATEST}(COALESCE(contacts.last_inbound, excluded.last_inbound), "
                   "excluded.last_inbound)",
                   (phone_number_id, wa_id, ts))

    def set_marketing(self, phone_number_id: str, wa_id: str, opted_out: bool, ts: float) -> None:
        """Record a marketing opt-out or resume; the latest timestamp wins."""
        with self._tx() as tx:
            tx.run("INSERT INTO contacts (phone_number_id, wa_id, marketing_opt_out, preference_at) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET "
                   "marketing_opt_out = excluded.marketing_opt_out, preference_at = excluded.preference_at "
                   "WHERE contacts.preference_at IS NULL OR contacts.preference_at <= excluded.preference_at",
                   (phone_number_id, wa_id, int(opted_out), ts))

    def contacts(self, phone_number_id: str, wa_ids: Iterable[str]) -> dict[str, ContactRecord]:
        """What is known about these customers."""
        ids = sorted(set(wa_ids))
        if not ids:
            return {}
        test, params = self._in("wa_id", ids)
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT wa_id, last_inbound, marketing_opt_out FROM contacts "
                           f"WHERE phone_number_id = ? AND {test}", [phone_number_id, *params])
        return {r[0]: ContactRecord(r[0], float(r[1]) if r[1] is not None else None, bool(r[2])) for r in rows}
