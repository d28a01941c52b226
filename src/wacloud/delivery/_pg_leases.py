"""The worker's hot statements on PostgreSQL: the claim (pick and lock, then lease) and the in-flight mark.

They do what :class:`~wacloud.delivery._sql_leases.LeasesSql` does one step at a time on SQLite, in fewer
statements (each a round trip to the server, and a wake-up of its backend):

- :data:`PICK` reads the pause, locks up to ``limit`` ready jobs (the priority lane first), finds each
  recipient's pair-bucket key (its contact, else the address) and creates-and-locks the buckets, in key
  order, returning their TATs. The buckets go through ``INSERT ... ON CONFLICT DO UPDATE``: each key is
  one probe of the primary key whatever the planner thinks of the table (a young ``pair_buckets``
  whose statistics still say "empty" had the ``SELECT ... FOR UPDATE`` scan every bucket of the number
  and filter the recipients: 2-4 ms per 100 at 3,000 buckets, growing with every recipient ever paced),
  and a row updated by another worker meanwhile is returned as that worker committed it.
- :data:`LEASE` writes the new TATs the same way, pushes deferred jobs back and marks the granted ones
  claimed, each with the bucket time its token allows (a join with the arrays: one probe per id).
- :data:`MARK` is ``mark_sending`` with the pair-gap check: it locks the worker's jobs and their
  buckets (sorted, as the claim does), holds back a job whose bucket moved past its claim's allowance,
  marks the others ``sending`` and moves their buckets to the next token, in one statement that commits
  alone (the steps took six round trips); a held job is written once (``queued``), not twice. Its few
  buckets are joined, not upserted (a row cannot be locked by an upsert and bumped in one statement),
  so that join is planned: right whenever the statistics are about current (autovacuum's), a scan of
  the buckets while they still describe an empty table (as the ``recipient = ANY`` lookup it replaces).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from wacloud.delivery._sql_base import Tx
from wacloud.delivery._sql_jobs import JOB_COLUMNS


def _key(phone: str, recipient: str) -> str:
    """SQL for a recipient's pair-bucket key: its contact (any id but a username), else the address itself
    (what ``_sql_contacts.pair_keys`` answers on SQLite)."""
    return (f"COALESCE((SELECT min(c.contact_id) FROM contact_ids c WHERE c.phone_number_id = {phone}\n"
            f"                          AND c.kind <> 'username' AND c.value = {recipient}), {recipient})")


#: (phone, now, limit): rows of (job id, recipient, bucket key, bucket TAT), in claim order.
_PICK = f"""
WITH paused AS MATERIALIZED (
    SELECT 1 FROM rate_buckets WHERE phone_number_id = %(phone)s AND paused_until > %(now)s
), lane AS MATERIALIZED (
    SELECT id, recipient, not_before FROM jobs
    WHERE phone_number_id = %(phone)s AND state = 'queued' AND priority > 0 AND not_before <= %(now)s
      AND NOT EXISTS (SELECT 1 FROM paused)
    ORDER BY not_before, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), rest AS MATERIALIZED (
    SELECT id, recipient, not_before FROM jobs
    WHERE phone_number_id = %(phone)s AND state = 'queued' AND priority = 0 AND not_before <= %(now)s
      AND NOT EXISTS (SELECT 1 FROM paused)
    ORDER BY not_before, id LIMIT %(limit)s - (SELECT count(*) FROM lane) FOR UPDATE SKIP LOCKED
), picked AS MATERIALIZED (
    SELECT p.*, {_key('%(phone)s', 'p.recipient')} AS key
    FROM (SELECT 0 AS first, * FROM lane UNION ALL SELECT 1, * FROM rest) AS p
), buckets AS (
    INSERT INTO pair_buckets (phone_number_id, recipient, tat)
    SELECT %(phone)s::text, key, 0 FROM (SELECT DISTINCT key FROM picked) AS k ORDER BY key
    ON CONFLICT (phone_number_id, recipient) DO UPDATE SET tat = pair_buckets.tat
    RETURNING recipient, tat
)
SELECT p.id, p.recipient, p.key, b.tat FROM picked p JOIN buckets b ON b.recipient = p.key
ORDER BY p.first, p.not_before, p.id
"""

#: The granted jobs' new state, the buckets' new TATs and the deferred jobs' new times, in one statement.
_LEASE = f"""
WITH buckets AS (
    INSERT INTO pair_buckets (phone_number_id, recipient, tat)
    SELECT %(phone)s::text, k, t FROM unnest(%(keys)s::text[], %(tats)s::float8[]) AS v(k, t) ORDER BY k
    ON CONFLICT (phone_number_id, recipient) DO UPDATE SET tat = excluded.tat
), deferred AS (
    UPDATE jobs SET not_before = v.nb, updated_at = %(now)s
    FROM unnest(%(deferred)s::bigint[], %(nbs)s::float8[]) AS v(job, nb) WHERE jobs.id = v.job
)
UPDATE jobs SET state = 'claimed', lease_until = %(lease)s, worker = %(worker)s, updated_at = %(now)s,
    pair_until = v.until
FROM unnest(%(granted)s::bigint[], %(untils)s::float8[]) AS v(job, until) WHERE jobs.id = v.job
RETURNING {", ".join(f"jobs.{c.strip()}" for c in JOB_COLUMNS.split(","))}
"""

#: (ids, worker, now, next token, lease end): rows of (job id, held back), for the jobs still ours.
_MARK = f"""
WITH mine AS MATERIALIZED (
    SELECT id, phone_number_id, recipient, pair_until, state = 'claimed' AS fresh FROM jobs
    WHERE id = ANY(%(ids)s::bigint[]) AND worker = %(worker)s
      AND (state = 'claimed' OR (state = 'sending' AND updated_at = %(now)s))
    ORDER BY id FOR UPDATE
), keyed AS MATERIALIZED (
    SELECT m.*, {_key('m.phone_number_id', 'm.recipient')} AS key
    FROM mine m
), buckets AS MATERIALIZED (
    SELECT b.phone_number_id, b.recipient, b.tat
    FROM (SELECT DISTINCT phone_number_id, key FROM keyed) AS k
    JOIN pair_buckets b ON b.phone_number_id = k.phone_number_id AND b.recipient = k.key
    ORDER BY b.phone_number_id, b.recipient FOR UPDATE OF b
), decided AS MATERIALIZED (
    -- 1 ms of tolerance: a burst's allowance is a product, the bucket a running sum of epoch-sized doubles.
    SELECT k.id, k.phone_number_id, k.key, COALESCE(k.fresh AND b.tat > k.pair_until + 0.001, false) AS held
    FROM keyed k LEFT JOIN buckets b ON b.phone_number_id = k.phone_number_id AND b.recipient = k.key
), bumped AS (
    UPDATE pair_buckets b SET tat = GREATEST(b.tat, %(next)s)
    FROM (SELECT DISTINCT phone_number_id, key FROM decided WHERE NOT held) AS d
    WHERE b.phone_number_id = d.phone_number_id AND b.recipient = d.key
)
UPDATE jobs SET state = CASE WHEN d.held THEN 'queued' ELSE 'sending' END,
    lease_until = CASE WHEN d.held THEN NULL ELSE %(lease)s END,
    worker = CASE WHEN d.held THEN NULL ELSE jobs.worker END,
    not_before = CASE WHEN d.held THEN %(now)s ELSE jobs.not_before END,
    updated_at = %(now)s, pair_until = CASE WHEN jobs.state = 'claimed' THEN jobs.pair_until END
FROM decided d WHERE jobs.id = d.id
RETURNING jobs.id, d.held
"""


def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """A statement with named parameters as one with ``?`` ones, and the names in their order."""
    names = tuple(re.findall(r"%\((\w+)\)s", sql))
    return re.sub(r"%\(\w+\)s", "?", sql), names


PICK, PICK_ARGS = _positional(_PICK)
LEASE, LEASE_ARGS = _positional(_LEASE)
MARK, MARK_ARGS = _positional(_MARK)


def _ordered(names: Sequence[str], values: dict[str, Any]) -> list[Any]:
    return [values[n] for n in names]


def pick(tx: Tx, phone_number_id: str, now: float, limit: int) -> list[tuple[Any, ...]]:
    """Lock up to ``limit`` ready jobs and their recipients' pair buckets: (id, recipient, key, TAT) each."""
    return tx.rows(PICK, _ordered(PICK_ARGS, {"phone": phone_number_id, "now": now, "limit": limit}))


def lease(tx: Tx, phone_number_id: str, now: float, *, lease_until: float, worker: str,
          granted: Sequence[tuple[int, float]], tats: Sequence[tuple[str, float]],
          deferred: Sequence[tuple[float, int]]) -> list[tuple[Any, ...]]:
    """Claim ``granted`` (id, pair allowance), set ``tats`` (key, TAT) and defer ``deferred`` (when, id);
    returns the claimed jobs' rows (:data:`JOB_COLUMNS`)."""
    return tx.rows(LEASE, _ordered(LEASE_ARGS, {
        "phone": phone_number_id, "now": now, "lease": lease_until, "worker": worker,
        "keys": [k for k, _ in tats], "tats": [t for _, t in tats],
        "deferred": [j for _, j in deferred], "nbs": [w for w, _ in deferred],
        "granted": [j for j, _ in granted], "untils": [u for _, u in granted],
    }))


def mark(tx: Tx, ids: Sequence[int], now: float, *, lease_until: float, worker: str, next_token: float) -> list[str]:
    """Mark this worker's claimed jobs ``ids`` sending, holding back those inside their recipient's pair gap;
    returns the ids marked (a job already ``sending`` at this very ``now`` counts: the same call retried)."""
    rows = tx.rows(MARK, _ordered(MARK_ARGS, {"ids": list(ids), "worker": worker, "now": now, "next": next_token,
                                              "lease": lease_until}))
    return [str(job_id) for job_id, held in rows if not held]
