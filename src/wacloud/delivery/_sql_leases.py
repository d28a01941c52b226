"""The worker's side of the jobs table: claim, mark in flight, settle, release, recover."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import wacloud.delivery._pg_leases as _pg_leases
import wacloud.delivery.pacing as pacing
import wacloud.delivery.recovery as recovery
from wacloud.delivery._job_events import JobFacts
from wacloud.delivery._sql_base import SqlBase, Tx, int_ids
from wacloud.delivery._sql_contacts import InFn, pair_keys
from wacloud.delivery._sql_jobs import JOB_COLUMNS, EventRow, job_from_row, record_events
from wacloud.delivery._sql_statuses import EARLY_COLUMNS, early_from_row
from wacloud.delivery.model import (
    EarlyStatus,
    InFlightPolicy,
    Job,
    JobState,
    Outcome,
    Recovery,
)
from wacloud.delivery.store import StoreError

_COUNTERS = frozenset({"failures", "throttles", "pair_retries"})



class LeasesSql(SqlBase):
    """The worker's side: claims, in-flight marks, outcomes, releases and lost-worker recovery."""

    def claim(self, phone_number_id: str, limit: int, now: float, *, lease_s: float, worker: str,
              pair_interval_s: float, pair_burst: int) -> list[Job]:
        """Lease up to ``limit`` ready jobs whose recipient has a pair token; defer the others."""
        if limit <= 0:
            return []
        with self._tx() as tx:
            if self.ARRAYS:  # two statements on PostgreSQL (_pg_leases), the same reads and writes
                picked = _pg_leases.pick(tx, phone_number_id, now, limit)
                candidates = [(int(r[0]), str(r[1])) for r in picked]
                keys = {str(r[1]): str(r[2]) for r in picked}
                tats = {str(r[2]): float(r[3]) for r in picked}
            else:
                candidates = self._candidates(tx, phone_number_id, now, limit)
                # One bucket per person: a customer reached by phone and by BSUID is paced once.
                keys = pair_keys(tx, self._in, phone_number_id, sorted({r for _, r in candidates}))
                tats = self._pair_tats(tx, phone_number_id, sorted(set(keys.values())))
            if not candidates:
                return []
            granted: list[int] = []
            allowed: list[float] = []  # per granted job: the bucket TAT its token allows at its send
            deferred: list[tuple[float, int]] = []
            changed: dict[str, float] = {}
            for job_id, recipient in candidates:
                key = keys[recipient]
                ok, value = pacing.pair_take(tats.get(key), now, pair_interval_s, pair_burst)
                if ok:
                    tats[key] = changed[key] = value
                    granted.append(job_id)
                    allowed.append(value + (pair_burst - 1) * pair_interval_s)
                else:
                    # Spread the recipient's other jobs one interval apart so they do not all wake at once.
                    deferred.append((value, job_id))
                    tats[key] += pair_interval_s
            if self.ARRAYS:
                rows = _pg_leases.lease(tx, phone_number_id, now, lease_until=now + lease_s, worker=worker,
                                       granted=list(zip(granted, allowed, strict=True)),
                                       tats=sorted(changed.items()), deferred=deferred)
            else:
                rows = self._lease(tx, phone_number_id, now, lease_s, worker, granted, allowed, changed, deferred)
        jobs = [job_from_row(r) for r in rows]
        order = {job_id: i for i, job_id in enumerate(granted)}
        jobs.sort(key=lambda j: order[int(j.id)])
        return jobs

    def _candidates(self, tx: Tx, phone_number_id: str, now: float, limit: int) -> list[tuple[int, str]]:
        """Lock up to ``limit`` ready jobs, the priority lane first: (id, recipient); none while paused."""
        pause = tx.rows("SELECT paused_until FROM rate_buckets WHERE phone_number_id = ?", (phone_number_id,))
        if pause and pause[0][0] is not None and pause[0][0] > now:
            return []
        # The priority lane first, then the rest (each query reads its own partial index).
        candidates = tx.rows(
            "SELECT id, recipient FROM jobs WHERE phone_number_id = ? AND state = 'queued' "
            f"AND priority > 0 AND not_before <= ? ORDER BY not_before, id LIMIT ?{self.CLAIM_LOCK}",
            (phone_number_id, now, limit),
        )
        if len(candidates) < limit:
            candidates += tx.rows(
                "SELECT id, recipient FROM jobs WHERE phone_number_id = ? AND state = 'queued' "
                f"AND not_before <= ? AND priority = 0 ORDER BY not_before, id LIMIT ?{self.CLAIM_LOCK}",
                (phone_number_id, now, limit - len(candidates)),
            )
        return [(int(i), str(r)) for i, r in candidates]

    def _lease(self, tx: Tx, phone_number_id: str, now: float, lease_s: float, worker: str, granted: list[int],
               allowed: list[float], changed: dict[str, float], deferred: list[tuple[float, int]]) -> list[Any]:
        """Claim's writes on SQLite, a statement per row (no round trips there): TATs, deferred jobs, granted jobs."""
        if changed:
            self._set_pair_tats(tx, phone_number_id, sorted(changed.items()), keep_later=False)
        tx.many("UPDATE jobs SET not_before = ?, updated_at = ? WHERE id = ?",
                [(when, now, job_id) for when, job_id in deferred])
        # One statement per allowance: with a burst of 1 every granted job's is now + the interval.
        by_until: dict[float, list[int]] = {}
        for job_id, until in zip(granted, allowed, strict=True):
            by_until.setdefault(until, []).append(job_id)
        rows: list[Any] = []
        for until, group in by_until.items():
            test, params = self._in("id", group)
            rows += tx.rows(
                f"UPDATE jobs SET state = 'claimed', lease_until = ?, worker = ?, updated_at = ?, pair_until = ? "
                f"WHERE {test} RETURNING {JOB_COLUMNS}",
                [now + lease_s, worker, now, until, *params],
            )
        return rows

    def _pair_tats(self, tx: Tx, phone_number_id: str, recipients: list[str]) -> dict[str, float]:
        """Lock (creating them) the recipients' pair buckets; returns their TATs (absent: never used)."""
        # A new bucket starts at TAT 0 (the epoch): far in the past, so it is full.
        tx.many("INSERT INTO pair_buckets (phone_number_id, recipient, tat) VALUES (?, ?, 0) "
                "ON CONFLICT (phone_number_id, recipient) DO NOTHING",
                [(phone_number_id, r) for r in recipients])
        test, params = self._in("recipient", recipients)
        rows = tx.rows(f"SELECT recipient, tat FROM pair_buckets WHERE phone_number_id = ? AND {test} "
                       f"ORDER BY recipient{self.LOCK}", [phone_number_id, *params])
        return {r: float(t) for r, t in rows}

    def _set_pair_tats(self, tx: Tx, phone_number_id: str, tats: list[tuple[str, float]], *,
                       keep_later: bool) -> None:
        """Set the pair buckets of one number (rows already locked by the caller, or ``keep_later``:
        never move a TAT back). ``tats``: (recipient, tat), sorted by recipient."""
        if self.ARRAYS:
            # ``recipient = ANY`` reads the primary key; a join with unnest() was planned as a scan of
            # the whole table (it grows with every recipient ever paced).
            value = "(?::float8[])[array_position(?::text[], recipient)]"
            new_tat = f"{self.GREATEST}(tat, {value})" if keep_later else value
            names = [r for r, _ in tats]
            tx.run(f"UPDATE pair_buckets SET tat = {new_tat} WHERE phone_number_id = ? AND recipient = ANY(?)",
                   ([t for _, t in tats], names, phone_number_id, names))
            return
        value = f"{self.GREATEST}(tat, ?)" if keep_later else "?"
        tx.many(f"UPDATE pair_buckets SET tat = {value} WHERE phone_number_id = ? AND recipient = ?",
                [(tat, phone_number_id, r) for r, tat in tats])

    def _bump_pairs(self, tx: Tx, bumps: list[tuple[str, str, float]]) -> None:
        """Move pair buckets forward to at least a TAT: (phone_number_id, recipient, tat), sorted."""
        if not bumps:
            return
        if not self.ARRAYS:
            tx.many(f"UPDATE pair_buckets SET tat = {self.GREATEST}(tat, ?) "
                    "WHERE phone_number_id = ? AND recipient = ?", [(t, p, r) for p, r, t in bumps])
            return
        by_phone: dict[str, list[tuple[str, float]]] = {}
        for p, r, t in bumps:
            by_phone.setdefault(p, []).append((r, t))
        for phone, tats in sorted(by_phone.items()):
            self._lock_pairs(tx, phone, [r for r, _ in tats])
            self._set_pair_tats(tx, phone, tats, keep_later=True)

    def _lock_pairs(self, tx: Tx, phone_number_id: str, recipients: list[str]) -> dict[str, float]:
        """Lock existing pair buckets of one number (``recipients`` sorted); returns their TATs."""
        # An UPDATE ... FROM locks rows in the join's order, not ours: lock them sorted first
        # (the order claim uses), so two workers never wait on each other's rows in a cycle.
        # Not claim's statement text: PostgreSQL may keep one generic plan per prepared statement, and
        # claim's hundreds of recipients would give these few a scan of every bucket.
        test, params = self._in("recipient", recipients)
        rows = tx.rows(f"SELECT recipient, tat FROM pair_buckets WHERE {test} AND phone_number_id = ? "
                       f"ORDER BY recipient{self.LOCK}", [*params, phone_number_id])
        return {str(r): float(t) for r, t in rows}

    def mark_sending(self, job_ids: Sequence[str], now: float, *, lease_s: float, worker: str,
                     pair_interval_s: float | None = None) -> list[str]:
        """Mark claimed jobs as in flight just before their call; returns the ids still ours.

        ``pair_interval_s``: the recipients' next pair token is no sooner than that after ``now``. A job
        whose recipient's pair bucket other sends moved past what its claim's token allows (its send
        came late, after the next job's claim or a later answer) is not sent: it goes back to the queue,
        and its next claim waits for the recipient's next token.
        """
        ids = int_ids(job_ids)
        if not ids:
            return []
        if pair_interval_s is None:
            with self._one() as tx:
                return [str(r[0]) for r in self._to_sending(tx, ids, now, lease_s, worker)]
        if self.ARRAYS:  # one statement on PostgreSQL (_pg_leases)
            with self._one() as tx:
                return _pg_leases.mark(tx, ids, now, lease_until=now + lease_s, worker=worker,
                                       next_token=now + pair_interval_s)
        with self._tx() as tx:
            rows = self._to_sending(tx, ids, now, lease_s, worker)
            if not rows:
                return []
            keys = _pair_keys_of(tx, self._in, [(str(r[1]), str(r[2])) for r in rows])
            by_phone: dict[str, set[str]] = {}
            for r in rows:
                by_phone.setdefault(str(r[1]), set()).add(keys[(str(r[1]), str(r[2]))])
            tats: dict[tuple[str, str], float] = {}
            for phone, recipients in sorted(by_phone.items()):  # sorted: the lock order claim uses
                tats.update(((phone, k), t) for k, t in self._lock_pairs(tx, phone, sorted(recipients)).items())
            go: list[tuple[Any, ...]] = []
            held: list[int] = []
            for r in rows:
                tat = tats.get((str(r[1]), keys[(str(r[1]), str(r[2]))]))
                # r[3]: the claim's allowance (None for a retried call: its bump is its own). 1 ms of
                # tolerance: a burst's allowance is a product, the bucket a running sum of epoch-sized
                # doubles (they may differ in the last bits).
                if tat is not None and r[3] is not None and tat > float(r[3]) + 1e-3:
                    held.append(int(r[0]))
                else:
                    go.append(r)
            if held:
                # Claimed again at once: the claim defers it to the recipient's next token.
                test, params = self._in("id", sorted(held))
                tx.run("UPDATE jobs SET state = 'queued', not_before = ?, lease_until = NULL, worker = NULL, "
                       f"updated_at = ? WHERE {test}", [now, now, *params])
            # The claim took the pair token, but the send can come well after it (a full lookahead of
            # slots, a pause): Meta measures the gap between sends, so the next token counts from this
            # one. The buckets are locked above.
            bumps: dict[str, set[str]] = {}
            for r in go:
                bumps.setdefault(str(r[1]), set()).add(keys[(str(r[1]), str(r[2]))])
            for phone, recipients in sorted(bumps.items()):
                self._set_pair_tats(tx, phone, [(k, now + pair_interval_s) for k in sorted(recipients)],
                                    keep_later=True)
        return [str(r[0]) for r in go]

    def _to_sending(self, tx: Tx, ids: list[int], now: float, lease_s: float, worker: str) -> list[tuple[Any, ...]]:
        """Mark this worker's claimed jobs ``ids`` as sending; returns (id, number, recipient, pair_until) of
        each, pair_until None unless it was claimed. A job 'sending' at this very ``now`` by this worker
        counts too: this same call retried after its commit's answer was lost (db_retry passes the same
        arguments); its token was already checked."""
        test, params = self._in("id", ids)
        # SET reads the row as it was: pair_until survives only where the state was 'claimed'.
        return tx.rows(
            "UPDATE jobs SET state = 'sending', lease_until = ?, updated_at = ?, "
            f"pair_until = CASE WHEN state = 'claimed' THEN pair_until END WHERE {test} "
            "AND worker = ? AND (state = 'claimed' OR (state = 'sending' AND updated_at = ?)) "
            "RETURNING id, phone_number_id, recipient, pair_until",
            [now + lease_s, now, *params, worker, now],
        )

    def settle(self, outcomes: Sequence[Outcome]) -> list[EarlyStatus]:
        """Write outcomes; returns status webhooks that had arrived early for the newly accepted wamids."""
        early: list[EarlyStatus] = []
        pair_tats: dict[int, float] = {}
        events: list[EventRow] = []
        known: dict[int, JobFacts] = {}  # the settled jobs' (number, recipient, campaign), for their events
        with self._tx() as tx:
            rest = list(outcomes)
            # Every accepted wamid's lock first, sorted (the order apply_statuses takes them in), before
            # any job row: a status for one of them waits for this commit, never the other way round.
            self._lock_wamids(tx, sorted({str(o.wamid) for o in rest if o.state is JobState.ACCEPTED and o.wamid}))
            if self.ARRAYS:
                rest = self._settle_accepted(tx, rest, early, pair_tats, events, known)
            for o in rest:
                ids = int_ids([o.job_id])
                if not ids:
                    continue
                sets = ["state = ?", "updated_at = ?", "lease_until = NULL", "worker = NULL"]
                params: list[Any] = [JobState(o.state).value, o.at]
                if o.count_attempt:
                    sets.append("attempts = attempts + 1")
                if o.counter is not None:
                    if o.counter not in _COUNTERS:
                        raise StoreError(f"unknown counter {o.counter!r}")
                    sets.append(f"{o.counter} = {o.counter} + 1")
                if o.body is not None:
                    sets += ["body = ?", "used_fallback = 1"]
                    params.append(json.dumps(o.body, separators=(",", ":")))
                if o.state is JobState.ACCEPTED:
                    sets += ["wamid = ?", "accepted_at = ?", "error_code = NULL", "error_title = NULL",
                             "error_details = NULL", "fbtrace_id = NULL"]
                    params += [o.wamid, o.at]
                else:
                    sets += ["error_code = ?", "error_title = ?", "error_details = ?", "fbtrace_id = ?"]
                    params += [o.error_code, o.error_title, o.error_details, o.fbtrace_id]
                if o.state is JobState.QUEUED:
                    sets.append("not_before = ?")
                    params.append(o.not_before if o.not_before is not None else o.at)
                elif o.state is not JobState.ACCEPTED:
                    sets.append("finished_at = ?")
                    params.append(o.at)
                expect = sorted(s.value for s in o.expect)
                test, expect_params = self._in("state", expect)
                if o.worker is not None and o.state is not JobState.ACCEPTED:
                    # A late answer must not touch a job another worker claimed after the lease expired.
                    test += " AND (worker = ? OR state = 'uncertain')"
                    expect_params.append(o.worker)
                landed = tx.rows(f"UPDATE jobs SET {', '.join(sets)} WHERE id = ? AND {test} "
                                 "RETURNING attempts, phone_number_id, recipient, campaign",
                                 [*params, ids[0], *expect_params])
                changed = bool(landed)
                if changed:
                    attempt = int(landed[0][0])
                    known[ids[0]] = (str(landed[0][1]), str(landed[0][2]), landed[0][3])
                    events += [(ids[0], step.state, o.at, step.code, step.detail, attempt) for step in o.steps]
                    failed = o.state is not JobState.ACCEPTED
                    events.append((ids[0], JobState(o.state).value, o.at, o.error_code if failed else None,
                                   (o.error_details or o.error_title) if failed else None, attempt))
                if changed and o.pair_tat is not None:
                    pair_tats[ids[0]] = o.pair_tat
                if changed and o.state is JobState.ACCEPTED and o.wamid:
                    # Read, not deleted: each is forgotten once applied, so a crash before the
                    # replay leaves it for the next run's sweep (early_for_jobs).
                    rows = tx.rows(f"SELECT {EARLY_COLUMNS} FROM early_statuses e WHERE wamid = ?", (o.wamid,))
                    early += [early_from_row(o.wamid, r) for r in rows]
            if pair_tats:
                test, params = self._in("id", sorted(pair_tats))
                owners = tx.rows(f"SELECT id, phone_number_id, recipient FROM jobs WHERE {test}", params)
                bumps: dict[tuple[str, str], float] = {}
                keys = _pair_keys_of(tx, self._in, [(str(p), str(r)) for _, p, r in owners])
                for job_id, phone, recipient in owners:
                    key = (str(phone), keys[(str(phone), str(recipient))])
                    bumps[key] = max(bumps.get(key, 0.0), pair_tats[int(job_id)])
                # Sorted: the lock order claim and mark_sending use (no deadlock between workers).
                self._bump_pairs(tx, [(p, r, tat) for (p, r), tat in sorted(bumps.items())])
            # Last: it takes the event log's lock, held to the commit (after this transaction's row locks).
            record_events(tx, events, known)
        return early

    def _settle_accepted(self, tx: Tx, outcomes: list[Outcome], early: list[EarlyStatus],
                         pair_tats: dict[int, float], events: list[EventRow],
                         known: dict[int, JobFacts]) -> list[Outcome]:
        """Settle the plain accepted outcomes (the bulk of a campaign) set-based; returns the others.

        The same writes as :meth:`settle`'s per-outcome path, in a fixed number of statements: one UPDATE
        per group of (counted attempt, expected states), one read of early statuses.
        """
        groups: dict[tuple[bool, tuple[str, ...]], list[tuple[int, Outcome]]] = {}
        rest: list[Outcome] = []
        for o in outcomes:
            ids = int_ids([o.job_id])
            if (o.state is not JobState.ACCEPTED or not o.wamid or o.body is not None or o.counter is not None
                    or not ids):
                rest.append(o)
                continue
            key = (o.count_attempt, tuple(sorted(JobState(s).value for s in o.expect)))
            groups.setdefault(key, []).append((ids[0], o))
        if not groups:
            return rest
        plain = [pair for group in groups.values() for pair in group]  # their wamids are locked (settle)
        attempts: dict[int, int] = {}
        for (counted, expect), group in groups.items():
            landed = tx.rows(
                "UPDATE jobs SET state = 'accepted', updated_at = v.at, lease_until = NULL, worker = NULL, "
                "attempts = attempts + ?, wamid = v.wamid, accepted_at = v.at, error_code = NULL, "
                "error_title = NULL, error_details = NULL, fbtrace_id = NULL "
                "FROM unnest(?::bigint[], ?::text[], ?::float8[]) AS v(id, wamid, at) "
                "WHERE jobs.id = v.id AND jobs.state = ANY(?) "
                "RETURNING jobs.id, jobs.attempts, jobs.phone_number_id, jobs.recipient, jobs.campaign",
                (1 if counted else 0, [i for i, _ in group], [o.wamid for _, o in group],
                 [o.at for _, o in group], list(expect)))
            for job_id, attempt, phone, recipient, campaign in landed:
                attempts[int(job_id)] = int(attempt)
                known[int(job_id)] = (str(phone), str(recipient), campaign)
        done = [(i, o) for i, o in plain if i in attempts]
        for job_id, o in done:
            events.extend((job_id, step.state, o.at, step.code, step.detail, attempts[job_id]) for step in o.steps)
            events.append((job_id, JobState.ACCEPTED.value, o.at, None, None, attempts[job_id]))
            if o.pair_tat is not None:
                pair_tats[job_id] = o.pair_tat
        if done:
            found: dict[str, list[tuple[Any, ...]]] = {}
            for row in tx.rows(f"SELECT e.wamid, {EARLY_COLUMNS} FROM early_statuses e WHERE wamid = ANY(?)",
                               ([str(o.wamid) for _, o in done],)):
                found.setdefault(str(row[0]), []).append(row[1:])
            for _, o in done:
                early += [early_from_row(str(o.wamid), r) for r in found.pop(str(o.wamid), [])]
        return rest

    def release(self, job_ids: Sequence[str], *, worker: str, now: float) -> int:
        """Give claimed (not in flight) jobs back to the queue."""
        ids = int_ids(job_ids)
        if not ids:
            return 0
        test, params = self._in("id", ids)
        with self._tx() as tx:
            return tx.run("UPDATE jobs SET state = 'queued', lease_until = NULL, worker = NULL, "
                          f"updated_at = ? WHERE {test} AND state = 'claimed' AND worker = ?",
                          [now, *params, worker])

    def recover(self, phone_number_id: str, now: float, policy: InFlightPolicy) -> Recovery:
        """Sweep expired leases: claims go back to the queue; in-flight calls become uncertain or resend."""
        with self._tx() as tx:
            return recovery.sweep(tx, phone_number_id, now, InFlightPolicy(policy))

    def lease_holders(self, phone_number_id: str, now: float) -> list[tuple[str, int, float]]:
        """(worker, jobs held, latest lease end) of the unexpired leases on a number."""
        with self._tx(write=False) as tx:
            return recovery.holders(tx, phone_number_id, now)

    def expire_leases(self, phone_number_id: str, workers: Sequence[str], now: float, states: Sequence[str]) -> int:
        """End now the leases ``workers`` (known to be gone, at least one) hold on jobs in ``states``."""
        with self._tx() as tx:
            return recovery.expire(tx, phone_number_id, self._in("worker", list(workers)), now, states)

    def recovered(self, *, campaign: str | None = None, phone_number_id: str | None = None) -> dict[str, int]:
        """Jobs taken back from lost workers, by kind (``released``, ``uncertain``, ``resent``)."""
        with self._tx(write=False) as tx:
            return recovery.counts(tx, campaign, phone_number_id)


def _pair_keys_of(tx: Tx, in_: InFn, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The pair-bucket key (the contact, else the address) of each (number, recipient)."""
    by_phone: dict[str, set[str]] = {}
    for phone, recipient in pairs:
        by_phone.setdefault(phone, set()).add(recipient)
    out: dict[tuple[str, str], str] = {}
    for phone, recipients in sorted(by_phone.items()):
        for recipient, key in pair_keys(tx, in_, phone, sorted(recipients)).items():
            out[(phone, recipient)] = key
    return out
