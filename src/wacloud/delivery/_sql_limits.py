"""Limits: admitting claimed jobs (hold, fail or send), releasing holds, limit states, portfolio reach."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wacloud.delivery._sql_base import SqlBase, Tx, int_ids
from wacloud.delivery._sql_jobs import EventRow, record_events
from wacloud.delivery.holds import Admit, CampaignLimits, Cancel, Decide, Hold, LimitView, parse_tier, template_key
from wacloud.delivery.model import Job
from wacloud.limits import PORTFOLIO_WINDOW_S, UPGRADED_MPS

#: States whose estimated price counts against a campaign's budget (admitted, maybe charged).
SPENDING_STATES = ("claimed", "sending", "accepted", "sent", "delivered", "read", "uncertain")


class LimitsSql(SqlBase):
    """The store's side of :mod:`wacloud.delivery.holds`."""

    def admit(self, phone_number_id: str, portfolio: str, jobs: Sequence[Job], now: float, *, worker: str,
              decide: Decide) -> list[Job]:
        """In one transaction: read the view, decide each job, hold or fail the refused; the admitted."""
        if not jobs:
            return []
        with self._tx() as tx:
            view = self._view(tx, phone_number_id, portfolio, jobs, now)
            admitted: list[Job] = []
            prices: list[tuple[float, int]] = []
            reach: list[tuple[str, str, float]] = []
            events: list[EventRow] = []
            for job in jobs:
                verdict = decide(job, view)
                jid = int(job.id)
                if isinstance(verdict, Admit):
                    admitted.append(job)
                    prices.append((verdict.price, jid))
                    if verdict.reach:
                        reach.append((portfolio, job.to, now))
                elif isinstance(verdict, Hold):
                    n = tx.run("UPDATE jobs SET state = 'held', hold_reason = ?, hold_key = ?, hold_until = ?, "
                               "lease_until = NULL, worker = NULL, updated_at = ? "
                               "WHERE id = ? AND state = 'claimed' AND worker = ?",
                               (verdict.reason.value, verdict.key, verdict.until, now, jid, worker))
                    if n:
                        events.append((jid, "held", now, None, f"{verdict.reason.value}: {verdict.key}",
                                       job.attempts))
                elif isinstance(verdict, Cancel):
                    n = tx.run("UPDATE jobs SET state = 'failed', error_code = ?, error_title = ?, "
                               "finished_at = ?, lease_until = NULL, worker = NULL, updated_at = ? "
                               "WHERE id = ? AND state = 'claimed' AND worker = ?",
                               (verdict.code, verdict.detail, now, now, jid, worker))
                    if n:
                        events.append((jid, "failed", now, verdict.code, verdict.detail, job.attempts))
            self._record_admitted(tx, prices, reach)
            record_events(tx, events)
        return admitted

    def _record_admitted(self, tx: Tx, prices: list[tuple[float, int]], reach: list[tuple[str, str, float]]) -> None:
        """Store the admitted jobs' estimated prices and the customers they reach (one statement each where
        arrays can be parameters: a batch of 250 was 500 single-row statements, ~3x its claim's time)."""
        if not self.ARRAYS:
            if prices:
                tx.many("UPDATE jobs SET est_price = ? WHERE id = ?", prices)
            if reach:
                tx.many("INSERT INTO portfolio_reach (portfolio, wa_id, at) VALUES (?, ?, ?) "
                        "ON CONFLICT (portfolio, wa_id) DO UPDATE SET at = excluded.at", reach)
            return
        if prices:
            prices = sorted(prices, key=lambda p: p[1])  # rows locked in id order, as the other writers do
            tx.run("UPDATE jobs SET est_price = v.price FROM unnest(?::float8[], ?::bigint[]) AS v(price, id) "
                   "WHERE jobs.id = v.id", ([p for p, _ in prices], [i for _, i in prices]))
        if reach:
            # One row per customer (a statement may not update a row twice); sorted: one lock order.
            last = {(portfolio, wa_id): at for portfolio, wa_id, at in reach}
            rows = sorted(last.items())
            tx.run("INSERT INTO portfolio_reach (portfolio, wa_id, at) "
                   "SELECT * FROM unnest(?::text[], ?::text[], ?::float8[]) "
                   "ON CONFLICT (portfolio, wa_id) DO UPDATE SET at = excluded.at",
                   ([k[0] for k, _ in rows], [k[1] for k, _ in rows], [at for _, at in rows]))

    def _view(self, tx: Tx, phone: str, portfolio: str, jobs: Sequence[Job], now: float) -> LimitView:
        # The portfolio's tier row is the lock: admitting transactions of one portfolio queue on it, so
        # the count below cannot be read by two processes at once (SQLite: BEGIN IMMEDIATE already).
        tx.run("INSERT INTO limit_state (scope, key, value, until, updated_at) VALUES ('tier', ?, NULL, NULL, ?) "
               "ON CONFLICT (scope, key) DO NOTHING", (portfolio, now))
        tier_row = tx.rows(f"SELECT value FROM limit_state WHERE scope = 'tier' AND key = ?{self.LOCK}",
                           (portfolio,))
        since = now - PORTFOLIO_WINDOW_S
        count = tx.rows("SELECT count(*), min(at) FROM portfolio_reach WHERE portfolio = ? AND at > ?",
                        (portfolio, since))[0]
        view = LimitView(now=now, portfolio=portfolio, tier=parse_tier(tier_row[0][0] if tier_row else None),
                         reached=int(count[0]), oldest_reach=float(count[1]) if count[1] is not None else None)
        recipients = sorted({j.to for j in jobs})
        test, params = self._in("wa_id", recipients)
        view.recent = {r[0] for r in tx.rows(
            f"SELECT wa_id FROM portfolio_reach WHERE portfolio = ? AND at > ? AND {test}",
            [portfolio, since, *params])}
        # The window is the person's (identity: a phone and a BSUID of one customer share it).
        itest, iparams = self._in("i.value", recipients)
        view.last_inbound = {r[0]: (float(r[1]) if r[1] is not None else None) for r in tx.rows(
            "SELECT i.value, c.last_inbound FROM contact_ids i JOIN contacts c ON c.contact_id = i.contact_id "
            f"WHERE i.phone_number_id = ? AND i.kind <> 'username' AND {itest}", [phone, *iparams])}
        upgrade = self._limit_rows(tx, "upgrade", [phone])
        rate = self._limit_rows(tx, "mps", [phone]).get(phone)
        # A 131057 settled just after the upgrade's webhook can record "upgrading" after the webhook cleared
        # it (two writers, either order): the upgraded rate says the wait is over, whatever the order.
        done = rate is not None and rate[0] is not None and float(rate[0]) >= UPGRADED_MPS
        view.upgrading_until = upgrade[phone][1] if phone in upgrade and not done else None
        tkeys = sorted({k for k in (template_key(j.body) for j in jobs) if k})
        view.templates = {k: v for k, (v, _) in self._limit_rows(tx, "template", tkeys).items() if v}
        view.caps = {k: u for k, (_, u) in self._limit_rows(tx, "cap", recipients).items() if u is not None}
        view.campaigns = self._campaign_limits(tx, jobs)
        return view

    def _limit_rows(self, tx: Tx, scope: str, keys: Sequence[str]) -> dict[str, tuple[str | None, float | None]]:
        if not keys:
            return {}
        test, params = self._in("key", list(keys))
        return {r[0]: (r[1], float(r[2]) if r[2] is not None else None) for r in tx.rows(
            f"SELECT key, value, until FROM limit_state WHERE scope = ? AND {test}", [scope, *params])}

    def _campaign_limits(self, tx: Tx, jobs: Sequence[Job]) -> dict[str, CampaignLimits]:
        ids = sorted({j.campaign for j in jobs if j.campaign is not None})
        if not ids:
            return {}
        test, params = self._in("id", ids)
        out = {r[0]: CampaignLimits(r[1], float(r[2]) if r[2] is not None else None) for r in tx.rows(
            f"SELECT id, state, budget FROM campaigns WHERE {test}", params)}
        budgeted = sorted(k for k, c in out.items() if c.budget is not None)
        if budgeted:
            ctest, cparams = self._in("campaign", budgeted)
            itest, iparams = self._in("id", int_ids([j.id for j in jobs]))
            states = ", ".join(f"'{s}'" for s in SPENDING_STATES)
            # This batch's own jobs are left out: a job admitted before (then queued again) is re-decided.
            for cid, spent in tx.rows(
                    f"SELECT campaign, sum(COALESCE(cost, est_price)) FROM jobs WHERE {ctest} "
                    f"AND est_price IS NOT NULL AND state IN ({states}) AND NOT ({itest}) GROUP BY campaign",
                    [*cparams, *iparams]):
                out[cid].spent = float(spent or 0.0)
        return out

    def release_holds(self, phone_number_id: str, now: float) -> int:
        """Queue again the held jobs whose time to look again has come; how many."""
        with self._tx() as tx:
            rows = tx.rows("SELECT id, hold_reason, attempts FROM jobs WHERE phone_number_id = ? "
                           "AND state = 'held' AND hold_until <= ? ORDER BY hold_until LIMIT 2000",
                           (phone_number_id, now))
            if not rows:
                return 0
            test, params = self._in("id", [r[0] for r in rows])
            n = tx.run(f"UPDATE jobs SET state = 'queued', hold_reason = NULL, hold_key = NULL, "
                       f"hold_until = NULL, updated_at = ? WHERE {test} AND state = 'held'", [now, *params])
            record_events(tx, [(int(r[0]), "queued", now, None, f"resumed ({r[1]})", int(r[2])) for r in rows])
            # Reach older than two windows can never count again; nor are messages held that long still news.
            tx.run("DELETE FROM portfolio_reach WHERE at <= ?", (now - 2 * PORTFOLIO_WINDOW_S,))
            tx.run("DELETE FROM limit_state WHERE scope = 'held_message' AND updated_at <= ?",
                   (now - 2 * PORTFOLIO_WINDOW_S,))
            return n

    def wake_holds(self, reason: str, key: str | None, now: float) -> int:
        """Bring forward to ``now`` the holds for ``reason`` (about ``key``, or all): a limit changed."""
        sql = "UPDATE jobs SET hold_until = ? WHERE state = 'held' AND hold_reason = ?"
        params: list[Any] = [now, reason]
        if key is not None:
            sql += " AND hold_key = ?"
            params.append(key)
        with self._tx() as tx:
            return tx.run(sql, params)

    def set_limit(self, scope: str, key: str, value: str | None, until: float | None, now: float) -> None:
        """Record a limit state; ``value`` and ``until`` both None forgets it."""
        with self._tx() as tx:
            if value is None and until is None:
                tx.run("DELETE FROM limit_state WHERE scope = ? AND key = ?", (scope, key))
                return
            tx.run("INSERT INTO limit_state (scope, key, value, until, updated_at) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, until = excluded.until, "
                   "updated_at = excluded.updated_at", (scope, key, value, until, now))

    def limit(self, scope: str, key: str) -> tuple[str | None, float | None] | None:
        """A recorded limit state (value, until), None when none."""
        with self._tx(write=False) as tx:
            return self._limit_rows(tx, scope, [key]).get(key)

    def reach_count(self, portfolio: str, now: float) -> int:
        """Unique customers reached outside the window in the rolling 24 h (this store's sends)."""
        with self._tx(write=False) as tx:
            return int(tx.rows("SELECT count(*) FROM portfolio_reach WHERE portfolio = ? AND at > ?",
                               (portfolio, now - PORTFOLIO_WINDOW_S))[0][0])
