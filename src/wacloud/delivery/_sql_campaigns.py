"""Campaigns and costs: the campaigns table, per-status pricing, roll-ups, held counts, the export."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, cast

from wacloud._json import dumps
from wacloud.delivery._sql_base import SqlBase
from wacloud.delivery._sql_jobs import record_events
from wacloud.delivery.costs import GROUP_BY, CostRow
from wacloud.events.log import NewEvent, append

#: One campaign row: id, number, state, budget, api, options (JSON), start_at, created_at, updated_at.
CampaignRow = tuple[str, str, str, float | None, str | None, dict[str, Any], float | None, float, float]

#: The SQL expression each roll-up groups by.
_GROUP_SQL = {
    "message": "CAST(id AS TEXT)", "campaign": "COALESCE(campaign, '')", "number": "phone_number_id",
    "category": "COALESCE(category, 'service')",
}


class CampaignsSql(SqlBase):
    """Campaign controls, what each message cost, and the per-campaign reports."""

    # --- the campaigns table ----------------------------------------------------------------------
    def save_campaign(self, campaign_id: str, phone_number_id: str, now: float, *, budget: float | None = None,
                      api: str | None = None, options: dict[str, Any] | None = None,
                      start_at: float | None = None) -> None:
        """Create a campaign, or update the settings given (None keeps the old one); its state is kept."""
        with self._tx() as tx:
            tx.run("INSERT INTO campaigns (id, phone_number_id, state, budget, api, options, start_at, created_at, "
                   "updated_at) VALUES (?, ?, 'active', ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                   "budget = COALESCE(excluded.budget, campaigns.budget), api = COALESCE(excluded.api, campaigns.api), "
                   "options = CASE WHEN excluded.options = '{}' THEN campaigns.options ELSE excluded.options END, "
                   "start_at = COALESCE(excluded.start_at, campaigns.start_at), updated_at = excluded.updated_at",
                   (campaign_id, phone_number_id, budget, api, json.dumps(options or {}), start_at, now, now))

    def campaign_rows(self, phone_number_id: str | None = None, campaign_id: str | None = None) -> list[CampaignRow]:
        """Campaign rows (newest first), of one number or one id."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if phone_number_id is not None:
            where.append("phone_number_id = ?")
            params.append(phone_number_id)
        if campaign_id is not None:
            where.append("id = ?")
            params.append(campaign_id)
        with self._tx(write=False) as tx:
            rows = tx.rows("SELECT id, phone_number_id, state, budget, api, options, start_at, created_at, "
                           f"updated_at FROM campaigns WHERE {' AND '.join(where)} ORDER BY created_at DESC, id",
                           params)
        return [(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "{}"), r[6], float(r[7]), float(r[8]))
                for r in rows]

    def set_campaign(self, campaign_id: str, now: float, *, state: str | None = None,
                     budget: float | None = None, clear_budget: bool = False) -> bool:
        """Change a campaign's state or budget; False when there is no such campaign. A change of state, or of
        budget, is a ``campaign.progress`` event (``paused``, ``resumed``, ``cancelled``, ``budget``) written
        with it."""
        sets: list[str] = ["updated_at = ?"]
        params: list[Any] = [now]
        if state is not None:
            sets.append("state = ?")
            params.append(state)
        if budget is not None or clear_budget:
            sets.append("budget = ?")
            params.append(budget)
        with self._tx() as tx:
            before = tx.rows(f"SELECT phone_number_id, state, budget FROM campaigns WHERE id = ?{self.LOCK}",
                             (campaign_id,))
            if not before:
                return False
            tx.run(f"UPDATE campaigns SET {', '.join(sets)} WHERE id = ?", [*params, campaign_id])
            number, old_state, old_budget = before[0]
            events: list[NewEvent] = []
            if state is not None and state != old_state:
                step = {"active": "resumed"}.get(state, state)
                events.append(NewEvent("campaign.progress", str(number), {"campaign": campaign_id, "step": step},
                                       at=now))
            if (budget is not None or clear_budget) and budget != old_budget:
                events.append(NewEvent("campaign.progress", str(number), {"campaign": campaign_id, "step": "budget",
                                                                          "budget": budget}, at=now))
            append(tx, events)
            return True

    def reschedule_campaign(self, campaign_id: str, start_at: float, now: float) -> int | None:
        """Move a campaign that has not started to ``start_at``: its start and every job's ``not_before``; how
        many jobs moved, or None when one has left the queue already (or there is no such campaign)."""
        with self._tx() as tx:
            row = tx.rows(f"SELECT phone_number_id FROM campaigns WHERE id = ?{self.LOCK}", (campaign_id,))
            if not row or tx.rows("SELECT 1 FROM jobs WHERE campaign = ? AND (state <> 'queued' OR attempts > 0) "
                                  "LIMIT 1", (campaign_id,)):
                return None
            tx.run("UPDATE campaigns SET start_at = ?, updated_at = ? WHERE id = ?", (start_at, now, campaign_id))
            moved = tx.run("UPDATE jobs SET not_before = ?, updated_at = ? WHERE campaign = ? AND state = 'queued'",
                           (start_at, now, campaign_id))
            append(tx, [NewEvent("campaign.progress", str(row[0][0]), {"campaign": campaign_id, "step": "rescheduled",
                                                                       "start_at": start_at, "jobs": moved}, at=now)])
            return moved

    def cancel_jobs(self, campaign_id: str, now: float) -> int:
        """Fail a cancelled campaign's jobs not yet sent (queued or held); the count."""
        with self._tx() as tx:
            rows = tx.rows("SELECT id, attempts FROM jobs WHERE campaign = ? AND state IN ('queued', 'held')",
                           (campaign_id,))
            if not rows:
                return 0
            test, params = self._in("id", [r[0] for r in rows])
            n = tx.run(f"UPDATE jobs SET state = 'failed', error_code = NULL, error_title = 'campaign cancelled', "
                       f"finished_at = ?, updated_at = ? WHERE {test} AND state IN ('queued', 'held')",
                       [now, now, *params])
            record_events(tx, [(int(r[0]), "failed", now, None, "campaign cancelled", int(r[1])) for r in rows])
            return n

    def held_counts(self, *, campaign: str | None = None, phone_number_id: str | None = None
                    ) -> dict[str, tuple[int, float | None]]:
        """Held jobs by reason: (count, earliest time to look again)."""
        where: list[str] = ["state = 'held'"]
        params: list[Any] = []
        for column, value in (("campaign", campaign), ("phone_number_id", phone_number_id)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT hold_reason, count(*), min(hold_until) FROM jobs WHERE {' AND '.join(where)} "
                           "GROUP BY hold_reason", params)
        return {str(r[0]): (int(r[1]), float(r[2]) if r[2] is not None else None) for r in rows}

    # --- costs ------------------------------------------------------------------------------------
    def record_pricing(self, wamid: str, pricing: dict[str, Any], cost: float) -> bool:
        """Store a status's ``pricing`` and the charge it implies with the job that has ``wamid``."""
        with self._tx() as tx:
            return tx.run(_PRICING, (_dumps(pricing), cost, wamid)) > 0

    def record_prices(self, rows: Sequence[tuple[str, dict[str, Any], float]]) -> None:
        """:meth:`record_pricing` for each (wamid, pricing, cost), in one statement: a wamid's last row, and
        only where it changes the job (a message's sent, delivered and read statuses carry one pricing: the
        job's row is rewritten once, not three times)."""
        latest = {wamid: (_dumps(pricing), cost) for wamid, pricing, cost in rows}  # the last write won
        if latest:
            with self._tx() as tx:
                tx.many(_PRICING_CHANGED, [(text, cost, wamid, text, cost) for wamid, (text, cost) in latest.items()])

    def cost_rollup(self, group_by: str, *, phone_number_id: str | None = None, campaign: str | None = None,
                    since: float | None = None, until: float | None = None, limit: int = 1000) -> list[CostRow]:
        """Cost per ``group_by`` (one of :data:`GROUP_BY`) over accepted jobs; actual cost and estimate."""
        if group_by not in GROUP_BY:
            raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
        where: list[str] = ["accepted_at IS NOT NULL"]
        params: list[Any] = []
        for column, value in (("phone_number_id", phone_number_id), ("campaign", campaign)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("accepted_at >= ?")
            params.append(since)
        if until is not None:
            where.append("accepted_at < ?")
            params.append(until)
        # A day is the UTC day of acceptance (an integer day number, turned into a date by the caller).
        key = _GROUP_SQL.get(group_by, "CAST(accepted_at / 86400 AS INTEGER)")
        with self._tx(write=False) as tx:
            rows = tx.rows(f"SELECT {key} AS k, count(*), sum(CASE WHEN cost > 0 THEN 1 ELSE 0 END), "
                           f"sum(COALESCE(cost, 0)), sum(COALESCE(est_price, 0)) FROM jobs "
                           f"WHERE {' AND '.join(where)} GROUP BY k ORDER BY k LIMIT ?", [*params, int(limit)])
        return [CostRow(str(r[0]), int(r[1]), int(r[2] or 0), float(r[3] or 0.0), float(r[4] or 0.0))
                for r in rows]

    def export_rows(self, campaign_id: str, *, batch: int = 1000) -> Iterator[tuple[Any, ...]]:
        """Per recipient: (recipient, state, wamid, code, detail, cost, est_price, hold_reason), in id order."""
        after = 0
        while True:
            with self._tx(write=False) as tx:
                rows = tx.rows("SELECT id, recipient, state, wamid, error_code, "
                               "COALESCE(error_details, error_title), cost, est_price, hold_reason FROM jobs "
                               "WHERE campaign = ? AND id > ? ORDER BY id LIMIT ?", (campaign_id, after, batch))
            yield from (r[1:] for r in rows)
            if len(rows) < batch:
                return
            after = int(rows[-1][0])

    def recipient_states(self, phone_number_id: str, wa_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        """Per customer: (last_inbound, marketing_opt_out) for a dry run."""
        if not wa_ids:
            return {}
        # By any id the jobs use (phone or BSUID): the person's record, wherever it was learnt.
        found = cast(Any, self).contacts(phone_number_id, wa_ids)
        return {k: (c.last_inbound, c.marketing_opt_out) for k, c in found.items()}


_PRICING = "UPDATE jobs SET pricing = ?, cost = ? WHERE wamid = ?"
#: :data:`_PRICING` where it changes something (the same pricing again leaves the row as it is).
_PRICING_CHANGED = f"{_PRICING} AND (pricing IS NULL OR pricing <> ? OR cost IS NULL OR cost <> ?)"


def _dumps(pricing: dict[str, Any]) -> str:
    return dumps(pricing, sort_keys=True)
