"""Webhook ingest, another checkout against this one: our receiver's server CPU per request, interleaved.

    python -m benchmarks.ingest_ab --before /path/to/other/checkout [--rounds 5] [--seconds 4]
                                   [--stores off sqlite]

On a shared machine a figure moves by 10-20 % from one minute to the next, more than most changes to the
receiver; rounds that alternate the two trees (same load generator, same bodies, same harness) compare them
under the same conditions. Per round and store, each tree's receiver is started in its own process
(``benchmarks._receiver_server --kind ours``: the harness of this checkout, the ``wacloud`` package of the
tree under test), warmed up, then driven by 32 keep-alive connections for ``--seconds``; the server's user
and system CPU per request are read with psutil (all its threads), as in ``benchmarks.webhook_ingest``.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import _harness as h
from benchmarks import _loadgen, corpus
from benchmarks._receiver_server import PATH


def measure(tree: Path, store: str, requests: list[bytes], seconds: float, tmp: Path) -> dict[str, float]:
    """One receiver of ``tree`` (store ``off`` or ``sqlite``): CPU µs per request (user, system), req/s."""
    import psutil

    args = ["--kind", "ours"]
    if store == "sqlite":
        args += ["--store", f"sqlite:///{tempfile.mkdtemp(dir=tmp)}/hooks.db"]
    env = {"PYTHONPATH": f"{h.ROOT}:{tree / 'src'}"}  # this harness, that tree's wacloud
    with h.running("benchmarks._receiver_server", args, ready_path="/_stats", env=env) as srv:
        port = int(srv.base_url.rsplit(":", 1)[1])
        asyncio.run(_loadgen.closed_loop("127.0.0.1", port, requests[:300], concurrency=8, duration=1.0))
        proc = psutil.Process(srv.pid)
        before = proc.cpu_times()
        stats = asyncio.run(_loadgen.closed_loop("127.0.0.1", port, requests[300:], concurrency=32,
                                                 duration=seconds, max_requests=len(requests) - 300))
        after = proc.cpu_times()
    per = 1e6 / max(stats.done, 1)
    user, system = (after.user - before.user) * per, (after.system - before.system) * per
    return {"user_us": user, "sys_us": system, "cpu_us": user + system, "rps": stats.done / stats.elapsed}


def main() -> None:
    """Alternate the two trees for ``--rounds``; print each measurement and the medians."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--before", type=Path, required=True, help="the other checkout (its src/ is imported)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--stores", nargs="+", default=["off", "sqlite"], choices=["off", "sqlite"])
    args = parser.parse_args()
    if not (args.before / "src" / "wacloud").is_dir():
        parser.error(f"--before {args.before}: no src/wacloud there")
    trees = {"before": args.before.resolve(), "after": h.ROOT}
    bodies = corpus.bodies(int(args.seconds * 12_000) + 300, mix="realistic", seed=11)
    requests = [_loadgen.encode_post(PATH, b, {"X-Hub-Signature-256": s}) for b, s in corpus.signed(bodies)]
    runs: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            for store in args.stores:
                for name, tree in trees.items():
                    r = measure(tree, store, requests, args.seconds, Path(tmp))
                    runs.setdefault(f"{store} {name}", []).append(r)
                    print(f"round {n + 1} {store:6} {name:6} CPU {r['cpu_us']:6.1f} µs/req (user {r['user_us']:.1f}, "
                          f"sys {r['sys_us']:.1f})  {r['rps']:,.0f} req/s", flush=True)
    figures: dict[str, Any] = {"trees": {k: str(v) for k, v in trees.items()}, "rounds": args.rounds, "runs": runs}
    medians = {k: statistics.median(r["cpu_us"] for r in v) for k, v in runs.items()}
    figures["median_cpu_us"] = medians
    summary = ", ".join(f"{store} {medians[f'{store} before']:.0f} -> {medians[f'{store} after']:.0f} µs CPU/req"
                        for store in args.stores) + f" (medians of {args.rounds} interleaved rounds)"
    h.report("ingest_ab", figures, summary, args.json)


if __name__ == "__main__":
    main()
