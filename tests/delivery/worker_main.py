"""A worker process for the crash tests: ``python -m tests.delivery.worker_main --store URL ...``.

Prints one JSON line with its run report when it ends (SIGTERM or idle); SIGKILL prints nothing.
"""

from __future__ import annotations

import argparse
import json
import logging

from wacloud.client import AsyncClient
from wacloud.delivery import Outbox, open_store


def main() -> None:
    """Run one outbox worker until SIGTERM (or idle, with --until-idle)."""
    p = argparse.ArgumentParser()
    p.add_argument("--store", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--phone", required=True)
    p.add_argument("--mps", type=float, default=100)
    p.add_argument("--lease", type=float, default=60)
    p.add_argument("--delivery", default="at_most_once")
    p.add_argument("--until-idle", action="store_true")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    client = AsyncClient(token=a.token, phone_number_id=a.phone, base_url=a.base_url)
    ob = Outbox(open_store(a.store), client, mps=a.mps, lease_s=a.lease, delivery=a.delivery,
                pair_interval_s=0.05, enforce_window=False)
    report = ob.run_forever(until_idle=a.until_idle)
    print(json.dumps({"sent": report.sent, "accepted": report.accepted, "released": report.released,
                      "uncertain": report.recovered.uncertain, "resent": report.recovered.resent}), flush=True)


if __name__ == "__main__":
    main()
