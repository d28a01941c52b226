"""Coexistence pacing: a sandbox-mode gateway whose number the sandbox reports as shared with the
WhatsApp Business app (``is_on_biz_app``) queues N template sends; the outbox must hold them to 20 msg/s.

    python -m benchmarks.coexistence [--n 300] [--mps 80]

The gateway is configured at ``--mps`` (80 by default) and learns at start that the number is a
coexistence one; the embedded sandbox enforces 20 msg/s on it. The achieved rate is
(accepted - 1) / (time of last accepted - time of first accepted) from the sandbox's own attempt log;
the ratio is achieved / 20 (target 0.95-1.0) and the sandbox's 130429 (throughput) count (target 0).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from wacloud.gateway._app import create_app
from wacloud.gateway._settings import load_settings
from wacloud.limits import COEXISTENCE_MPS
from wacloud.sandbox import ServerThread, free_port
from wacloud.sandbox._coexistence import flag_number


def run(n: int, mps: int) -> dict[str, Any]:
    """Start the gateway, queue ``n`` templates to distinct customers, wait, and measure from the sandbox."""
    for name in [k for k in os.environ if k.startswith("WACLOUD_")]:
        del os.environ[name]
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        app = create_app(load_settings(database_url=f"sqlite:///{Path(tmp) / 'gw.db'}", port=port, mps=mps,
                                       app_secret="bench-secret-0123456789", verify_token="bench-verify"))
        sandbox = app.state.gateway.sandbox_app.state
        flag_number(sandbox, {"on_biz_app": True})
        for key in ("sent_after_s", "delivered_after_s", "read_after_s", "played_after_s"):
            setattr(sandbox.config, key, None)  # statuses off: the benchmark measures sends
        _, key = app.state.gateway.keys.create("bench")
        server = ServerThread(app, port=port)
        server.start()
        try:
            http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"},
                                timeout=30)
            paced = http.get("/v1/coexistence").json()
            for i in range(n):
                body = {"to": f"1555{7000000 + i}", "type": "template",
                        "template": {"name": "hello_world", "language": {"code": "en_US"}}}
                assert http.post("/v1/messages", json=body).status_code == 202
            deadline = time.monotonic() + n / COEXISTENCE_MPS * 3 + 30
            while time.monotonic() < deadline:
                if sum(1 for a in sandbox.attempts if a.outcome == "accepted") >= n:
                    break
                time.sleep(0.2)
            accepted = sorted(a.at for a in sandbox.attempts if a.outcome == "accepted")
            span = accepted[-1] - accepted[0] if len(accepted) > 1 else float("nan")
            rate = (len(accepted) - 1) / span if span and span > 0 else float("nan")
            errors = sandbox.stats().get("errors", {})
            http.close()
        finally:
            server.stop()
    return {"n": n, "configured_mps": mps, "gateway": paced, "accepted": len(accepted), "span_s": round(span, 2),
            "achieved_mps": round(rate, 2), "ratio": round(rate / COEXISTENCE_MPS, 3),
            "e130429": int(errors.get("130429", 0))}


def main() -> None:
    """Parse the arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--mps", type=int, default=80)
    args = parser.parse_args()
    print(json.dumps(run(args.n, args.mps)))


if __name__ == "__main__":
    main()
