"""Scale: claim latency and memory as the outbox grows (10k, 100k, 1M queued jobs), SQLite and PostgreSQL.

    python -m benchmarks.scale [--sizes 10000 100000 1000000] [--stores sqlite postgres] [--rounds 30]

At each size the queue is topped up with a bulk ``INSERT ... SELECT`` straight into the ``jobs`` table
(the store's own ``add`` is measured separately on the first 10k, as enqueue throughput), then the
worker's cycle runs ``--rounds`` times on the real store API: ``claim(100)`` -> ``mark_sending`` ->
``settle(accepted)``. Reported per size: p50/p99 claim latency, per-job cost of the whole cycle, this
process's RSS, and the claim query's plan (it must use the ``jobs_ready`` partial index, which is what
keeps the claim flat). PostgreSQL runs in a scratch database on ``WACLOUD_TEST_PG_DSN``'s server
(start one with ``eval "$(bash .ci/postgres.sh)"``); it is skipped, and said so, without a DSN.
"""

from __future__ import annotations

import gc
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _harness as h

PHONE = h.SANDBOX_PHONE_ID
BODY = json.dumps(
    {
        "messaging_product": "whatsapp",
        "to": "+16505550000",
        "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_US"}},
    },
    separators=(",", ":"),
)
CLAIM_SQL = (
    "SELECT id, recipient FROM jobs WHERE phone_number_id = {p} AND state = 'queued' "
    "AND not_before <= {p} ORDER BY not_before, id LIMIT 100"
)


def pg_scratch_dsn(base: str, name: str = "wacloud_bench_scale") -> str:
    """A fresh, empty database on the server of ``base`` (dropped and recreated)."""
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


def bulk_fill(kind: str, target: Any, start: int, count: int, now: float) -> None:
    """Append ``count`` queued jobs (distinct recipients, due now) with one SQL statement."""
    if count <= 0:
        return
    if kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        conn.execute(
            "WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO jobs (phone_number_id, recipient, state, body, is_template, not_before, created_at, "
            "updated_at) SELECT ?, '+1' || (2000000000 + i), 'queued', ?, 1, ?, ?, ? FROM n",
            (start, start + count - 1, PHONE, BODY, now - 1, now, now),
        )
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO jobs (phone_number_id, recipient, state, body, is_template, not_before, "
                "created_at, updated_at) SELECT %s, '+1' || (2000000000 + i), 'queued', %s, 1, %s, %s, %s "
                "FROM generate_series(%s::bigint, %s::bigint) AS i",
                (PHONE, BODY, now - 1, now, now, start, start + count - 1),
            )
            conn.execute("ANALYZE jobs")
            conn.execute("ANALYZE pair_buckets")  # as autovacuum would on a live server (it grows per round)


def plan(kind: str, target: Any, now: float) -> str:
    """The claim query's plan, one line."""
    if kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        rows = conn.execute("EXPLAIN QUERY PLAN " + CLAIM_SQL.format(p="?"), (PHONE, now)).fetchall()
        conn.close()
        return "; ".join(str(r[-1]) for r in rows)
    import psycopg

    with psycopg.connect(target) as conn:
        rows = conn.execute("EXPLAIN " + CLAIM_SQL.format(p="%s"), (PHONE, now)).fetchall()
    return "; ".join(str(r[0]).strip() for r in rows[:3])


def wipe(kind: str, target: Any) -> None:
    """Delete every job (after the enqueue measurement, so the sizes below are exact)."""
    if kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        conn.execute("DELETE FROM jobs")
        conn.commit()
        conn.close()
        return
    import psycopg

    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("DELETE FROM jobs")
        conn.execute("VACUUM ANALYZE jobs")


def queued(kind: str, target: Any) -> int:
    """How many jobs are queued now."""
    sql = "SELECT count(*) FROM jobs WHERE state = 'queued'"
    if kind == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        n = int(conn.execute(sql).fetchone()[0])
        conn.close()
        return n
    import psycopg

    with psycopg.connect(target) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def backend_cpu(store: Any) -> Any:
    """A callable giving the CPU seconds of the store's PostgreSQL server backend (None for SQLite).

    SQLite runs inside this process, so its work is already in this process's CPU time; PostgreSQL's
    runs in the server backend serving the store's connection, which is on the same machine here.
    """
    conn = getattr(store, "_conn", None)
    if conn is None or not hasattr(conn, "info"):
        return None
    import psutil

    proc = psutil.Process(int(conn.info.backend_pid))

    def cpu() -> float:
        t = proc.cpu_times()
        return float(t.user + t.system)

    return cpu


def cycle(store: Any, rounds: int, now: float) -> dict[str, float]:
    """The worker's claim -> mark_sending -> settle cycle, ``rounds`` times; latencies in ms.

    CPU per job: this process's (``time.process_time``) plus, on PostgreSQL, the server backend's.
    """
    from wacloud.delivery.model import JobState, Outcome

    claims, cycles, jobs = [], [], 0
    server = backend_cpu(store)
    server0 = server() if server else 0.0
    cpu0 = time.process_time()
    for r in range(rounds):
        t0 = time.perf_counter()
        got = store.claim(PHONE, 100, now, lease_s=60.0, worker="bench", pair_interval_s=6.0, pair_burst=45)
        t1 = time.perf_counter()
        ids = store.mark_sending([j.id for j in got], now, lease_s=60.0, worker="bench")
        store.settle(
            [Outcome(job_id=i, state=JobState.ACCEPTED, at=now, wamid=f"wamid.bench{r}.{i}") for i in ids]
        )
        t2 = time.perf_counter()
        claims.append((t1 - t0) * 1000)
        cycles.append((t2 - t0) * 1000)
        jobs += len(got)
    client_cpu = time.process_time() - cpu0
    server_cpu = server() - server0 if server else 0.0
    return {
        "cpu_us_per_job": (client_cpu + server_cpu) / max(jobs, 1) * 1e6,
        "client_cpu_us_per_job": client_cpu / max(jobs, 1) * 1e6,
        "server_cpu_us_per_job": server_cpu / max(jobs, 1) * 1e6,
        "claim_p50_ms": h.percentile(claims, 50),
        "claim_p99_ms": h.percentile(claims, 99),
        "cycle_us_per_job": sum(cycles) / max(jobs, 1) * 1000,
        "jobs_claimed": jobs,
        "claimed_per_round": jobs / rounds,
    }


def enqueue_rate(store: Any, n: int, now: float) -> float:
    """Jobs per second through the store's own ``add`` (batches of 1,000, as ``broadcast`` does)."""
    from wacloud.delivery.model import NewJob

    body = json.loads(BODY)
    t0 = time.perf_counter()
    for start in range(0, n, 1000):
        store.add(
            [
                NewJob(PHONE, f"+1{3000000000 + i}", body, True, not_before=now + 10**6)
                for i in range(start, min(n, start + 1000))
            ],
            now,
        )
    return n / (time.perf_counter() - t0)


def run_store(kind: str, sizes: list[int], rounds: int, tmp: Path) -> dict[str, Any]:
    """All sizes on one backend."""
    from benchmarks._ours import open_store

    if kind == "sqlite":
        path = tmp / "scale.db"
        url, target = f"sqlite:///{path}", str(path)
    else:
        base = os.environ.get("WACLOUD_TEST_PG_DSN")
        if not base:
            return {"skipped": 'WACLOUD_TEST_PG_DSN is not set (eval "$(bash .ci/postgres.sh)")'}
        url = target = pg_scratch_dsn(base)
    store = open_store(url)
    now = time.time()
    out: dict[str, Any] = {"enqueue_jobs_per_s": enqueue_rate(store, 10_000, now)}
    print(
        f"{kind:8} store.add: {out['enqueue_jobs_per_s']:,.0f} jobs/s (10,000 jobs, batches of 1,000)",
        flush=True,
    )
    wipe(kind, target)
    filled = 0
    for size in sizes:
        t0 = time.perf_counter()
        have = queued(kind, target)
        bulk_fill(kind, target, filled, size - have, now)
        filled += max(0, size - have)
        fill_s = time.perf_counter() - t0
        gc.collect()
        figures = cycle(store, rounds, now)
        figures.update(queued_at_start=size, fill_s=fill_s, rss_mb=h.rss_mb(), plan=plan(kind, target, now))
        if kind == "sqlite":
            figures["db_mb"] = sum(p.stat().st_size for p in tmp.glob("scale.db*")) / 2**20
        out[str(size)] = figures
        print(
            f"{kind:8} {size:>9,} queued: claim p50 {figures['claim_p50_ms']:6.2f} ms  p99 "
            f"{figures['claim_p99_ms']:6.2f} ms  cycle {figures['cycle_us_per_job']:6.0f} µs/job  CPU "
            f"{figures['cpu_us_per_job']:5.0f} µs/job (server {figures['server_cpu_us_per_job']:.0f})  RSS "
            f"{figures['rss_mb']:.0f} MiB  (fill {fill_s:.1f}s)  plan: {figures['plan']}",
            flush=True,
        )
    store.close()
    return out


def main() -> None:
    """Run every backend and size; print the table and the one-line summary."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    figures: dict[str, Any] = {"sizes": sizes, "rounds": args.rounds}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.stores:
            try:
                figures[kind] = run_store(kind, sizes, args.rounds, Path(tmp))
            except Exception as exc:  # report and carry on with the other backend
                figures[kind] = {"failed": f"{type(exc).__name__}: {exc}"}
                print(f"{kind}: FAILED {exc}", flush=True)

    parts = []
    for kind in args.stores:
        f = figures[kind]
        if "skipped" in f or "failed" in f:
            parts.append(f"{kind} not run ({f.get('skipped') or f.get('failed')})")
            continue
        lo, hi = f[str(sizes[0])], f[str(sizes[-1])]
        growth = hi["claim_p50_ms"] / lo["claim_p50_ms"]
        f["claim_growth"] = growth
        parts.append(
            f"{kind} claim p50 {h.fmt(lo['claim_p50_ms'])} ms @{sizes[0]:,} -> "
            f"{h.fmt(hi['claim_p50_ms'])} ms @{sizes[-1]:,} ({h.fmt(growth)}x), RSS "
            f"{h.fmt(lo['rss_mb'], 0)} -> {h.fmt(hi['rss_mb'], 0)} MiB"
        )
    if all(isinstance(figures.get(k), dict) and str(sizes[0]) in figures[k] for k in ("sqlite", "postgres")):
        first = str(sizes[0])
        ratio = figures["postgres"][first]["cpu_us_per_job"] / figures["sqlite"][first]["cpu_us_per_job"]
        figures["cpu_ratio_pg_sqlite"] = ratio
        parts.append(f"CPU per job PG/SQLite {h.fmt(ratio)}x @{sizes[0]:,}")
    h.report("scale", figures, "; ".join(parts), args.json)


if __name__ == "__main__":
    main()
