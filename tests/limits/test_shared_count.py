"""On PostgreSQL two worker processes share one portfolio count: together they reach the tier, not twice it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.delivery.conftest import Rig
from tests.limits.helpers import PROMO, codes, control, marketing_template, numbers

from wacloud.delivery import Outbox, open_store

ROOT = Path(__file__).resolve().parents[2]


def _spawn(rig: Rig, store_url: str) -> subprocess.Popen[str]:
    sb = rig.sandbox
    cmd = [sys.executable, "-m", "tests.delivery.worker_main", "--store", store_url, "--base-url", sb.base_url,
           "--token", sb.token, "--phone", sb.phone_number_id, "--mps", "150", "--until-idle"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_processes_on_postgresql_share_one_portfolio_count(rig: Rig, pg_store_url: str) -> None:
    marketing_template(rig)
    control(rig, "/limits", {"portfolio_tier": "TIER_250", "enforce": True, "notify": False})
    ob = Outbox(open_store(pg_store_url), phone_number_id=rig.sandbox.phone_number_id)
    try:
        ob.campaigns.set_tier("TIER_250")
        ob.broadcast(PROMO, numbers(400, "1650790"), campaign="shared")
        procs = [_spawn(rig, pg_store_url) for _ in range(2)]
        reports = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        summary = ob.summary("shared")
        print(f"\ntwo processes, one 250 tier: accepted {[r['accepted'] for r in reports]} "
              f"(total {summary.accepted}), held {summary.held}, sandbox answers {codes(rig)}")
        assert summary.accepted == 250 and summary.held == 150
        assert all(r["accepted"] > 0 for r in reports) and sum(r["accepted"] for r in reports) == 250
        assert codes(rig) == {0: 250} and ob.campaigns.limits()["reached_24h"] == 250
    finally:
        ob.close()
