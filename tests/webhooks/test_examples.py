"""The runnable examples in examples/ work against the sandbox as documented."""

from __future__ import annotations

import json
import runpy
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from .servers import serve_asgi, wait_for

testing = pytest.importorskip("wacloud.sandbox.testing", reason="the sandbox has not landed")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CUSTOMER = "16505550199"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    with testing.run_sandbox() as handle:
        monkeypatch.setenv("WACLOUD_BASE_URL", handle.base_url)
        monkeypatch.setenv("WACLOUD_TOKEN", handle.token)
        monkeypatch.setenv("WACLOUD_PHONE_NUMBER_ID", handle.phone_number_id)
        monkeypatch.setenv("WACLOUD_APP_SECRET", handle.app_secret)
        monkeypatch.setenv("WACLOUD_STORE", f"sqlite:///{tmp_path / 'examples.db'}")
        yield handle


def _load(name: str) -> dict[str, Any]:
    return runpy.run_path(str(EXAMPLES / name), run_name=f"example_{name[:-3]}")


def _got(sandbox: Any, text: str) -> bool:
    return any(text in json.dumps(m, ensure_ascii=False) for m in sandbox.received(CUSTOMER))


def test_echo_bot(sandbox: Any) -> None:
    ns = _load("echo_bot.py")
    with serve_asgi(ns["app"]) as url:
        sandbox.configure(webhook_url=url + "/")
        sandbox.inject(CUSTOMER, text="ping")
        assert wait_for(lambda: _got(sandbox, "You said: ping"), timeout=10)
    ns["client"].close()


def test_fastapi_mount(sandbox: Any) -> None:
    ns = _load("fastapi_mount.py")
    with serve_asgi(ns["api"]) as url:
        sandbox.configure(webhook_url=url + "/whatsapp/webhook")
        sandbox.inject(CUSTOMER, text="hello")
        assert wait_for(lambda: _got(sandbox, "Hello "), timeout=10)
        sandbox.inject(CUSTOMER, text="/start")
        assert wait_for(lambda: _got(sandbox, "Welcome!"), timeout=10)


def test_plain_server(sandbox: Any) -> None:
    ns = _load("plain_server.py")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), ns["Handler"])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        sandbox.configure(webhook_url=f"http://127.0.0.1:{httpd.server_port}/")
        sandbox.inject(CUSTOMER, text="plain")
        assert wait_for(lambda: _got(sandbox, "plain echo: plain"), timeout=10)
    finally:
        httpd.shutdown()
        httpd.server_close()
    ns["client"].close()


def test_flask_example(sandbox: Any) -> None:
    pytest.importorskip("flask")
    from .servers import serve_wsgi

    ns = _load("flask_app.py")
    with serve_wsgi(ns["app"]) as url:
        sandbox.configure(webhook_url=url + "/webhook")
        sandbox.inject(CUSTOMER, text="from flask")
        assert wait_for(lambda: _got(sandbox, "from flask"), timeout=10)


def test_django_example_is_importable_when_django_is_installed() -> None:
    pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure()
    ns = _load("django_view.py")
    assert callable(ns["whatsapp_webhook"])


@pytest.mark.parametrize("name", ["echo_bot.py", "plain_server.py", "flask_app.py"])
def test_examples_listen_on_the_port_given_in_port(name: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    import httpx

    from wacloud.sandbox import free_port

    if name == "flask_app.py":
        pytest.importorskip("flask")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "WACLOUD_STORE": f"sqlite:///{tmp_path / 'ex.db'}"}
    proc = subprocess.Popen([sys.executable, str(EXAMPLES / name)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = "/webhook" if name == "flask_app.py" else "/"

    def answers() -> bool:
        try:
            resp = httpx.get(f"http://127.0.0.1:{port}{path}", params={"hub.mode": "subscribe",
                             "hub.verify_token": "wrong", "hub.challenge": "1"}, timeout=1)
        except httpx.TransportError:
            return proc.poll() is not None  # stop waiting if it died
        return resp.status_code == 403

    try:
        assert wait_for(answers, 30), f"{name} does not answer on PORT={port}"
        assert proc.poll() is None, f"{name} exited instead of listening on PORT={port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
