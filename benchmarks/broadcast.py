"""Campaign queueing alone: ``Outbox.broadcast`` in-process, and ``POST /v1/campaigns`` to ``wacloud serve``.

    python -m benchmarks.broadcast [--n 10000] [--rounds 3] [--parts inprocess post] [--database sqlite postgres]

*inprocess*: one ``Outbox`` on a fresh SQLite file (or PostgreSQL database) queues ``n`` distinct recipients
of a one-parameter template (the recipients as the gateway hands them: filled ``components``; and as a
script gives them: positional ``params``); the figure is this process's CPU time (user + system, every
thread) per recipient.
*post*: ``python -m wacloud serve`` with its delivery workers off (``WACLOUD_WORKERS=false``: nothing is
sent, so queueing is measured alone) and the sandbox in its own process (for the template check), one
``POST /v1/campaigns`` of ``n`` recipients per round: its wall time and the gateway's CPU per recipient.

Each round uses recipients no earlier round used, so the phone-number memo is cold as in a real campaign
(100,000 distinct numbers in all: ``--rounds 2`` with both databases).
The tree measured is the one ``wacloud`` is imported from (``PYTHONPATH=<tree>/src:.``): the gateway
subprocess is started on the same tree, so "before" and "after" are two runs of this file.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import _harness as h
from benchmarks.pacing import LANG, TEMPLATE, add_template

API_KEY = "bench-gateway-key-0123456789"


def _src() -> Path:
    """The ``src`` directory of the wacloud tree this process imports."""
    import wacloud

    return Path(wacloud.__file__).resolve().parents[1]


def inprocess(n: int, offset: int, tmp: Path, shape: str, database: str = "sqlite") -> dict[str, Any]:
    """One ``broadcast`` of ``n`` recipients into a fresh outbox: CPU µs (this process) and wall s.

    On PostgreSQL (a scratch database on ``$WACLOUD_TEST_PG_DSN``'s server) the server's own CPU is not
    in the figure."""
    from wacloud.delivery import Outbox, Recipient

    numbers = h.recipients(n, offset)
    if shape == "components":
        people = [Recipient(to, components=[{"type": "body", "parameters": [{"type": "text",
                                                                              "text": f"Customer {i}"}]}])
                  for i, to in enumerate(numbers)]
    else:
        people = [Recipient(to, [f"Customer {i}"]) for i, to in enumerate(numbers)]
    if database == "sqlite":
        url = f"sqlite:///{tmp / f'broadcast-{time.time_ns()}.db'}"
    else:
        from benchmarks.scale import pg_scratch_dsn

        url = pg_scratch_dsn(os.environ["WACLOUD_TEST_PG_DSN"], "wacloud_bench_broadcast")
    outbox = Outbox(url, phone_number_id=h.SANDBOX_PHONE_ID)
    try:
        cpu0, t0 = h.cpu_seconds(), time.perf_counter()
        result = outbox.broadcast(TEMPLATE, people, language=LANG, category="utility", campaign=f"bench{offset}")
        wall, cpu = time.perf_counter() - t0, h.cpu_seconds() - cpu0
    finally:
        outbox.close()
    if result.queued != n:
        raise RuntimeError(f"queued {result.queued} of {n} ({result.invalid[:3]})")
    return {"shape": shape, "database": database, "wall_s": wall, "cpu_us_per_recipient": cpu / n * 1e6}


def gateway(port: int, sandbox_url: str, db_url: str, log: Path) -> subprocess.Popen[bytes]:
    """``wacloud serve`` on the measured tree, workers off; returns once /healthz answers."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{h.ROOT}{os.pathsep}{_src()}",
        "WACLOUD_ACCESS_TOKEN": h.SANDBOX_TOKEN,
        "WACLOUD_PHONE_NUMBER_ID": h.SANDBOX_PHONE_ID,
        "WACLOUD_WABA_ID": h.SANDBOX_WABA_ID,
        "WACLOUD_APP_SECRET": h.SANDBOX_APP_SECRET,
        "WACLOUD_VERIFY_TOKEN": "bench-verify",
        "WACLOUD_GRAPH_URL": sandbox_url,
        "WACLOUD_DATABASE_URL": db_url,
        "WACLOUD_API_KEYS": API_KEY,
        "WACLOUD_WORKERS": "false",
        "WACLOUD_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([h.PYTHON, "-m", "wacloud", "serve", "--port", str(port)], cwd=h.ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT, preexec_fn=h.die_with_parent)
    h.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
    return proc


def post(n: int, rounds: int, tmp: Path) -> list[dict[str, Any]]:
    """``rounds`` POSTs of ``n`` new recipients each to one gateway: wall s and gateway CPU µs/recipient."""
    import psutil

    out: list[dict[str, Any]] = []
    port = h.free_port()
    with h.sandbox(log=tmp / "sandbox.log") as sb:
        add_template(sb.base_url)
        gw = gateway(port, sb.base_url, f"sqlite:///{tmp / 'gateway.db'}", tmp / "gateway.log")
        try:
            proc = psutil.Process(gw.pid)
            for r in range(rounds):
                body = {"template": TEMPLATE, "language": LANG, "category": "utility",
                        "recipients": [{"to": to, "parameters": [f"Customer {i}"]}
                                       for i, to in enumerate(h.recipients(n, (r + 1) * n))]}
                payload = httpx.Request("POST", "http://x", json=body).content  # encoded outside the timing
                before = proc.cpu_times()
                t0 = time.perf_counter()
                resp = httpx.post(f"http://127.0.0.1:{port}/v1/campaigns", content=payload, timeout=300,
                                  headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
                wall = time.perf_counter() - t0
                after = proc.cpu_times()
                resp.raise_for_status()
                got = resp.json()
                if got["total"] != n:
                    raise RuntimeError(f"queued {got['total']} of {n}: {got}")
                cpu = (after.user + after.system) - (before.user + before.system)
                out.append({"post_s": wall, "gateway_cpu_us_per_recipient": cpu / n * 1e6,
                            "load": os.getloadavg()[0]})
        finally:
            gw.terminate()
            try:
                gw.wait(timeout=20)
            except subprocess.TimeoutExpired:
                gw.kill()
                gw.wait()
    return out


def main() -> None:
    """Run the parts; print each round and the one-line summary."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parts", nargs="+", choices=["inprocess", "post"], default=["inprocess", "post"])
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgres"], default=["sqlite"],
                        help="the in-process outbox's store (postgres: a scratch database on $WACLOUD_TEST_PG_DSN)")
    args = parser.parse_args()
    figures: dict[str, Any] = {"n": args.n, "tree": str(_src())}
    parts: list[str] = []
    print(f"tree: {_src()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        if "inprocess" in args.parts:
            runs = []
            cases = [(d, shape) for d in args.database for shape in ("components", "params")]
            for r in range(args.rounds):
                for k, (database, shape) in enumerate(cases):
                    f = inprocess(args.n, (len(cases) * r + k) * args.n, tmp, shape, database)
                    runs.append(f)
                    print(f"broadcast {database} {shape}: {f['cpu_us_per_recipient']:.1f} µs CPU/recipient, "
                          f"{f['wall_s']:.2f} s", flush=True)
            figures["inprocess"] = runs
            for database, shape in cases:
                best = min(f["cpu_us_per_recipient"] for f in runs if (f["database"], f["shape"]) == (database, shape))
                parts.append(f"broadcast {database} ({shape}) {best:.1f} µs CPU/recipient (best of {args.rounds})")
        if "post" in args.parts:
            runs = post(args.n, args.rounds, tmp)
            for f in runs:
                print(f"POST /v1/campaigns: {f['post_s']:.2f} s, gateway {f['gateway_cpu_us_per_recipient']:.1f} "
                      f"µs CPU/recipient (load {f['load']:.2f})", flush=True)
            figures["post"] = runs
            best = min(runs, key=lambda f: f["post_s"])
            parts.append(f"POST of {args.n}: {best['post_s']:.2f} s, gateway "
                         f"{min(f['gateway_cpu_us_per_recipient'] for f in runs):.1f} µs CPU/recipient (best of "
                         f"{args.rounds})")
    h.report("broadcast", figures, "; ".join(parts), args.json)


if __name__ == "__main__":
    main()
