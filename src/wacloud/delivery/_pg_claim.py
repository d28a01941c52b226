"""The claim's two statements on PostgreSQL: pick and lock, then lease.

The claim is the same on both stores (see :meth:`LeasesSql.claim`); on PostgreSQL its reads and writes
go as two statements instead of seven, for fewer round trips, and with plans that do not depend on the
tables' statistics:

- :data:`PICK` reads the pause, locks up to ``limit`` ready jobs (the priority lane first), finds each
  recipient's pair-bucket key (its contact, else the address) and creates-and-locks the buckets, in key
  order, returning their TATs. The buckets go through ``INSERT ... ON CONFLICT DO UPDATE``: each key is
  one probe of the primary key whatever the planner thinks of the table (a young ``pair_buckets``
  whose statistics still say "empty" had the ``SELECT ... FOR UPDATE`` scan every bucket of the number
  and filter the recipients: 2-4 ms per 100 at 3,000 buckets, growing with every recipient ever paced),
  and a row updated by another worker meanwhile is returned as that worker committed it.
- :data:`LEASE` writes the new TATs the same way, pushes deferred jobs back and marks the granted ones
  claimed, each with the bucket time its token allows (a join with the arrays: one probe per id).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from wacloud.delivery._sql_base import Tx
from wacloud.delivery._sql_jobs import JOB_COLUMNS

#: (phone, now, limit): rows of (job id, recipient, bucket key, bucket TAT), in claim order.
_PICK = """
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
    SELECT p.*, COALESCE((SELECT min(c.contact_id) FROM contact_ids c WHERE c.phone_number_id = %(phone)s
                          AND c.kind <> 'username' AND c.value = p.recipient), p.recipient) AS key
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


def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """A statement with named parameters as one with ``?`` ones, and the names in their order."""
    names = tuple(re.findall(r"%\((\w+)\)s", sql))
    return re.sub(r"%\(\w+\)s", "?", sql), names


PICK, PICK_ARGS = _positional(_PICK)
LEASE, LEASE_ARGS = _positional(_LEASE)


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
