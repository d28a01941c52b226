"""The processes a campaign test runs: outbox workers and a webhook receiver that feeds the outbox.

    python -m tests.reliability.rig worker --store URL --base-url URL [--mps N] [--forever]
    python -m tests.reliability.rig --port P hooks --store URL

Both open the same store. The receiver is durable (the store is its inbox and dedup store) and hands
every update to ``Outbox.handle`` (statuses move jobs, failed statuses apply the retry policy). The
retry policy is the real one with compressed delays, so a campaign under faults finishes in seconds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from benchmarks import _harness as h


def fast_policy() -> Any:
    """``RetryPolicy`` with the production bounds and millisecond-scale delays."""
    from wacloud.delivery import RetryPolicy

    return RetryPolicy(backoff_base_s=0.02, backoff_cap_s=0.3, pair_base_s=0.05, pair_cap_s=0.5,
                       auth_pause_s=0.5)


def outbox(store_url: str, client: Any = None, **kwargs: Any) -> Any:
    """An outbox on ``store_url`` for the sandbox's number, with the fast policy."""
    from benchmarks._ours import open_store

    from wacloud.delivery import Outbox

    return Outbox(open_store(store_url), client, phone_number_id=h.SANDBOX_PHONE_ID, policy=fast_policy(),
                  **kwargs)


def worker(store_url: str, base_url: str, mps: float, name: str, forever: bool) -> None:
    """Send until nothing is owed a send (or, with ``forever``, until killed); print the report."""
    from wacloud import Client

    client = Client(token=h.SANDBOX_TOKEN, phone_number_id=h.SANDBOX_PHONE_ID, base_url=base_url, timeout=10.0)
    box = outbox(store_url, client, mps=mps, worker_name=name, lease_s=2.0)
    report = box.run_forever(until_idle=not forever)
    print(json.dumps(dataclasses.asdict(report), default=str), flush=True)


def hooks_app(store_url: str) -> Any:
    """The durable receiver feeding ``Outbox.handle``."""
    from benchmarks._ours import open_store

    from wacloud.webhooks import WebhookApp, WebhookReceiver

    box = outbox(store_url)
    store = open_store(store_url)
    receiver = WebhookReceiver(app_secret=h.SANDBOX_APP_SECRET, verify_token="rig", dedup=store, inbox=store,
                               on_update=box.handle)
    return WebhookApp(receiver)


def main() -> None:
    """Run one rig process."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0, help="hooks: the port to serve on")
    sub = parser.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--store", required=True)
    w.add_argument("--base-url", required=True)
    w.add_argument("--mps", type=float, default=1000)
    w.add_argument("--name", default="w0")
    w.add_argument("--forever", action="store_true")
    k = sub.add_parser("hooks")
    k.add_argument("--store", required=True)
    args = parser.parse_args()
    if args.cmd == "worker":
        worker(args.store, args.base_url, args.mps, args.name, args.forever)
    else:
        import uvicorn

        uvicorn.run(hooks_app(args.store), host="127.0.0.1", port=args.port, log_level="warning",
                    access_log=False)


if __name__ == "__main__":
    main()
