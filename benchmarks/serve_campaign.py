"""End to end: a ``wacloud serve`` campaign at 1,000 msg/s against the sandbox in its own process.

    python -m benchmarks.serve_campaign [--n 10000] [--mps 1000] [--database sqlite|postgres]

As in live mode, the gateway (``python -m wacloud serve``: HTTP API, ``/webhook``, one delivery worker)
talks to Meta's stand-in over real sockets: the sandbox runs in its own process, enforces ``MPS`` messages
per second and posts signed status webhooks (sent, delivered, read) back to the gateway's ``/webhook``.
The campaign is queued with one ``POST /v1/campaigns``; the run ends when the sandbox has accepted every
message and has no status webhook left to deliver.

Reported: the achieved rate (from the sandbox's own log, as in ``benchmarks.pacing``) over the allowed one
(goal >= 0.95), rate-limit errors, and each process's CPU per message (psutil, user + system, from the
campaign's POST to the end): the gateway, the sandbox, and for PostgreSQL its server processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import _harness as h
from benchmarks.pacing import QUIET, TEMPLATE, add_template, sandbox_figures

API_KEY = "bench-gateway-key-0123456789"
VERIFY = "bench-verify"


def gateway(port: int, sandbox_url: str, db_url: str, mps: int, log: Path) -> subprocess.Popen[bytes]:
    """``python -m wacloud serve`` in live mode, pointed at the sandbox; returns once /healthz answers."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{h.ROOT}{os.pathsep}{h.ROOT / 'src'}",
        "WACLOUD_ACCESS_TOKEN": h.SANDBOX_TOKEN,
        "WACLOUD_PHONE_NUMBER_ID": h.SANDBOX_PHONE_ID,
        "WACLOUD_WABA_ID": h.SANDBOX_WABA_ID,
        "WACLOUD_APP_SECRET": h.SANDBOX_APP_SECRET,
        "WACLOUD_VERIFY_TOKEN": VERIFY,
        "WACLOUD_GRAPH_URL": sandbox_url,
        "WACLOUD_DATABASE_URL": db_url,
        "WACLOUD_MPS": str(mps),
        "WACLOUD_API_KEYS": API_KEY,
        "WACLOUD_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [h.PYTHON, "-m", "wacloud", "serve", "--port", str(port)],
        cwd=h.ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, preexec_fn=h.die_with_parent,
    )
    h.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
    return proc


def cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (those still alive)."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def pg_server_pids() -> list[int]:
    """The local PostgreSQL server's processes (postmaster and backends), to charge the database's CPU."""
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if (p.info.get("name") or "").startswith("postgres")]


def run(n: int, mps: int, database: str, tmp: Path, statuses: bool = True) -> dict[str, Any]:
    """One campaign; the figures."""
    port = h.free_port()
    if database == "sqlite":
        db_url = f"sqlite:///{tmp / f'gateway-{time.time_ns()}.db'}"
    else:
        from benchmarks.scale import pg_scratch_dsn

        db_url = pg_scratch_dsn(os.environ["WACLOUD_TEST_PG_DSN"], "wacloud_bench_serve")
    with h.sandbox(mps=mps, webhook_url=f"http://127.0.0.1:{port}/webhook", log=tmp / "sandbox.log",
                   extra_args=() if statuses else QUIET) as sb:
        add_template(sb.base_url)
        gw = gateway(port, sb.base_url, db_url, mps, tmp / "gateway.log")
        try:
            base = f"http://127.0.0.1:{port}"
            auth = {"Authorization": f"Bearer {API_KEY}"}
            body = {
                "template": TEMPLATE,
                "language": "en_US",
                "category": "utility",
                "recipients": [{"to": to, "parameters": [f"Customer {i}"]} for i, to in enumerate(h.recipients(n, 0))],
            }
            pg = pg_server_pids() if database == "postgres" else []
            procs = {"gateway": [gw.pid], "sandbox": [sb.pid], "postgres": pg}
            cpu0 = {k: cpu_of(v) for k, v in procs.items()}
            load0 = os.getloadavg()
            t0 = time.perf_counter()
            resp = httpx.post(base + "/v1/campaigns", json=body, headers=auth, timeout=120)
            resp.raise_for_status()
            campaign = resp.json()
            post_s = time.perf_counter() - t0
            deadline = time.monotonic() + max(120.0, 5 * n / mps)
            accepted, pending = 0, -1
            while time.monotonic() < deadline:
                info = httpx.get(sb.base_url + "/_sandbox/", timeout=30).json()  # cheap, unlike /stats
                accepted = int(info["messages"])
                pending = int(info["pending_callbacks"]) + int(info["pending_webhooks"])
                if accepted >= n and pending == 0:
                    break
                time.sleep(0.5)
            wall = time.perf_counter() - t0
            cpu = {k: cpu_of(v) - cpu0[k] for k, v in procs.items()}
            progress = httpx.get(f"{base}/v1/campaigns/{campaign['id']}", headers=auth, timeout=30).json()
            figures = sandbox_figures(sb.base_url, mps)
        finally:
            gw.terminate()
            try:
                gw.wait(timeout=20)
            except subprocess.TimeoutExpired:
                gw.kill()
                gw.wait()
    figures.update(
        database=database,
        statuses=statuses,
        wall_s=wall,
        post_s=post_s,
        sandbox_pending_at_end=pending,
        campaign=progress,
        load_at_start=load0,
        load_at_end=os.getloadavg(),
        cpu_s=cpu,
        cpu_us_per_message={k: v / max(figures["accepted"], 1) * 1e6 for k, v in cpu.items() if procs[k]},
    )
    return figures


def main() -> None:
    """Run the campaign(s); print the figures and the one-line summary."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--mps", type=int, default=1000)
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgres"], default=["sqlite"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--statuses", action=argparse.BooleanOptionalAction, default=True,
                        help="the sandbox posts sent/delivered/read webhooks back (off: sends only)")
    args = parser.parse_args()
    figures: dict[str, Any] = {"n": args.n, "mps": args.mps, "runs": []}
    parts = []
    with tempfile.TemporaryDirectory() as tmp_s:
        for _ in range(args.repeat):
            for database in args.database:
                if database == "postgres" and not os.environ.get("WACLOUD_TEST_PG_DSN"):
                    parts.append("postgres skipped (WACLOUD_TEST_PG_DSN not set)")
                    continue
                f = run(args.n, args.mps, database, Path(tmp_s), args.statuses)
                figures["runs"].append(f)
                cpu = ", ".join(f"{k} {v:.0f}" for k, v in f["cpu_us_per_message"].items())
                line = (f"{database}: accepted {f['accepted']}/{args.n}, ratio {h.fmt(f['ratio'], 3)}, "
                        f"130429={f['e130429']} 131056={f['e131056']}, CPU µs/message: {cpu}")
                print(line, f"(wall {f['wall_s']:.1f}s, POST {f['post_s']:.2f}s, load {f['load_at_end'][0]:.2f})",
                      flush=True)
                parts.append(line)
    print(json.dumps(figures["runs"][-1]["campaign"]) if figures["runs"] else "", flush=True)
    h.report("serve_campaign", figures, "; ".join(parts), args.json)


if __name__ == "__main__":
    main()
