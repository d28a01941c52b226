"""End to end: the sandbox injects a signed webhook, an echo bot answers through the real Client."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from wacloud.bot import Application
from wacloud.bot import filters as f
from wacloud.webhooks import MessageUpdate, StatusUpdate, Update
from wacloud.webhooks.signature import sign

from .servers import serve_asgi, serve_wsgi, wait_for

testing = pytest.importorskip("wacloud.sandbox.testing", reason="the sandbox has not landed")

CUSTOMER = "16505550111"


@pytest.fixture
def sandbox() -> Iterator[Any]:
    with testing.run_sandbox() as handle:
        yield handle


def _texts(received: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(item, ensure_ascii=False) for item in received]


def test_echo_bot_against_the_sandbox(sandbox: Any) -> None:
    client = sandbox.client()
    app = Application(client=client, app_secret=sandbox.app_secret, verify_token="v")
    statuses: list[str] = []
    lock = threading.Lock()

    @app.on_message(f.text)
    def echo(msg: MessageUpdate) -> None:
        msg.reply_text(f"you said: {msg.text}", quote=True)

    @app.on_status()
    def track(update: StatusUpdate) -> None:
        with lock:
            statuses.append(update.status.status)

    with serve_asgi(app) as url:
        sandbox.configure(webhook_url=url + "/")
        injected = sandbox.inject(CUSTOMER, text="hello bot")
        assert wait_for(lambda: any("you said: hello bot" in t for t in _texts(sandbox.received(CUSTOMER))),
                        timeout=10)
        reply = next(r for r in sandbox.received(CUSTOMER) if "you said: hello bot" in json.dumps(r))
        assert injected["id"] in json.dumps(reply)  # quoted the customer's message
        # The sandbox then reports the reply's statuses back through the same webhook.
        assert wait_for(lambda: "delivered" in statuses, timeout=10)
    client.close()


def test_wsgi_bot_against_the_sandbox_and_duplicates(sandbox: Any) -> None:
    client = sandbox.client()
    app = Application(client=client, app_secret=sandbox.app_secret)
    seen: list[Update] = []

    @app.on_message()
    def count(msg: MessageUpdate) -> None:
        seen.append(msg)
        msg.mark_as_read()

    with serve_wsgi(app.wsgi()) as url:
        sandbox.configure(webhook_url=url + "/")
        injected = sandbox.inject(CUSTOMER, text="once")
        assert wait_for(lambda: len(seen) == 1, timeout=10)
        assert seen[0].update_id == injected["id"]
        # Meta's at-least-once redelivery of the very same signed payload: not handled twice.
        payload = injected["payload"]
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"content-type": "application/json", "x-hub-signature-256": sign(raw, sandbox.app_secret)}
        for _ in range(2):
            assert httpx.post(url + "/", content=raw, headers=headers, timeout=10).status_code == 200
        # wsgiref serves one request at a time, close() included: once this GET is answered, the
        # redeliveries above have been fully processed.
        httpx.get(url + "/", timeout=10)
        assert len(seen) == 1
    client.close()
