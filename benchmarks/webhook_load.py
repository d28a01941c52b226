"""Sustained load: the receiver holds a fixed rate of signed webhooks for a while; errors and memory.

    python -m benchmarks.webhook_load [--rate 1000] [--duration 30] [--store sqlite|none]

Our receiver (durable SQLite store by default) runs under uvicorn in its own process; the open-loop
generator (benchmarks/_loadgen.py) offers ``--rate`` distinct signed bodies per second for
``--duration`` seconds while the server's RSS is sampled every second. Reported: answered/offered,
errors and non-200s, p50/p99/max ack latency, updates handled, and RSS over time (the slope of the
second half shows whether memory grows with traffic). ``tests/reliability/test_load.py`` runs the same
function and asserts no errors and bounded memory.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import _harness as h
from benchmarks import _loadgen, corpus
from benchmarks._receiver_server import PATH


async def _offer(
    port: int, requests: list[bytes], rate: float, duration: float, pid: int, samples: list[tuple[float, float]]
) -> _loadgen.Stats:
    async def sample() -> None:
        t0 = time.perf_counter()
        while True:
            samples.append((time.perf_counter() - t0, h.rss_mb(pid)))
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample())
    try:
        return await _loadgen.open_loop("127.0.0.1", port, requests, rate=rate, duration=duration)
    finally:
        sampler.cancel()


def run_load(server: h.Server, *, rate: float, duration: float, seed: int = 31) -> dict[str, Any]:
    """Offer ``rate`` req/s for ``duration`` s to ``server`` (a ``_receiver_server``); figures."""
    n = int(rate * duration)
    bodies = corpus.bodies(n, mix="realistic", seed=seed)
    requests = [_loadgen.encode_post(PATH, b, {"X-Hub-Signature-256": s}) for b, s in corpus.signed(bodies)]
    port = int(server.base_url.rsplit(":", 1)[1])
    samples: list[tuple[float, float]] = []
    stats = asyncio.run(_offer(port, requests, rate, duration, server.pid, samples))
    # Let the last updates finish, then read how many the handlers saw.
    deadline = time.monotonic() + 30
    handled = 0
    while time.monotonic() < deadline:
        handled = int(httpx.get(server.base_url + "/_stats", timeout=10).json()["updates"])
        if handled >= n:
            break
        time.sleep(0.2)
    rss = [m for _, m in samples]
    half = rss[len(rss) // 2 :] or rss
    out = stats.as_dict()
    out.update(
        offered=n,
        handled=handled,
        rss_mb=rss,
        rss_start_mb=rss[0] if rss else float("nan"),
        rss_max_mb=max(rss) if rss else float("nan"),
        rss_second_half_growth_mb=(half[-1] - half[0]) if half else float("nan"),
    )
    return out


def main() -> None:
    """Run the load and print the one-line summary."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--store", choices=["sqlite", "none"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server_args = ["--kind", "ours"]
        if args.store == "sqlite":
            server_args += ["--store", f"sqlite:///{Path(tmp) / 'load.db'}"]
        with h.running(
            "benchmarks._receiver_server", server_args, ready_path="/_stats", log=Path(tmp) / "receiver.log"
        ) as srv:
            f = run_load(srv, rate=args.rate, duration=args.duration)
    non200 = f["done"] - f["ok"] - sum(f["errors"].values())
    print(
        f"answered {f['ok']}/{f['offered']}  errors {f['errors'] or 0}  non-200 {non200}  handled "
        f"{f['handled']}  p50 {f['p50_ms']:.2f} ms  p99 {f['p99_ms']:.2f} ms  max {f['max_ms']:.1f} ms  "
        f"RSS {f['rss_start_mb']:.0f} -> max {f['rss_max_mb']:.0f} MiB (2nd half {f['rss_second_half_growth_mb']:+.1f})"
    )
    summary = (
        f"{args.rate:.0f} req/s for {args.duration:.0f}s into ours (store {args.store}): "
        f"{f['ok']}/{f['offered']} answered 200, {sum(f['errors'].values())} errors, p99 "
        f"{h.fmt(f['p99_ms'])} ms, RSS {h.fmt(f['rss_start_mb'], 0)}->{h.fmt(f['rss_max_mb'], 0)} MiB"
    )
    h.report(
        "webhook_load", {"rate": args.rate, "duration": args.duration, "store": args.store, **f}, summary, args.json
    )


if __name__ == "__main__":
    main()
