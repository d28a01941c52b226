"""Fixtures: ``wacloud serve`` in sandbox mode (a real subprocess, an echo bot) and headless Chromium.

Keys of each role are made with ``wacloud keys create --role`` against the served database. Screenshots
of the pages go to ``$WACLOUD_SCREENSHOTS`` (e.g. ``docs/img``) when it is set.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud.sandbox import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

BOT = """
from wacloud.bot import Application, filters

app = Application()


@app.on_message(filters.text)
async def echo(msg):
    await msg.reply_text("echo: " + msg.text)
"""


@dataclass
class Served:
    """A running ``wacloud serve``: its URL, the keys by role, its working directory."""

    proc: subprocess.Popen[str]
    url: str
    cwd: Path
    env: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)

    def http(self, role: str = "admin") -> httpx.Client:
        """An HTTP API client with the key of ``role``."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.keys[role]}"}, timeout=20)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``wacloud`` against the served database."""
        return subprocess.run([sys.executable, "-m", "wacloud", *args], cwd=self.cwd, env=self.env,
                              capture_output=True, text=True, timeout=60)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WACLOUD_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_for(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    """Call ``probe`` until it returns something truthy (bounded; fails with ``what``). An element not
    there yet (the next page still loading on a busy machine) counts as not yet."""
    import time

    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except (NoSuchElementException, StaleElementReferenceException):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``wacloud serve --app echobot:app`` on a free port, with an admin, an agent and a viewer key."""
    cwd = tmp_path_factory.mktemp("console")
    (cwd / "echobot.py").write_text(BOT)
    env = _env()
    stderr = (cwd / "stderr.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "wacloud", "serve", "--port", str(free_port()), "--json", "--app", "echobot:app"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"serve printed nothing; stderr: {(cwd / 'stderr.log').read_text()[-2000:]}"
        info = json.loads(line)
        wait_for(lambda: _ready(info["base_url"]), 30, "the gateway to be ready")
        served = Served(proc, info["base_url"], cwd, env, {"admin": info["api_key"]})
        for role in ("agent", "viewer"):
            made = served.cli("keys", "create", "--name", f"{role} key", "--role", role, "--json")
            assert made.returncode == 0, made.stderr
            served.keys[role] = json.loads(made.stdout)["key"]
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        stderr.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's package) through Selenium."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium/chromedriver missing ({CHROMIUM}, {CHROMEDRIVER}): .ci/run installs them")
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra")
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="wacloud-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={profile}"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def screenshot(driver: Any, name: str) -> None:
    """Save the page as ``$WACLOUD_SCREENSHOTS/name.png`` when that variable is set."""
    folder = os.environ.get("WACLOUD_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))
