"""Pacing: the outbox sends N templates to N distinct customers at a configured limit; pywa's plain loop.

    python -m benchmarks.pacing [--scenarios 2000@80 10000@1000] [--pg] [--no-pywa]

For each ``N@MPS`` scenario a fresh sandbox (own process) enforces ``MPS`` messages/s (token bucket,
one second of burst) and the pair rate; every send attempt it sees is in its log, with its timestamp.

- **ours, 1 worker, SQLite**: ``Outbox.broadcast`` queues the campaign, then one worker process runs
  ``Outbox(..., mps=MPS).run_forever(until_idle=True)`` with the async client.
- **ours, 2 workers, PostgreSQL** (``--pg``, needs ``WACLOUD_TEST_PG_DSN``): the same campaign, two
  worker processes sharing one store (and so one token bucket).
- **pywa**: a plain ``for`` loop of ``send_template`` calls (pywa's natural usage: it has no pacing),
  counting the rate-limit errors it gets; no retries.

The achieved rate is (accepted - 1) / (time of last accepted - time of first accepted) from the
sandbox's own log, so client start-up does not count; the ratio is achieved / allowed (target >= 0.98),
and the sandbox's 130429 (throughput) and 131056 (pair rate) counts (target 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import _harness as h

TEMPLATE = "order_update"
LANG = "en_US"
COMPONENTS = [
    {"type": "BODY", "text": "Hi {{1}}, your order has shipped.", "example": {"body_text": [["Ana"]]}}
]
#: Statuses off: the benchmark measures sends; a status schedule would only load the sandbox.
QUIET = [
    "--set",
    "sent_after_s=null",
    "--set",
    "delivered_after_s=null",
    "--set",
    "read_after_s=null",
    "--set",
    "played_after_s=null",
]


def add_template(control: str) -> None:
    """Create the campaign's template, approved, in the sandbox."""
    resp = httpx.post(
        control + "/_sandbox/templates",
        json={
            "name": TEMPLATE,
            "language": LANG,
            "category": "UTILITY",
            "components": COMPONENTS,
            "status": "APPROVED",
        },
        timeout=10,
    )
    resp.raise_for_status()


def sandbox_figures(base: str, allowed: float) -> dict[str, Any]:
    """Achieved rate, accepted count and rate-limit errors, from the sandbox's log and counters."""
    stats = httpx.get(base + "/_sandbox/stats", timeout=30).json()
    attempts: list[dict[str, Any]] = []
    since = 0
    while True:
        page = httpx.get(base + "/_sandbox/log", params={"since": since, "limit": 50_000}, timeout=60).json()
        attempts += page["attempts"]
        if not page["attempts"] or page["attempts"][-1]["seq"] >= page["last_seq"]:
            break
        since = page["attempts"][-1]["seq"]
    accepted = sorted(a["at"] for a in attempts if a["outcome"] == "accepted")
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else float("nan")
    rate = (len(accepted) - 1) / span if len(accepted) > 1 and span > 0 else float("nan")
    errors = stats.get("errors", {})
    return {
        "attempts": len(attempts),
        "accepted": len(accepted),
        "span_s": span,
        "achieved_mps": rate,
        "ratio": rate / allowed,
        "e130429": int(errors.get("130429", 0)),
        "e131056": int(errors.get("131056", 0)),
        "errors": errors,
        "max_accepted_per_recipient": stats.get("max_accepted_per_recipient"),
    }


# --- ours ----------------------------------------------------------------------------------------------


def queue_campaign(store_url: str, n: int, offset: int) -> str:
    """Queue the template to ``n`` distinct recipients; returns the campaign id."""
    from benchmarks._ours import open_store
    from wacloud.delivery import Outbox

    outbox = Outbox(open_store(store_url), phone_number_id=h.SANDBOX_PHONE_ID)
    recipients = [(to, [f"Customer {i}"]) for i, to in enumerate(h.recipients(n, offset))]
    campaign = outbox.broadcast(TEMPLATE, recipients, language=LANG, category="utility", chunk=1000)
    outbox.close()
    if campaign.queued != n:
        raise RuntimeError(f"queued {campaign.queued} of {n}: {campaign.invalid[:3]}")
    return campaign.id


def worker_main(store_url: str, base_url: str, mps: float, name: str, flavour: str = "async") -> None:
    """One worker process: send until nothing is owed a send; print its RunReport as JSON."""
    import dataclasses

    from benchmarks._ours import open_store
    from wacloud import AsyncClient, Client
    from wacloud.delivery import Outbox

    cls = AsyncClient if flavour == "async" else Client
    client = cls(token=h.SANDBOX_TOKEN, phone_number_id=h.SANDBOX_PHONE_ID, base_url=base_url)
    outbox = Outbox(open_store(store_url), client, mps=mps, worker_name=name)
    cpu = time.process_time()
    report = outbox.run_forever(until_idle=True)
    # The run's CPU (start-up and imports excluded): steadier than the rate when the machine is shared.
    print(json.dumps({**dataclasses.asdict(report), "cpu_s": time.process_time() - cpu}, default=str))


def run_workers(
    store_url: str, base_url: str, mps: float, count: int, log: Path, flavour: str
) -> list[dict[str, Any]]:
    """Start ``count`` worker processes at once and wait for all of them (bounded: 10 minutes)."""
    env = {**os.environ, "PYTHONPATH": f"{h.ROOT}{os.pathsep}{h.ROOT / 'src'}"}
    procs = [
        subprocess.Popen(
            [
                h.PYTHON,
                "-m",
                "benchmarks.pacing",
                "--worker",
                store_url,
                base_url,
                str(mps),
                f"w{i}",
                flavour,
            ],
            cwd=h.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
            preexec_fn=h.die_with_parent,
            text=True,
        )
        for i in range(count)
    ]
    reports = []
    timeout = float(os.environ.get("PACING_WORKER_TIMEOUT", "600"))
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=timeout)
            if proc.returncode != 0:
                tail = log.read_text(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"worker exited with {proc.returncode}: {' | '.join(tail)}")
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in procs:  # never leave a worker behind to steal the next run's jobs
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return reports


def bench_ours(n: int, mps: float, store: str, workers: int, tmp: Path, flavour: str) -> dict[str, Any]:
    """One outbox campaign against a fresh sandbox."""
    if store == "sqlite":
        url = f"sqlite:///{tmp / f'pacing-{n}-{mps}-{flavour}-{time.time_ns()}.db'}"
    else:
        from benchmarks.scale import pg_scratch_dsn

        url = pg_scratch_dsn(os.environ["WACLOUD_TEST_PG_DSN"], "wacloud_bench_pacing")
    with h.sandbox(mps=int(mps), extra_args=QUIET, log=tmp / "sandbox.log") as sb:
        add_template(sb.base_url)
        queue_campaign(url, n, 0)
        t0 = time.perf_counter()
        reports = run_workers(url, sb.base_url, mps, workers, tmp / "workers.log", flavour)
        wall = time.perf_counter() - t0
        figures = sandbox_figures(sb.base_url, mps)
    figures.update(
        wall_s=wall, workers=workers, store=store, per_worker_accepted=[r.get("accepted") for r in reports],
        per_worker_late=[r.get("late") for r in reports],  # jobs given a fresh slot (RunReport.late)
        cpu_us_per_job=1e6 * sum(r.get("cpu_s", 0.0) for r in reports) / max(1, figures["accepted"]),
    )
    return figures


# --- pywa ----------------------------------------------------------------------------------------------


def bench_pywa(n: int, mps: float, tmp: Path) -> dict[str, Any]:
    """A plain loop of pywa ``send_template`` calls against a fresh sandbox with the same limits."""
    from pywa.types.templates import BodyText, TemplateLanguage

    errors: dict[str, int] = {}
    with h.sandbox(mps=int(mps), extra_args=QUIET, log=tmp / "sandbox.log") as sb:
        add_template(sb.base_url)
        wa = h.pywa_sync(sb.base_url)
        t0 = time.perf_counter()
        for i, to in enumerate(h.recipients(n, 0)):
            try:
                wa.send_template(
                    to=to,
                    name=TEMPLATE,
                    language=TemplateLanguage.ENGLISH_US,
                    params=[BodyText.params(f"Customer {i}")],
                )
            except Exception as exc:  # pywa raises on 130429 & co; its natural usage does not retry
                key = str(getattr(exc, "error_code", type(exc).__name__))
                errors[key] = errors.get(key, 0) + 1
        wall = time.perf_counter() - t0
        figures = sandbox_figures(sb.base_url, mps)
    figures.update(wall_s=wall, pywa_errors=errors, loop_rate=n / wall)
    return figures


def line(name: str, f: dict[str, Any]) -> str:
    """One row of the printed table."""
    return (
        f"{name:23} accepted {f['accepted']:>6}/{f['attempts']:<6} achieved {h.fmt(f['achieved_mps'], 1):>7} "
        f"mps  ratio {h.fmt(f['ratio'], 3)}  130429={f['e130429']}  131056={f['e131056']}  "
        f"max/recipient={f['max_accepted_per_recipient']}"
        + (f"  late={f['per_worker_late']}" if f.get("per_worker_late") else "")
        + (f"  worker CPU {f['cpu_us_per_job']:.0f} us/job" if f.get("cpu_us_per_job") else "")
    )


def main() -> None:
    """Run every scenario; print the table and the one-line summary."""
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], sys.argv[6])
        return
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--scenarios", nargs="+", default=["2000@80", "10000@1000"], help="N@MPS")
    parser.add_argument(
        "--pg",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also 2 workers on PostgreSQL (WACLOUD_TEST_PG_DSN)",
    )
    parser.add_argument("--pywa", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--clients",
        nargs="+",
        choices=["async", "sync"],
        default=["async", "sync"],
        help="the clients the outbox workers send with (sync runs in the outbox's threads)",
    )
    args = parser.parse_args()
    pg = args.pg and bool(os.environ.get("WACLOUD_TEST_PG_DSN"))
    figures: dict[str, Any] = {"pg": pg or "skipped: WACLOUD_TEST_PG_DSN not set"}
    parts = []
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        for scenario in args.scenarios:
            n_s, _, mps_s = scenario.partition("@")
            n, mps = int(n_s), float(mps_s)
            runs: dict[str, Any] = {}
            plan = [f"ours-{c}-1w-sqlite" for c in args.clients]
            plan += [f"ours-{c}-2w-postgres" for c in args.clients] if pg else []
            plan += ["pywa-loop"] if args.pywa else []
            for name in plan:
                try:
                    if name == "pywa-loop":
                        runs[name] = bench_pywa(n, mps, tmp)
                    else:
                        _, flavour, workers, store = name.split("-")
                        runs[name] = bench_ours(n, mps, store, int(workers[0]), tmp, flavour)
                    print(f"{scenario:>11}  {line(name, runs[name])}", flush=True)
                except Exception as exc:  # report, carry on
                    runs[name] = {"failed": f"{type(exc).__name__}: {exc}"}
                    print(f"{scenario:>11}  {name}: FAILED {exc}", flush=True)
            figures[scenario] = runs
            for name, f in runs.items():
                if "failed" in f:
                    parts.append(f"{scenario} {name} FAILED")
                    continue
                parts.append(
                    f"{scenario} {name} {h.fmt(f['ratio'], 3)} (accepted {f['accepted']}/{n}, "
                    f"{f['e130429']}x130429, {f['e131056']}x131056)"
                )
    h.report("pacing", figures, "achieved/allowed: " + "; ".join(parts), args.json)


if __name__ == "__main__":
    main()
