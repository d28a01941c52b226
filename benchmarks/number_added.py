"""A number added at run time (``POST /v1/numbers``) while another sends: how long the add takes, and
whether each number then sends at its own rate.

    python -m benchmarks.number_added [--a-mps 10] [--b-mps 20] [--n 150]

A sandbox (in a thread, over HTTP) serves A and B, B with a token of its own (another Meta app's); a
live-mode gateway configured with A alone starts a campaign from A, then an admin adds B over the API
(the gateway reads B from the Graph API with B's token before serving it) and B sends a campaign while A's
is still going. Rates are (accepted - 1) / (last - first acceptance) from the sandbox's own log; A's rate
is also given for before and after the add. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.two_numbers import SECRET, TOKEN, A, B, rate
from wacloud.gateway._app import create_app
from wacloud.gateway._settings import load_settings
from wacloud.sandbox import ServerThread, free_port
from wacloud.sandbox.testing import run_sandbox

TOKEN_B = "bench-token-of-b"


def main() -> None:
    """Run the scenario and print the measured figures."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--a-mps", type=int, default=10)
    p.add_argument("--b-mps", type=int, default=20)
    p.add_argument("--n", type=int, default=150)
    args = p.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(
        access_token=TOKEN, app_secret=SECRET, mps=max(args.a_mps, args.b_mps) * 2,
        phone_numbers=[A, {**B, "access_token": TOKEN_B}], webhook_url=f"{url}/webhook", read_after_s=None,
    ) as sbx:
        settings = load_settings(database_url=f"sqlite:///{Path(tmp) / 'gw.db'}", port=port, access_token=TOKEN,
                                 app_secret=SECRET, verify_token="v", graph_url=sbx.base_url,
                                 numbers=[{**A, "mps": args.a_mps}])
        app = create_app(settings)
        _, key = app.state.gateway.keys.create("bench")
        server = ServerThread(app, port=port)
        server.start()
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

        def accepted(pid: str) -> list[float]:
            return [a["at"] for a in sbx.log() if a["phone_number_id"] == pid and a["code"] == 0]

        def send(pid: str, prefix: str, n: int) -> None:
            resp = http.post("/v1/campaigns", json={"from": pid, "template": "hello_world", "id": f"bench-{prefix}",
                                                    "recipients": [{"to": f"+1555{prefix}{i:05d}"} for i in range(n)]})
            resp.raise_for_status()

        def wait(pid: str, count: int) -> list[float]:
            deadline = time.monotonic() + 600
            while len(accepted(pid)) < count and time.monotonic() < deadline:
                time.sleep(0.1)
            return accepted(pid)

        try:
            send(A["phone_number_id"], "21", 2 * args.n)
            wait(A["phone_number_id"], args.n // 3)
            started = time.perf_counter()
            resp = http.post("/v1/numbers", json={**B, "access_token": TOKEN_B, "mps": args.b_mps})
            took_ms = (time.perf_counter() - started) * 1000
            resp.raise_for_status()
            added_at = time.time()
            send(B["phone_number_id"], "31", args.n)
            b = wait(B["phone_number_id"], args.n)
            a = wait(A["phone_number_id"], 2 * args.n)
            a_before = [t for t in a if t < added_at]
            a_while = [t for t in a if b[0] <= t <= b[-1]]
            print(f"POST /v1/numbers (Graph check with B's token, lane built, workers started): {took_ms:.1f} ms")
            print(f"A before the add: {rate(a_before):.2f} msg/s; A while B sends: {rate(a_while):.2f} msg/s "
                  f"(paced to {args.a_mps})")
            print(f"B (added at run time): {rate(b):.2f} msg/s (paced to {args.b_mps}); first send "
                  f"{b[0] - added_at:.2f} s after the add")
        finally:
            http.close()
            server.stop()


if __name__ == "__main__":
    main()
