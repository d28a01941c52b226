"""A private RabbitMQ node for the tests: Debian's ``rabbitmq-server`` with its own name, ports, data and
logs under a temporary directory (as root is fine), started and stopped by the test."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from wacloud.sandbox import free_port

#: Debian installs the real scripts here; /usr/sbin/rabbitmq-server switches to the rabbitmq user.
_LIB_BIN = Path("/usr/lib/rabbitmq/bin")
START_TIMEOUT_S = 120


def rabbitmq_bin(name: str) -> str | None:
    """The path of a RabbitMQ script (``rabbitmq-server``, ``rabbitmqctl``), or None when not installed."""
    path = _LIB_BIN / name
    if path.is_file():
        return str(path)
    return shutil.which(name)


def require_rabbitmq() -> str:
    """The server script; skips (fails under ``CI=true``) when RabbitMQ is not installed."""
    server = rabbitmq_bin("rabbitmq-server")
    if server is None or rabbitmq_bin("rabbitmqctl") is None:
        reason = ("rabbitmq-server is not installed (apt-get install -y --no-install-recommends "
                  "rabbitmq-server; .ci/run does it)")
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " -- CI must run the RabbitMQ tests")
        pytest.skip(reason)
    return server


class RabbitNode:
    """One node: ``start()``, ``stop()`` (clean shutdown, data kept), ``url``."""

    def __init__(self, base: Path) -> None:
        self.server = require_rabbitmq()
        self.ctl = rabbitmq_bin("rabbitmqctl") or "rabbitmqctl"
        self.base = base
        self.port = free_port()
        self.epmd_port = free_port()
        dist = free_port()
        for sub in ("mnesia", "log", "home"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "enabled_plugins").write_text("[].\n")
        self.nodename = f"wacloud{self.port}@localhost"
        self.env = {
            **os.environ,
            "HOME": str(base / "home"),  # the Erlang cookie is made there: private to this node
            "RABBITMQ_NODENAME": self.nodename,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(dist),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),  # none there: defaults
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),  # not /etc's
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self) -> None:
        """Start the node and wait until it accepts connections."""
        log = (self.base / "log" / "console.log").open("ab")
        self.proc = subprocess.Popen([self.server], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.base)
        log.close()
        done = subprocess.run([self.ctl, "wait", "--timeout", str(START_TIMEOUT_S), str(self.base / "rabbit.pid")],
                              env=self.env, capture_output=True, timeout=START_TIMEOUT_S + 30, check=False)
        if done.returncode != 0:
            self.kill()
            tail = (self.base / "log" / "console.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"rabbitmq-server did not start: {done.stdout!r} {done.stderr!r}\n{tail}")

    def stop(self) -> None:
        """Shut the node down cleanly (its durable queues and persistent messages stay on disk)."""
        proc = self.proc
        if proc is None:
            return
        subprocess.run([self.ctl, "shutdown"], env=self.env, capture_output=True, timeout=120, check=False)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None

    def kill(self) -> None:
        """Kill the node's process group (the Erlang VM and its helpers)."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        self.proc = None

    def close(self) -> None:
        """Stop the node and its private epmd."""
        try:
            self.stop()
        finally:
            epmd = shutil.which("epmd")
            if epmd is not None:
                subprocess.run([epmd, "-port", str(self.epmd_port), "-kill"], capture_output=True, timeout=30,
                               check=False)
