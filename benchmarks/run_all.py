"""Run every benchmark in turn, each in its own process, saving figures to ``benchmarks/results/``.

    python -m benchmarks.run_all [--only parse send_cost ...] [--quick]

Each benchmark's one-line summary is echoed as it finishes; the JSON files hold every figure (they are
what docs/benchmarks.md quotes). ``--quick`` passes small sizes, for checking that everything runs.
PostgreSQL parts need ``WACLOUD_TEST_PG_DSN`` (``eval "$(bash .ci/postgres.sh)"``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from benchmarks._harness import PYTHON, ROOT, die_with_parent

PLAN: dict[str, tuple[list[str], list[str]]] = {
    # name: (default flags, --quick flags)
    "parse": ([], ["--n", "3000", "--rounds", "2"]),
    "send_cost": ([], ["--n", "300", "--repeat", "1"]),
    "webhook_ingest": ([], ["--duration", "2", "--max-rps", "2000"]),
    "webhook_load": ([], ["--duration", "5"]),
    "pacing": ([], ["--scenarios", "400@80", "2000@1000"]),
    "scale": ([], ["--sizes", "10000", "100000", "--rounds", "10"]),
    "serve_campaign": ([], ["--n", "2000"]),
    "broadcast": ([], ["--n", "2000", "--rounds", "1"]),
}


def main() -> None:
    """Run the plan; exit non-zero if a benchmark failed to run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", choices=list(PLAN), default=list(PLAN))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    failed = []
    for name in args.only:
        flags = PLAN[name][1] if args.quick else PLAN[name][0]
        cmd = [PYTHON, "-m", f"benchmarks.{name}", *flags, "--json", str(out_dir / f"{name}.json")]
        print(f"$ {' '.join(cmd[1:])}   (load average {os.getloadavg()[0]:.2f})", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
                              preexec_fn=die_with_parent)
        (out_dir / f"{name}.log").write_text(proc.stdout + proc.stderr)
        summary = [line for line in proc.stdout.splitlines() if line.startswith("SUMMARY")]
        print(f"  ({time.perf_counter() - t0:.0f}s) " + (summary[-1] if summary else f"FAILED rc={proc.returncode}"),
              flush=True)
        if proc.returncode != 0:
            failed.append(name)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
