"""Render ``benchmarks/results/*.json`` (written by ``run_all``) as the markdown tables of docs/benchmarks.md.

python -m benchmarks.report > /tmp/figures.md
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks._harness import ROOT

RESULTS = ROOT / "benchmarks" / "results"


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _n(x: Any, digits: int = 0) -> str:
    if not isinstance(x, int | float) or x != x:
        return "n/a"
    return f"{x:,.{digits}f}"


def _head(d: dict[str, Any], cmd: str) -> list[str]:
    load = d.get("loadavg_1_5_15") or ["?"]
    return [
        f"`{cmd}` -- finished {d['date_utc']} UTC, nproc {d['nproc']}, Python {d['python']}, "
        f"load average {_n(load[0], 2) if isinstance(load[0], float) else load[0]} when it finished",
        "",
    ]


def parse(d: dict[str, Any]) -> list[str]:
    """The parse table."""
    f = d["figures"]
    out = _head(d, "python -m benchmarks.parse")
    out += [
        "| | updates/s | µs per body | kinds typed (of 36) | kinds typed without `user_id` | "
        "updates from one 10-entry x 5-change body |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for side in ("ours", "pywa"):
        s = f.get(side)
        if not s:
            continue
        batch = next((v for k, v in s.items() if k.startswith("batch_updates_of_")), "n/a")
        out.append(
            f"| {side} | {_n(s['updates_per_s'])} | {_n(s['us_per_body'], 1)} | {s['typed_kinds']} | "
            f"{s['typed_kinds_without_user_id']} | {batch} |"
        )
    out += [
        "",
        f"Ratio ours/pywa: **{_n(f.get('ratio_ours_over_pywa'), 2)}x** ({f['n_bodies']:,} bodies, "
        f"{f['mix']} mix, best of {f['rounds']}).",
    ]
    return out


def send_cost(d: dict[str, Any]) -> list[str]:
    """The send-cost table."""
    f = d["figures"]
    out = _head(d, "python -m benchmarks.send_cost")
    out += ["| client @ concurrency | CPU µs per accepted message | messages/s | accepted |", "|---|---:|---:|---:|"]
    for key, r in f["results"].items():
        if "failed" in r:
            out.append(f"| {key} | failed: {r['failed']} | | |")
            continue
        out.append(f"| {key} | {_n(r['cpu_us_per_msg'])} | {_n(r['msgs_per_s'])} | {r['accepted']}/{r['sent']} |")
    ratios = ", ".join(f"{k} **{_n(v, 2)}**" for k, v in f["ratios_ours_over_pywa"].items())
    out += [
        "",
        f"CPU per message, ours/pywa (target <= 0.5; `httpx-*`: our clients on an httpx transport): {ratios}. "
        "Median of the rounds, "
        f"{f['n']:,} timed messages per round.",
    ]
    return out


def webhook_ingest(d: dict[str, Any]) -> list[str]:
    """The ingest table."""
    f = d["figures"]
    rates = sorted(int(k.split("_")[1]) for k in f.get("ours", {}) if k.startswith("rate_"))
    out = _head(d, "python -m benchmarks.webhook_ingest")
    cols = " | ".join(f"p50 / p99 ms @{r}/s" for r in rates)
    out += [
        f"| receiver | saturation req/s | server CPU µs/req | x floor | {cols} | RSS MiB |",
        "|---|---:|---:|---:|" + "---:|" * len(rates) + "---:|",
    ]
    for name in ("ours", "ours-sqlite", "pywa", "floor"):
        r = f.get(name)
        if not r:
            continue
        if "failed" in r:
            out.append(f"| {name} | failed: {r['failed']} |")
            continue
        lat = " | ".join(f"{_n(r[f'rate_{x}']['p50_ms'], 2)} / {_n(r[f'rate_{x}']['p99_ms'], 2)}" for x in rates)
        out.append(
            f"| {name} | {_n(r['saturation']['throughput_rps'])} | {_n(r['server_cpu_us_per_req'])} | "
            f"{_n(r['cpu_multiple_of_floor'], 1)} | {lat} | {_n(r['rss_mb_start'])} -> {_n(r['rss_mb_end'])} |"
        )
    ratios = ", ".join(f"{k} {_n(v, 2)}x" for k, v in f["saturation_ratios"].items())
    out += [
        "",
        f"Floor (HMAC check + `json.loads` in a bare loop): **{_n(f['floor_us_per_body'], 1)} µs** per body. "
        f"Saturation ratios: {ratios}. {f['mix']} mix, {_n(f['avg_body_bytes'])} bytes per body on average, "
        f"{f['duration_s']:.0f} s per phase.",
    ]
    return out


def webhook_load(d: dict[str, Any]) -> list[str]:
    """The sustained-load line."""
    f = d["figures"]
    out = _head(d, "python -m benchmarks.webhook_load")
    non200 = f["done"] - f["ok"] - sum(f["errors"].values())
    out.append(
        f"{_n(f['rate'])} req/s for {_n(f['duration'])} s into our receiver (store {f['store']}): "
        f"{f['ok']:,}/{f['offered']:,} answered 200, {sum(f['errors'].values())} errors, {non200} other "
        f"statuses, {f['handled']:,} updates handled; ack p50 {_n(f['p50_ms'], 2)} ms, p99 "
        f"{_n(f['p99_ms'], 2)} ms, max {_n(f['max_ms'], 1)} ms; server RSS {_n(f['rss_start_mb'])} MiB at "
        f"start, {_n(f['rss_max_mb'])} MiB max, {_n(f['rss_second_half_growth_mb'], 1)} MiB growth over the "
        f"second half."
    )
    return out


def pacing(d: dict[str, Any]) -> list[str]:
    """The pacing table."""
    f = d["figures"]
    out = _head(d, "python -m benchmarks.pacing")
    out += [
        "| scenario | sender | accepted | achieved mps | achieved / allowed | 130429 | 131056 | max per recipient |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario, runs in f.items():
        if not isinstance(runs, dict) or "@" not in scenario:
            continue
        n = int(scenario.split("@")[0])
        for name, r in runs.items():
            if "failed" in r:
                out.append(f"| {scenario} | {name} | failed: {r['failed'][:80]} | | | | | |")
                continue
            out.append(
                f"| {scenario} | {name} | {r['accepted']:,}/{n:,} | {_n(r['achieved_mps'], 1)} | "
                f"**{_n(r['ratio'], 3)}** | {r['e130429']:,} | {r['e131056']:,} | "
                f"{r['max_accepted_per_recipient']} |"
            )
    return out


def scale(d: dict[str, Any]) -> list[str]:
    """The scale table."""
    f = d["figures"]
    out = _head(d, "python -m benchmarks.scale")
    out += [
        "| store | queued jobs | claim(100) p50 ms | p99 ms | claim + mark sending + settle, µs per job | "
        "worker RSS MiB | "
        "fill s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    plans = []
    for kind in ("sqlite", "postgres"):
        s = f.get(kind)
        if not s:
            continue
        if "skipped" in s or "failed" in s:
            out.append(f"| {kind} | {s.get('skipped') or s.get('failed')} | | | | | |")
            continue
        for size in f["sizes"]:
            r = s[str(size)]
            out.append(
                f"| {kind} | {size:,} | {_n(r['claim_p50_ms'], 2)} | {_n(r['claim_p99_ms'], 2)} | "
                f"{_n(r['cycle_us_per_job'])} | {_n(r['rss_mb'])} | {_n(r['fill_s'], 1)} |"
            )
        plans.append(
            f"{kind}: `store.add` {_n(s['enqueue_jobs_per_s'])} jobs/s; claim plan at "
            f"{f['sizes'][-1]:,}: `{s[str(f['sizes'][-1])]['plan'][:160]}`"
        )
    out += [""] + [f"- {p}" for p in plans]
    return out


def headline() -> list[str]:
    """One table of the figures the issue asks for, ours against pywa."""
    rows = ["| figure | ours | pywa | ours / pywa | target |", "|---|---:|---:|---:|---|"]
    d = _load("parse")
    if d:
        f = d["figures"]
        rows.append(
            f"| parse, updates per CPU-second (mixed corpus) | {_n(f['ours']['updates_per_s'])} | "
            f"{_n(f['pywa']['updates_per_s'])} | {_n(f['ratio_ours_over_pywa'], 2)}x | faster |"
        )
    d = _load("send_cost")
    if d:
        r, q = d["figures"]["results"], d["figures"]["ratios_ours_over_pywa"]
        for key in q:
            flavour, conc = key.split("@")
            # ``httpx-sync``: our sync client on an httpx transport, against pywa's sync client.
            peer = flavour.removeprefix("httpx-")
            ours, pywa = r.get(f"ours-{flavour}@{conc}", {}), r.get(f"pywa-{peer}@{conc}", {})
            label = f"{peer} client on httpx" if peer != flavour else f"{flavour} client"
            rows.append(
                f"| send, CPU µs per accepted message, {label}, concurrency {conc} | "
                f"{_n(ours.get('cpu_us_per_msg'))} | {_n(pywa.get('cpu_us_per_msg'))} | {_n(q[key], 2)} | "
                f"{'<= 0.5' if peer == flavour else ''} |"
            )
        for key in q:
            flavour, conc = key.split("@")
            if flavour.startswith("httpx-"):
                continue
            ours, pywa = r.get(f"ours-{flavour}@{conc}", {}), r.get(f"pywa-{flavour}@{conc}", {})
            rows.append(
                f"| send, messages/s, {flavour} client, concurrency {conc} | {_n(ours.get('msgs_per_s'))} | "
                f"{_n(pywa.get('msgs_per_s'))} | "
                f"{_n(ours.get('msgs_per_s', 0) / max(pywa.get('msgs_per_s', 1), 1), 2)} | |"
            )
    d = _load("webhook_ingest")
    if d:
        f = d["figures"]
        for name in ("ours", "ours-sqlite"):
            if "saturation" in f.get(name, {}) and "saturation" in f.get("pywa", {}):
                o, p = f[name], f["pywa"]
                label = "store off" if name == "ours" else "SQLite store on"
                rows.append(
                    f"| webhook ingest at saturation, req/s ({label}) | {_n(o['saturation']['throughput_rps'])} | "
                    f"{_n(p['saturation']['throughput_rps'])} | {_n(f['saturation_ratios'][f'{name}/pywa'], 2)}x | |"
                )
                rows.append(
                    f"| webhook ack p99 at 1,000 req/s offered, ms ({label}) | {_n(o['rate_1000']['p99_ms'], 2)} | "
                    f"{_n(p['rate_1000']['p99_ms'], 2)} | | Meta: median <= 250 ms |"
                )
                rows.append(
                    f"| receiver CPU per update as a multiple of the HMAC+JSON floor ({label}) | "
                    f"{_n(o['cpu_multiple_of_floor'], 1)}x | {_n(p['cpu_multiple_of_floor'], 1)}x | | |"
                )
    d = _load("pacing")
    if d:
        for scenario, runs in d["figures"].items():
            if "@" not in scenario or not isinstance(runs, dict):
                continue
            pywa = runs.get("pywa-loop", {})
            for name, r in runs.items():
                if name == "pywa-loop" or "failed" in r:
                    continue
                rows.append(
                    f"| pacing {scenario}, achieved / allowed rate, {name} | **{_n(r['ratio'], 3)}** "
                    f"({r['e130429']} x 130429, {r['e131056']} x 131056) | "
                    f"{_n(pywa.get('accepted'))} of {scenario.split('@')[0]} accepted, "
                    f"{_n(pywa.get('e130429'))} x 130429 | | >= 0.98, 0 errors |"
                )
    d = _load("scale")
    if d:
        f = d["figures"]
        lo, hi = str(f["sizes"][0]), str(f["sizes"][-1])
        for kind in ("sqlite", "postgres"):
            s = f.get(kind, {})
            if lo in s and hi in s:
                rows.append(
                    f"| claim(100) p50 ms at {int(lo):,} -> {int(hi):,} queued, {kind} | "
                    f"{_n(s[lo]['claim_p50_ms'], 2)} -> {_n(s[hi]['claim_p50_ms'], 2)} "
                    f"(RSS {_n(s[lo]['rss_mb'])} -> {_n(s[hi]['rss_mb'])} MiB) | | | flat |"
                )
    return rows


def main() -> None:
    """Print every table there are results for."""
    print("#### headline\n")
    print("\n".join(headline()))
    print()
    for name, render in (
        ("parse", parse),
        ("send_cost", send_cost),
        ("webhook_ingest", webhook_ingest),
        ("webhook_load", webhook_load),
        ("pacing", pacing),
        ("scale", scale),
    ):
        d = _load(name)
        print(f"#### {name}\n")
        print("\n".join(render(d)) if d else "(no results)")
        print()


if __name__ == "__main__":
    main()
