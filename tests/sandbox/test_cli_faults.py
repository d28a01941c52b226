"""``wacloud sandbox`` fault flags: parsed, handed to the sandbox's ``Faults`` and acted on over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from wacloud.cli import app
from wacloud.sandbox import free_port


def _control(port: int, path: str) -> Any:
    for _ in range(200):
        try:
            return httpx.get(f"http://127.0.0.1:{port}/_sandbox{path}", timeout=2).json()
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("the sandbox never answered")


def test_fault_flags_reach_the_running_sandbox(tmp_path: Path) -> None:
    port = free_port()
    args = [
        *("--port", str(port), "--seed", "5", "--fail-rate", "1", "--unavailable-rate", "0.1"),
        *("--latency-ms", "20", "--jitter-ms", "5", "--drop-rate", "0.01", "--drop-after-accept-rate", "0.02"),
        *("--timeout-rate", "0.03", "--timeout-s", "2", "--never-deliver-rate", "0.25"),
        *("--fault-code", "131000=0.05", "--fault-code", "131016=0.5"),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wacloud", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        banner = "".join(proc.stdout.readline() for _ in range(10))
        assert "faults:" in banner and '"error_500_rate": 1.0' in banner
        faults = _control(port, "/faults")
        assert faults == {
            "error_500_rate": 1.0,
            "error_503_rate": 0.1,
            "drop_rate": 0.01,
            "drop_after_accept_rate": 0.02,
            "timeout_rate": 0.03,
            "timeout_s": 2.0,
            "latency_s": 0.02,
            "latency_jitter_s": 0.005,
            "codes": {"131000": 0.05, "131016": 0.5},
            "never_deliver_rate": 0.25,
        }
        # The control API is never faulted; the Graph API is (every request a 500 at --fail-rate 1).
        answer = httpx.get(
            f"http://127.0.0.1:{port}/v25.0/{_control(port, '/')['waba_id']}/message_templates",
            headers={"Authorization": "Bearer sandbox-token"},
            timeout=5,
        )
        assert answer.status_code in (500, 503), answer.text
        assert answer.json()["error"]["code"] in (1, 2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_no_fault_flags_means_no_faults(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wacloud", "sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        faults = _control(port, "/faults")
        assert faults["codes"] == {} and faults["timeout_s"] == 30.0
        assert all(v == 0.0 for k, v in faults.items() if k not in ("codes", "timeout_s"))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_bad_fault_flags_are_usage_errors() -> None:
    runner = CliRunner()
    for args, needle in (
        (["--fault-code", "131000"], "CODE=RATE"),
        (["--fault-code", "131000=2"], "CODE=RATE"),
        (["--fault-code", "abc=0.1"], "CODE=RATE"),
        (["--fault-code", "999999=0.1"], "999999"),
        (["--fail-rate", "1.5"], "--fail-rate"),
        (["--latency-ms", "-1"], "--latency-ms"),
        (["--mps", "-3"], "--mps"),
        (["--mps", "0"], "--mps"),
    ):
        result = runner.invoke(app, ["sandbox", *args])
        assert result.exit_code == 2, (args, result.output)
        assert needle in result.output, (args, result.output)
