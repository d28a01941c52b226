"""``kill -9`` of ``wacloud serve`` mid-campaign, then a restart on the same database.

The restarted gateway knows the holder of the leases left behind is gone (same host, its process no
longer exists): it takes the jobs back at once instead of a lease's time (60 s) later, says so in its
log, and ``GET /v1/campaigns/{id}`` counts the recovered jobs. Nothing is sent twice.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from wacloud.sandbox import free_port

from .conftest import wait_for

APP_SECRET = "restart-app-secret-5e6f7a8b"
VERIFY_TOKEN = "restart-verify-token-9c0d"


def _serve(cwd: Path, port: int, log: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WACLOUD_")}
    env.update({"WACLOUD_APP_SECRET": APP_SECRET, "WACLOUD_VERIFY_TOKEN": VERIFY_TOKEN, "PYTHONUNBUFFERED": "1",
                "WACLOUD_MPS": "20"})
    proc = subprocess.Popen([sys.executable, "-m", "wacloud", "serve", "--port", str(port), "--json",
                             "--log-level", "INFO"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"serve printed nothing; stderr: {log.read_text()[-2000:]}"
    info: dict[str, Any] = json.loads(line)
    wait_for(lambda: _ready(info["base_url"]), 30, "readiness")
    return proc, info


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False  # not listening yet


def _held(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM jobs WHERE state IN ('claimed', 'sending')").fetchone()
    return int(row[0])


def test_a_restart_after_kill_9_recovers_the_dead_gateways_jobs_at_once_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    proc, info = _serve(tmp_path, port, first_log)
    key = info["api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    url = info["base_url"]
    second: subprocess.Popen[str] | None = None
    try:
        # Slow answers from the (embedded) sandbox: calls are in flight when the gateway dies.
        faults = httpx.post(f"{url}/sandbox/_sandbox/faults", json={"latency_s": 1.5}, headers=auth, timeout=10)
        assert faults.status_code == 200, faults.text
        recipients = [{"to": f"+1555200{i:04d}"} for i in range(60)]
        started = httpx.post(f"{url}/v1/campaigns", json={"template": "hello_world", "recipients": recipients,
                                                          "id": "restart"}, headers=auth, timeout=20)
        assert started.status_code == 202, started.text
        wait_for(lambda: _held(tmp_path / "wacloud.db") >= 3, 20, "jobs in flight")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        held = _held(tmp_path / "wacloud.db")
        assert held >= 3

        restarted = time.monotonic()
        second, _ = _serve(tmp_path, port, second_log)

        def recovered() -> dict[str, Any] | None:
            progress: dict[str, Any] = httpx.get(f"{url}/v1/campaigns/restart", headers=auth, timeout=10).json()
            counts = progress.get("recovered", {})
            return progress if counts.get("released", 0) + counts.get("uncertain", 0) == held else None

        progress = wait_for(recovered, 20, "the recovered counts")
        assert time.monotonic() - restarted < 30  # at once, not when the 60 s leases run out
        assert progress["recovered"].get("uncertain", 0) == progress["states"].get("uncertain", 0)
        assert "that are gone" in second_log.read_text()  # said so in the log
        done = wait_for(lambda: (p := httpx.get(f"{url}/v1/campaigns/restart", headers=auth,
                                                timeout=10).json())["done"] and p, 40, "the campaign to finish")
        assert done["total"] == 60
    finally:
        for p in (proc, second):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
