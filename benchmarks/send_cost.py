"""Send cost: CPU time per accepted message, our sync/async clients vs pywa's, against the same sandbox.

    python -m benchmarks.send_cost [--n 2000] [--concurrency 1 32]

One message = build and validate it, POST it over loopback, parse the answer (wamid). The sandbox runs
in its own process (benchmarks/_sandbox_server.py) so only the client's CPU is counted: each side runs in
a fresh child process and reports ``getrusage(RUSAGE_SELF)`` user+system time over the timed sends
(after a warm-up of 50). Concurrency 1 is a plain loop; concurrency C is C threads for the sync clients
and C tasks on one event loop for the async ones. ``ours-*`` run on the clients' default transports
(a keep-alive ``http.client`` pool for the sync client, aiohttp for the async one); ``ours-httpx-*`` are
the same clients handed an httpx transport (what they ran on before), with the same httpx connection
limits as pywa's, so one run shows the transport's share.
Every recipient is distinct so the sandbox's pair-rate limit never answers, and its throughput limit is
set far above what we send.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from benchmarks import _harness as h

SIDES = ("ours-sync", "ours-async", "ours-httpx-sync", "ours-httpx-async", "pywa-sync", "pywa-async")
TEXT = "Your order #4412 has shipped and will arrive tomorrow. Reply STOP to opt out."
WARMUP = 50


def _limits(concurrency: int) -> httpx.Limits:
    return httpx.Limits(
        max_connections=max(concurrency, 1) * 2, max_keepalive_connections=max(concurrency, 1) * 2
    )


def make_sync_sender(
    side: str, base_url: str, concurrency: int
) -> tuple[Callable[[str], Any], Callable[[], None]]:
    """A blocking ``send(to)`` for ``side`` and its close function."""
    if side in ("ours-sync", "ours-httpx-sync"):
        from wacloud import Client

        client = Client(
            token=h.SANDBOX_TOKEN,
            phone_number_id=h.SANDBOX_PHONE_ID,
            base_url=base_url,
            transport=httpx.HTTPTransport(limits=_limits(concurrency)) if side == "ours-httpx-sync" else None,
        )
        return (lambda to: client.send_text(to, TEXT)), client.close
    wa = h.pywa_sync(base_url, limits=_limits(concurrency))
    return (lambda to: wa.send_message(to=to, text=TEXT)), wa.api._session.close


def make_async_sender(
    side: str, base_url: str, concurrency: int
) -> tuple[Callable[[str], Awaitable[Any]], Callable[[], Awaitable[None]]]:
    """An async ``send(to)`` for ``side`` and its close coroutine function."""
    if side in ("ours-async", "ours-httpx-async"):
        from wacloud import AsyncClient

        client = AsyncClient(
            token=h.SANDBOX_TOKEN,
            phone_number_id=h.SANDBOX_PHONE_ID,
            base_url=base_url,
            transport=httpx.AsyncHTTPTransport(limits=_limits(concurrency)) if side == "ours-httpx-async" else None,
        )
        return (lambda to: client.send_text(to, TEXT)), client.aclose
    wa = h.pywa_async(base_url, limits=_limits(concurrency))
    return (lambda to: wa.send_message(to=to, text=TEXT)), wa.api._session.aclose


def _wamid(result: Any) -> str | None:
    """The message id from either side's result object."""
    return getattr(result, "wamid", None) or getattr(result, "id", None)


def run_sync(side: str, base_url: str, to: list[str], concurrency: int) -> dict[str, Any]:
    """Timed sends with a sync client; returns accepted/errors/cpu/wall."""
    send, close = make_sync_sender(side, base_url, concurrency)
    errors: dict[str, int] = {}

    def one(number: str) -> bool:
        try:
            return _wamid(send(number)) is not None
        except Exception as exc:  # counted, reported: a benchmark must finish
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return False

    for number in to[:WARMUP]:
        one(number)
    errors.clear()
    timed = to[WARMUP:]
    cpu0, t0 = h.cpu_seconds(), time.perf_counter()
    if concurrency == 1:
        ok = [one(n) for n in timed]
    else:
        with ThreadPoolExecutor(concurrency) as pool:
            ok = list(pool.map(one, timed))
    wall, cpu = time.perf_counter() - t0, h.cpu_seconds() - cpu0
    close()
    return {"sent": len(timed), "accepted": sum(ok), "errors": errors, "cpu_s": cpu, "wall_s": wall}


async def run_async(side: str, base_url: str, to: list[str], concurrency: int) -> dict[str, Any]:
    """Timed sends with an async client; C tasks pull from one queue of recipients."""
    send, close = make_async_sender(side, base_url, concurrency)
    errors: dict[str, int] = {}

    async def one(number: str) -> bool:
        try:
            return _wamid(await send(number)) is not None
        except Exception as exc:  # counted, reported
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            return False

    for number in to[:WARMUP]:
        await one(number)
    errors.clear()
    timed = to[WARMUP:]
    results: list[bool] = []

    async def worker(items: list[str]) -> None:
        for number in items:
            results.append(await one(number))

    cpu0, t0 = h.cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(worker(timed[i::concurrency]) for i in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, h.cpu_seconds() - cpu0
    await close()
    return {"sent": len(timed), "accepted": sum(results), "errors": errors, "cpu_s": cpu, "wall_s": wall}


def child(side: str, base_url: str, n: int, concurrency: int, offset: int) -> None:
    """Entry point of one measured child process: prints its figures as JSON."""
    to = h.recipients(n + WARMUP, offset)
    if side.endswith("sync") and not side.endswith("async"):
        figures = run_sync(side, base_url, to, concurrency)
    else:
        figures = asyncio.run(run_async(side, base_url, to, concurrency))
    print(json.dumps(figures))


def measure(side: str, base_url: str, n: int, concurrency: int, offset: int) -> dict[str, Any]:
    """Run :func:`child` in a fresh process and collect its figures."""
    cmd = [
        h.PYTHON,
        "-m",
        "benchmarks.send_cost",
        "--child",
        side,
        "--base-url",
        base_url,
        "--n",
        str(n),
        "--concurrency",
        str(concurrency),
        "--offset",
        str(offset),
    ]
    proc = subprocess.run(
        cmd,
        cwd=h.ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": f"{h.ROOT}:{h.ROOT / 'src'}"},
        preexec_fn=h.die_with_parent,
    )
    if proc.returncode != 0:
        return {"failed": proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]}
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    acc = max(figures["accepted"], 1)
    figures["cpu_us_per_msg"] = figures["cpu_s"] / acc * 1e6
    figures["msgs_per_s"] = figures["accepted"] / figures["wall_s"]
    return figures


def main() -> None:
    """Run every side at every concurrency against one sandbox; print the table and the summary line."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--n", type=int, default=2000, help="timed messages per side and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the median round is reported")
    parser.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES)
    parser.add_argument("--child", choices=SIDES, help=argparse_hidden())
    parser.add_argument("--base-url", help=argparse_hidden())
    parser.add_argument("--offset", type=int, default=0, help=argparse_hidden())
    args = parser.parse_args()
    if args.child:
        child(args.child, args.base_url, args.n, args.concurrency[0], args.offset)
        return

    results: dict[str, dict[str, Any]] = {}
    offset = 0
    quiet = ["--set", "delivered_after_s=null", "--set", "read_after_s=null", "--set", "played_after_s=null"]
    runs: dict[str, list[dict[str, Any]]] = {}
    with h.sandbox(mps=1_000_000, extra_args=quiet) as sb:
        # Rounds interleave the sides, so a busy moment on the machine hits all of them alike.
        for rnd in range(args.repeat):
            for conc in args.concurrency:
                for side in args.sides:
                    key = f"{side}@{conc}"
                    r = measure(side, sb.base_url, args.n, conc, offset)
                    offset += args.n + WARMUP
                    runs.setdefault(key, []).append(r)
                    if "failed" in r:
                        print(f"{key:16} FAILED: {r['failed']}", flush=True)
                    else:
                        print(
                            f"{key:16} round {rnd + 1}: {r['cpu_us_per_msg']:6.0f} µs CPU/msg  "
                            f"{r['msgs_per_s']:6.0f} msgs/s  accepted {r['accepted']}/{r['sent']}  "
                            f"errors {r['errors']}",
                            flush=True,
                        )
    for key, items in runs.items():
        ok = sorted((r for r in items if "failed" not in r), key=lambda r: r["cpu_us_per_msg"])
        median = ok[len(ok) // 2] if ok else items[0]  # the median round by CPU per message
        results[key] = {**median, "rounds": [dict(r) for r in items]}
    print("median of the rounds:")
    for key, r in results.items():
        if "failed" not in r:
            print(f"{key:16} {r['cpu_us_per_msg']:8.0f} µs CPU/msg  {r['msgs_per_s']:8.0f} msgs/s")

    def cpu(key: str) -> float:
        r = results.get(key, {})
        return float(r.get("cpu_us_per_msg", float("nan")))

    ratios: dict[str, float] = {}
    for conc in args.concurrency:
        for flavour in ("sync", "async"):
            ratios[f"{flavour}@{conc}"] = cpu(f"ours-{flavour}@{conc}") / cpu(f"pywa-{flavour}@{conc}")
    for conc in args.concurrency:
        for flavour in ("sync", "async"):  # the same clients on httpx: the transport's share
            ratios[f"httpx-{flavour}@{conc}"] = cpu(f"ours-httpx-{flavour}@{conc}") / cpu(f"pywa-{flavour}@{conc}")
    for k, v in ratios.items():
        print(f"ratio ours/pywa CPU per message, {k}: {h.fmt(v)}", flush=True)
    figures = {"n": args.n, "results": results, "ratios_ours_over_pywa": ratios}
    parts = [f"{k} {h.fmt(v)}" for k, v in ratios.items()]
    c1 = args.concurrency[0]
    summary = (
        f"CPU/msg ours/pywa (target <= 0.5): {', '.join(parts)}; ours-sync@{c1} "
        f"{h.fmt(cpu(f'ours-sync@{c1}'), 0)} µs vs pywa-sync@{c1} {h.fmt(cpu(f'pywa-sync@{c1}'), 0)} µs"
    )
    h.report("send_cost", figures, summary, args.json)


def argparse_hidden() -> str:
    """Help text of internal flags."""
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    sys.exit(main())
