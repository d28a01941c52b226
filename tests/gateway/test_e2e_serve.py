"""End to end: ``wacloud serve`` as a subprocess in sandbox mode, driven over real HTTP and by the CLI.

A bot plugged in with ``--app`` answers a customer's message; statuses come back through the webhook;
a revoked key gets 401; SIGTERM shuts down cleanly; no secret appears in any log line or answer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud.sandbox import free_port

from .conftest import wait_for

APP_SECRET = "e2e-app-secret-9f8e7d6c5b4a"
VERIFY_TOKEN = "e2e-verify-token-1a2b3c"

BOT = """
from wacloud.bot import Application, filters

# No app secret here: the gateway checks webhook signatures and hands the bot verified updates.
app = Application()


@app.on_message(filters.text)
async def echo(msg):
    await msg.reply_text("echo: " + msg.text)
"""


@dataclass
class Served:
    """A running ``wacloud serve`` process and what it printed at start."""

    proc: subprocess.Popen[str]
    info: dict[str, Any]
    cwd: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return str(self.info["base_url"])

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.info['api_key']}"}, timeout=20)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "WACLOUD_GATEWAY_URL": self.url, "WACLOUD_API_KEY": self.info["api_key"]}
        return subprocess.run(
            [sys.executable, "-m", "wacloud", *args],
            cwd=self.cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WACLOUD_")}
    env.update({"WACLOUD_APP_SECRET": APP_SECRET, "WACLOUD_VERIFY_TOKEN": VERIFY_TOKEN, "PYTHONUNBUFFERED": "1"})
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    cwd = tmp_path_factory.mktemp("serve")
    (cwd / "echobot.py").write_text(BOT)
    env = _env()
    port = free_port()
    stderr = (cwd / "stderr.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wacloud",
            "serve",
            "--port",
            str(port),
            "--json",
            "--app",
            "echobot:app",
            "--log-json",
            "--log-level",
            "DEBUG",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"serve printed nothing; stderr: {(cwd / 'stderr.log').read_text()[-2000:]}"
        info = json.loads(line)
        wait_for(lambda: _ready(info["base_url"]), 20, "the gateway to be ready")
        yield Served(proc, info, cwd, env)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        stderr.close()


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_startup_info(served: Served) -> None:
    info = served.info
    assert info["mode"] == "sandbox"
    assert info["api"] == f"{served.url}/v1" and info["webhook"] == f"{served.url}/webhook"
    assert info["sandbox"]["base_url"] == f"{served.url}/sandbox"
    assert info["api_key"].startswith("wk_")
    assert (served.cwd / "wacloud.db").is_file()


def test_send_via_api_and_cli_then_bot_answers_customer(served: Served) -> None:
    hello = {
        "to": "+15553000001",
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    with served.http() as http:
        job = http.post("/v1/messages", json=hello).json()
        wait_for(lambda: http.get(f"/v1/jobs/{job['id']}").json()["state"] == "read", 20, "API job read")
    # The CLI, as a user would run it (gateway URL and key from the environment).
    out = served.cli("send", "template", "+15553000002", "hello_world", "--wait", "--json")
    assert out.returncode == 0, out.stderr
    cli_job = json.loads(out.stdout)
    assert cli_job["state"] in ("delivered", "read") and cli_job["wamid"].startswith("wamid.")
    status = served.cli("status", cli_job["wamid"], "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["id"] == cli_job["id"]
    # The customer answers; the bot (--app echobot:app) replies through the outbox (priority lane).
    control = served.info["sandbox"]["control"]
    key = {"Authorization": f"Bearer {served.info['api_key']}"}  # the control API is the gateway's
    sent = httpx.post(f"{control}/inbound", json={"from": "15553000001", "text": "ping 42"}, timeout=10, headers=key)
    assert sent.status_code == 200, sent.text

    def bot_reply() -> list[dict[str, Any]]:
        got = httpx.get(f"{control}/customers/15553000001/messages", timeout=10, headers=key).json()["received"]
        return [m for m in got if json.dumps(m).count("echo: ping 42")]

    replies = wait_for(bot_reply, 20, "the bot's echo to reach the customer")
    assert len(replies) == 1
    with served.http() as http:

        def logged() -> list[dict[str, Any]]:
            msgs = http.get("/v1/conversations/15553000001/messages").json()["messages"]
            return [
                m
                for m in msgs
                if m["direction"] == "out" and m["wamid"] == replies[0]["id"] and m["status"] in ("delivered", "read")
            ]

        [reply] = wait_for(logged, 20, "the bot reply's statuses in the conversation log")
        # The reply went out as an outbox job: the log has what it said, tied to the job.
        assert reply["type"] == "text" and reply["summary"] == "echo: ping 42"
        assert http.get(f"/v1/jobs/{reply['job_id']}").json()["wamid"] == replies[0]["id"]
        inbound = [
            m for m in http.get("/v1/conversations/15553000001/messages").json()["messages"] if m["direction"] == "in"
        ]
        assert [m["summary"] for m in inbound] == ["ping 42"]


def test_revoked_key_gets_401(served: Served) -> None:
    made = served.cli("keys", "create", "--name", "temp", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert httpx.get(f"{served.url}/v1/jobs", headers={"Authorization": f"Bearer {key['key']}"}).status_code == 200
    revoked = served.cli("keys", "revoke", key["id"], "--json")
    assert revoked.returncode == 0, revoked.stderr
    after = httpx.get(f"{served.url}/v1/jobs", headers={"Authorization": f"Bearer {key['key']}"})
    assert after.status_code == 401
    assert served.cli("keys", "revoke", key["id"]).returncode == 5


def test_cli_errors_have_exit_codes(served: Served) -> None:
    assert served.cli("status", "424242").returncode == 5
    bad = served.cli("send", "text", "12", "hi", "--json")
    assert bad.returncode == 2 and json.loads(bad.stdout)["ok"] is False
    env = {**served.env, "WACLOUD_GATEWAY_URL": served.url, "WACLOUD_API_KEY": "wk_wrong-key-000000000"}
    wrong = subprocess.run(
        [sys.executable, "-m", "wacloud", "status", "1"], env=env, capture_output=True, text=True, timeout=60
    )
    assert wrong.returncode == 4


def test_zz_sigterm_then_no_secret_in_any_log_line(served: Served) -> None:
    served.proc.send_signal(signal.SIGTERM)
    # uvicorn finishes the shutdown, then re-raises the signal so the exit status tells a supervisor why.
    assert served.proc.wait(timeout=20) in (0, -signal.SIGTERM)
    log = (served.cwd / "stderr.log").read_text()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    messages = [line["msg"] for line in lines]
    assert "gateway stopping" in messages and "Application shutdown complete." in messages
    assert len(lines) == len(log.splitlines())  # --log-json: every line is JSON
    secrets = [APP_SECRET, VERIFY_TOKEN, served.info["api_key"], served.info["sandbox"]["access_token"]]
    for secret in secrets:
        assert secret not in log
    # The bot's own (unused) receiver does not warn about signatures: the gateway checks them.
    assert "signature checking is OFF" not in log
