"""Limits: the achieved rate before and after a throughput upgrade mid-campaign, and a 250 tier's holds.

    python -m benchmarks.limits [--n 1000] [--before-mps 80] [--after-mps 1000]

A sandbox in this process (its webhooks reach a real receiver feeding the outbox's SQLite store) starts
at ``--before-mps``; once 20% of the campaign is accepted, ``POST /_sandbox/throughput_upgrade`` answers
131057 for one second, then raises the number to ``--after-mps`` and sends ``THROUGHPUT_UPGRADE``. The
rates are measured from the sandbox's own log (accepted sends, first to last, before the upgrade was
asked for and after it completed). Then 400 marketing templates to new customers on an enforced 250 tier:
accepted, held by reason, and the sandbox's refusals (target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from wacloud.delivery import Outbox, open_store
from wacloud.sandbox import ServerThread
from wacloud.sandbox.testing import run_sandbox
from wacloud.webhooks.asgi import create_webhook_app
from wacloud.webhooks.receiver import WebhookReceiver


def _rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0


async def _upgrade(sandbox: Any, url: str, n: int, before: float, after: float) -> dict[str, Any]:
    sandbox.configure(mps=before)
    ob = Outbox(open_store(url), sandbox.async_client(), mps=before, pair_interval_s=0.05, concurrency=32)
    ob.broadcast("hello_world", [f"+1650555{i:04d}" for i in range(n)], category="utility", campaign="up")
    run = asyncio.create_task(ob.run(until_idle=True))
    while (await asyncio.to_thread(ob.summary, "up")).accepted < n // 5:  # noqa: ASYNC110 - polls the store
        await asyncio.sleep(0.02)
    asked = time.time()
    r = sandbox.control.post("/throughput_upgrade", json={"after_s": 1.0, "mps": after})
    assert r.status_code == 200, r.text
    await run
    log = sandbox.log()
    ok = sorted(a["at"] for a in log if a["code"] == 0)
    codes: dict[str, int] = {}
    for a in log:
        codes[str(a["code"])] = codes.get(str(a["code"]), 0) + 1
    ob.close()
    return {"n": n, "mps_before": before, "mps_after": after,
            "achieved_before": round(_rate([t for t in ok if t <= asked]), 1),
            "achieved_after": round(_rate([t for t in ok if t >= asked + 1.0]), 1), "sandbox_answers": codes}


async def _tier(sandbox: Any, url: str) -> dict[str, Any]:
    sandbox.control.post("/templates", json={"name": "promo_bench", "language": "en_US", "category": "MARKETING",
                                             "components": [{"type": "BODY", "text": "Sale."}]})
    sandbox.control.post("/limits", json={"portfolio_tier": "TIER_250", "enforce": True, "notify": False,
                                          "reset_count": True})
    ob = Outbox(open_store(url), sandbox.async_client(), mps=200, pair_interval_s=0.05, portfolio="bench")
    await ob.refresh_limits()
    ob.broadcast({"name": "promo_bench", "language": {"code": "en_US"}},
                 [f"+1650444{i:04d}" for i in range(400)], campaign="tier")
    await ob.run(until_idle=True)
    report = ob.campaigns.report("tier")
    ob.close()
    refused = sandbox.control.get("/limits").json()["refused"]
    return {"accepted": report.summary.accepted, "held": report.held, "sandbox_refusals": refused}


def main() -> None:
    """Run both scenarios and print one JSON document."""
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--before-mps", type=float, default=80)
    p.add_argument("--after-mps", type=float, default=1000)
    a = p.parse_args()
    out: dict[str, Any] = {"at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(seed=5) as sandbox:
        url = f"sqlite:///{Path(tmp) / 'limits.db'}"
        hooks_store = open_store(url)
        hooks = Outbox(hooks_store, phone_number_id=sandbox.phone_number_id)
        receiver = WebhookReceiver(app_secret=sandbox.app_secret, dedup=hooks_store, inbox=hooks_store,
                                   on_update=hooks.handle)
        server = ServerThread(create_webhook_app(receiver))
        server.start()
        sandbox.configure(webhook_url=f"{server.base_url}/webhook")
        try:
            out["throughput_upgrade"] = asyncio.run(_upgrade(sandbox, url, a.n, a.before_mps, a.after_mps))
            out["tier_250"] = asyncio.run(_tier(sandbox, url))
        finally:
            server.stop()
            hooks_store.close()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
