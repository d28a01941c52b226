"""The console's live updates: how soon a customer's message reaches an open console page.

    python -m benchmarks.console_live [--n 100]

``wacloud serve`` in sandbox mode (its own process, SQLite, the gateway's event log); a signed-in console
session follows ``GET /console/live`` (Server-Sent Events) as the browser's ``live.js`` does. Each round
posts one customer message to the sandbox (``POST /sandbox/_sandbox/inbound``: the sandbox signs and
delivers the webhook, the gateway stores it and appends ``message.received``) and waits for that event
on the stream. Reported: the latency from the post to the event on the stream (median, p95, max), and
the time to render the conversation list fragment the event makes the page fetch (``/console/inbox/list``).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import _harness as h


def _follow(base: str, cookies: httpx.Cookies, out: queue.Queue[tuple[float, dict[str, Any]]],
            stop: threading.Event) -> None:
    """Read the console's SSE stream, putting (arrival time, event) on ``out``."""
    with httpx.Client(base_url=base, cookies=cookies, timeout=None) as web, web.stream("GET", "/console/live") as s:
        for line in s.iter_lines():
            if stop.is_set():
                return
            if line.startswith("data:"):
                out.put((time.perf_counter(), json.loads(line[5:])))


def main() -> None:
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--n", type=int, default=100, help="messages to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wacloud-console-live-") as tmp, Path(tmp, "log").open("wb") as log:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WACLOUD_")}
        env["PYTHONPATH"] = f"{h.ROOT}{os.pathsep}{h.ROOT / 'src'}"
        env["WACLOUD_LOG_LEVEL"] = "WARNING"
        proc = subprocess.Popen([h.PYTHON, "-m", "wacloud", "serve", "--port", str(h.free_port()), "--json"],
                                cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=log,
                                preexec_fn=h.die_with_parent)
        try:
            assert proc.stdout is not None
            info = json.loads(proc.stdout.readline())
            base = info["base_url"]
            h.wait_http(f"{base}/readyz", timeout=60)
            with httpx.Client(base_url=base, timeout=30) as web:
                assert web.post("/console/signin", data={"api_key": info["api_key"]}).status_code == 303
                events: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
                stop = threading.Event()
                threading.Thread(target=_follow, args=(base, web.cookies, events, stop), daemon=True).start()
                time.sleep(1.0)  # the stream is open (it starts at the log's head)
                api = {"Authorization": f"Bearer {info['api_key']}"}
                latencies: list[float] = []
                renders: list[float] = []
                for i in range(args.n):
                    customer = f"1555740{i:04d}"
                    t0 = time.perf_counter()
                    web.post("/sandbox/_sandbox/inbound", headers=api, json={"from": customer, "text": f"m{i}"})
                    while True:
                        at, ev = events.get(timeout=30)
                        if ev["type"] == "message.received" and ev["wa_id"] == customer:
                            latencies.append((at - t0) * 1000)
                            break
                    t1 = time.perf_counter()
                    web.get("/console/inbox/list")
                    renders.append((time.perf_counter() - t1) * 1000)
                stop.set()
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    figures = {
        "messages": args.n,
        "post_to_stream_ms": {"median": round(h.percentile(latencies, 50), 1),
                              "p95": round(h.percentile(latencies, 95), 1), "max": round(max(latencies), 1)},
        "inbox_list_render_ms": {"median": round(h.percentile(renders, 50), 1),
                                 "p95": round(h.percentile(renders, 95), 1)},
        "machine": h.machine(),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
