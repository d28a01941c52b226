"""Pacing state: the number's send-slot bucket, the recipients' pair buckets (one per contact), pauses."""

from __future__ import annotations

import wacloud.delivery.pacing as pacing
from wacloud.delivery._sql_base import SqlBase
from wacloud.delivery._sql_contacts import pair_keys


class PacingSql(SqlBase):
    """Send slots, pair buckets and pauses."""

    def reserve(self, phone_number_id: str, n: int, now: float, interval_s: float) -> float:
        """Reserve ``n`` send slots ``interval_s`` apart; returns the first slot's time."""
        with self._tx() as tx:
            tx.run("INSERT INTO rate_buckets (phone_number_id) VALUES (?) "
                   "ON CONFLICT (phone_number_id) DO NOTHING", (phone_number_id,))
            rows = tx.rows(f"SELECT tat FROM rate_buckets WHERE phone_number_id = ?{self.LOCK}",
                           (phone_number_id,))
            start, tat = pacing.reserve(rows[0][0] if rows else None, now, n, interval_s)
            tx.run("UPDATE rate_buckets SET tat = ? WHERE phone_number_id = ?", (tat, phone_number_id))
        return start

    def hold_recipient(self, phone_number_id: str, to: str, tat: float) -> None:
        """Push a recipient's pair bucket forward (after a 131056)."""
        with self._tx() as tx:
            to = pair_keys(tx, self._in, phone_number_id, [to])[to]
            tx.run(f"INSERT INTO pair_buckets (phone_number_id, recipient, tat) VALUES (?, ?, ?) "
                   "ON CONFLICT (phone_number_id, recipient) DO UPDATE SET "
                   f"tat = {self.GREATEST}(pair_buckets.tat, excluded.tat)", (phone_number_id, to, tat))

    def refund_recipient(self, phone_number_id: str, to: str, interval_s: float, now: float) -> None:
        """Give back the pair token of a call Meta refused (nothing reached the user)."""
        with self._tx() as tx:
            to = pair_keys(tx, self._in, phone_number_id, [to])[to]
            tx.run(f"UPDATE pair_buckets SET tat = {self.GREATEST}(tat - ?, ?) "
                   "WHERE phone_number_id = ? AND recipient = ?", (interval_s, now, phone_number_id, to))

    def pause(self, phone_number_id: str, until: float, reason: str) -> None:
        """Pause all sending from a number until ``until``."""
        with self._tx() as tx:
            tx.run("INSERT INTO rate_buckets (phone_number_id, paused_until, pause_reason) VALUES (?, ?, ?) "
                   "ON CONFLICT (phone_number_id) DO UPDATE SET paused_until = excluded.paused_until, "
                   "pause_reason = excluded.pause_reason", (phone_number_id, until, reason))

    def resume(self, phone_number_id: str) -> None:
        """Lift a pause."""
        with self._tx() as tx:
            tx.run("UPDATE rate_buckets SET paused_until = NULL, pause_reason = NULL "
                   "WHERE phone_number_id = ?", (phone_number_id,))

    def paused(self, phone_number_id: str, now: float) -> tuple[float, str] | None:
        """The current pause (until, reason), if any."""
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT paused_until, pause_reason FROM rate_buckets WHERE phone_number_id = ?",
                           (phone_number_id,))
        if rows and rows[0][0] is not None and rows[0][0] > now:
            return float(rows[0][0]), str(rows[0][1] or "")
        return None


    def booked_until(self, phone_number_id: str) -> float | None:
        """The time the number's send slots are booked until (its pacing bucket), None if never used."""
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT tat FROM rate_buckets WHERE phone_number_id = ?", (phone_number_id,))
        return float(rows[0][0]) if rows and rows[0][0] is not None else None
