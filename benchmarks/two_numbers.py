"""Two numbers in two WABAs behind one gateway: each sends at its own rate, concurrently; then one is upgraded.

    python -m benchmarks.two_numbers [--a-mps 10] [--b-mps 20] [--upgraded 40] [--n 150]

A sandbox (in a thread, over HTTP) serves numbers A and B (two WABAs) and allows more than the gateway
paces to; a live-mode gateway configured with two ``[[numbers]]`` tables sends ``n`` templates from each
at once (distinct customers). The achieved rate per number is (accepted - 1) / (last - first acceptance)
from the sandbox's own log. Then a signed ``phone_number_quality_update`` (``THROUGHPUT_UPGRADE``) for B
raises B's rate to ``--upgraded`` and B sends ``n`` more. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx

from wacloud.gateway._app import create_app
from wacloud.gateway._settings import load_settings
from wacloud.sandbox import ServerThread, free_port
from wacloud.sandbox.testing import run_sandbox
from wacloud.webhooks import signature

SECRET = "bench-app-secret"
TOKEN = "bench-token"
A = {"phone_number_id": "300000000000001", "display_phone_number": "15550001001", "waba_id": "400000000000001"}
B = {"phone_number_id": "300000000000002", "display_phone_number": "15550001002", "waba_id": "400000000000002"}


def rate(times: list[float]) -> float:
    """Messages a second between the first and the last of ``times``."""
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def main() -> None:
    """Run the scenario and print the measured rates."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--a-mps", type=int, default=10)
    p.add_argument("--b-mps", type=int, default=20)
    p.add_argument("--upgraded", type=int, default=40)
    p.add_argument("--n", type=int, default=150)
    args = p.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(
        access_token=TOKEN, app_secret=SECRET, mps=max(args.upgraded, args.b_mps) * 2, phone_numbers=[A, B],
        webhook_url=f"{url}/webhook", read_after_s=None,
    ) as sbx:
        numbers = [{**A, "mps": args.a_mps}, {**B, "mps": args.b_mps, "max_mps": args.upgraded}]
        settings = load_settings(database_url=f"sqlite:///{Path(tmp) / 'gw.db'}", port=port, access_token=TOKEN,
                                 app_secret=SECRET, verify_token="v", graph_url=sbx.base_url, numbers=numbers)
        app = create_app(settings)
        _, key = app.state.gateway.keys.create("bench")
        server = ServerThread(app, port=port)
        server.start()
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

        def accepted(pid: str) -> list[float]:
            return [a["at"] for a in sbx.log() if a["phone_number_id"] == pid and a["code"] == 0]

        def send(pid: str, prefix: str) -> None:
            # One campaign per number: queued in bulk, so the measured rate is the pacing's, not the queueing's.
            resp = http.post("/v1/campaigns", json={"from": pid, "template": "hello_world", "id": f"bench-{prefix}",
                                                    "recipients": [{"to": f"+1555{prefix}{i:05d}"}
                                                                   for i in range(args.n)]})
            resp.raise_for_status()

        def wait(pid: str, count: int) -> list[float]:
            deadline = time.monotonic() + 600
            while len(accepted(pid)) < count and time.monotonic() < deadline:
                time.sleep(0.1)
            return accepted(pid)

        try:
            send(A["phone_number_id"], "21")
            send(B["phone_number_id"], "31")
            a, b = wait(A["phone_number_id"], args.n), wait(B["phone_number_id"], args.n)
            overlap = min(a[-1], b[-1]) - max(a[0], b[0])
            print(f"concurrent: A {rate(a):.2f} msg/s (paced to {args.a_mps}), "
                  f"B {rate(b):.2f} msg/s (paced to {args.b_mps}); both sending for {overlap:.2f} s")
            body = {"object": "whatsapp_business_account", "entry": [{"id": B["waba_id"], "changes": [
                {"field": "phone_number_quality_update",
                 "value": {"display_phone_number": B["display_phone_number"], "event": "THROUGHPUT_UPGRADE"}}]}]}
            raw = json.dumps(body).encode()
            httpx.post(f"{url}/webhook", content=raw, headers={"Content-Type": "application/json",
                                                               signature.HEADER: signature.sign(raw, SECRET)})
            time.sleep(1.0)
            send(B["phone_number_id"], "32")
            after = wait(B["phone_number_id"], 2 * args.n)[args.n:]
            print(f"after THROUGHPUT_UPGRADE: B {rate(after):.2f} msg/s (paced to {args.upgraded})")
        finally:
            http.close()
            server.stop()


if __name__ == "__main__":
    main()

