"""Standalone mode (an Application under uvicorn, as the README shows) logs no secret, by default."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from wacloud.sandbox import free_port

TOKEN = "standalone-verify-token-7f3a"

SCRIPT = """
import sys
import uvicorn
from wacloud.bot import Application

app = Application(app_secret="standalone-app-secret-123", verify_token=sys.argv[2])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]))  # uvicorn's default logging, access log on
"""


def test_the_verify_token_never_reaches_uvicorns_access_log(tmp_path: Path) -> None:
    script = tmp_path / "bot.py"
    script.write_text(SCRIPT)
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(port), TOKEN], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        url = f"http://127.0.0.1:{port}/"
        params = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = httpx.get(url, params=params, timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the bot did not start"
                time.sleep(0.1)
        assert resp.status_code == 200 and resp.text == "1158201444"
        wrong = httpx.get(url, params={**params, "hub.verify_token": TOKEN + "x"}, timeout=5)
        assert wrong.status_code == 403
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert "GET /?" in output and "hub.challenge=1158201444" in output  # the access log is still there
    assert TOKEN not in output, output
    assert "hub.verify_token=***" in output
