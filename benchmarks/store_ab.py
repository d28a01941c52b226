"""The PostgreSQL worker's store calls, another checkout against this one, in alternating processes.

    python -m benchmarks.store_ab --before /path/to/other/checkout [--rounds 4] [--size 10000] [--cycles 40]
                                  [--no-analyze]

``benchmarks.scale`` runs each store once per size, so on a shared machine its claim latency moves by more
than most changes to the claim. Here each round starts one process per tree (this harness, that tree's
``wacloud``), alternating which goes first; each process fills a scratch database of its own with
``--size`` queued jobs (distinct recipients, as ``benchmarks.scale`` does), runs 5 warm-up cycles, then
``ANALYZE`` (as autovacuum would on a live server; ``--no-analyze`` keeps the young tables' statistics
of the fill) and ``--cycles`` worker cycles on the real store API: ``claim(100)``, ``mark_sending`` in
batches of 4 with the pair interval (what the worker does at 1,000 msg/s), ``settle(accepted)``.
Reported per process: claim p10/p50 (ms), ``mark_sending`` of 4 p50 (ms), and CPU µs per job of the
whole cycle, this process's and the PostgreSQL backend's (psutil; the server runs on this machine).
Needs ``WACLOUD_TEST_PG_DSN``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import _harness as h

MARK_BATCH = 4
PAIR_SPACING_S = 6.05


def child(label: str, size: int, cycles: int, analyze: bool) -> dict[str, Any]:
    """One tree's figures (runs in its own process, ``wacloud`` imported from that tree)."""
    import psutil
    import psycopg

    from benchmarks.scale import PHONE, bulk_fill, pg_scratch_dsn
    from wacloud.delivery import open_store
    from wacloud.delivery.model import JobState, Outcome

    dsn = pg_scratch_dsn(os.environ["WACLOUD_TEST_PG_DSN"], f"wacloud_store_ab_{label}")
    store: Any = open_store(dsn)
    now = time.time()
    bulk_fill("postgres", dsn, 0, size, now)
    backend = psutil.Process(int(store._conn.info.backend_pid))
    claims: list[float] = []
    marks: list[float] = []
    cpu = server = 0.0
    jobs = 0
    for r in range(5 + cycles):
        if r == 5 and analyze:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("ANALYZE jobs")
                conn.execute("ANALYZE pair_buckets")
        s0, c0, t0 = sum(backend.cpu_times()[:2]), time.process_time(), time.perf_counter()
        got = store.claim(PHONE, 100, now, lease_s=60.0, worker="bench", pair_interval_s=PAIR_SPACING_S,
                          pair_burst=1)
        t1 = time.perf_counter()
        sent: list[str] = []
        for k in range(0, len(got), MARK_BATCH):
            m0 = time.perf_counter()
            sent += store.mark_sending([j.id for j in got[k:k + MARK_BATCH]], now, lease_s=60.0, worker="bench",
                                       pair_interval_s=PAIR_SPACING_S)
            if r >= 5:
                marks.append((time.perf_counter() - m0) * 1000)
        store.settle([Outcome(job_id=i, state=JobState.ACCEPTED, at=now, wamid=f"wamid.ab{r}.{i}") for i in sent])
        if r >= 5:
            claims.append((t1 - t0) * 1000)
            cpu += time.process_time() - c0
            server += sum(backend.cpu_times()[:2]) - s0
            jobs += len(got)
    store.close()
    deciles = statistics.quantiles(claims, n=10)
    return {"claim_p10_ms": deciles[0], "claim_p50_ms": statistics.median(claims),
            "mark4_p50_ms": statistics.median(marks), "client_us_per_job": cpu / max(jobs, 1) * 1e6,
            "server_us_per_job": server / max(jobs, 1) * 1e6, "cpu_us_per_job": (cpu + server) / max(jobs, 1) * 1e6,
            "claimed_per_cycle": jobs / cycles, "load": os.getloadavg()[0]}


def run_tree(label: str, tree: Path, size: int, cycles: int, analyze: bool) -> dict[str, Any]:
    """One child process on ``tree``."""
    env = {**os.environ, "PYTHONPATH": f"{h.ROOT}{os.pathsep}{tree / 'src'}"}
    out = subprocess.run([h.PYTHON, "-m", "benchmarks.store_ab", "--child", label, str(size), str(cycles),
                          "1" if analyze else "0"], cwd=h.ROOT, env=env, capture_output=True, text=True,
                         timeout=600, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Alternate the two trees for ``--rounds``; print each process's figures and the medians."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")))
        return
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--before", type=Path, required=True, help="the other checkout (its src/ is imported)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=40)
    parser.add_argument("--analyze", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    if not os.environ.get("WACLOUD_TEST_PG_DSN"):
        parser.error('WACLOUD_TEST_PG_DSN is not set (eval "$(bash .ci/postgres.sh)")')
    trees = {"before": args.before.resolve(), "after": h.ROOT}
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for r in range(args.rounds):
        for label in (("before", "after") if r % 2 == 0 else ("after", "before")):
            f = run_tree(label, trees[label], args.size, args.cycles, args.analyze)
            runs[label].append(f)
            print(f"round {r + 1} {label:6} claim p10 {f['claim_p10_ms']:5.2f} p50 {f['claim_p50_ms']:5.2f} ms  "
                  f"mark(4) p50 {f['mark4_p50_ms']:5.2f} ms  CPU {f['cpu_us_per_job']:4.0f} µs/job (client "
                  f"{f['client_us_per_job']:.0f}, server {f['server_us_per_job']:.0f})  load {f['load']:.1f}",
                  flush=True)
    medians = {label: {k: statistics.median(f[k] for f in fs) for k in fs[0]} for label, fs in runs.items()}
    b, a = medians["before"], medians["after"]
    summary = (f"size {args.size:,}: claim p50 {h.fmt(b['claim_p50_ms'])} -> {h.fmt(a['claim_p50_ms'])} ms, "
               f"mark(4) {h.fmt(b['mark4_p50_ms'])} -> {h.fmt(a['mark4_p50_ms'])} ms, CPU per job "
               f"{h.fmt(b['cpu_us_per_job'], 0)} -> {h.fmt(a['cpu_us_per_job'], 0)} µs (medians of {args.rounds})")
    h.report("store_ab", {"rounds": runs, "medians": medians, "size": args.size}, summary, args.json)


if __name__ == "__main__":
    main()
