"""``WebhookApp`` freezes the process's start-up objects when it owns the process (it serves the lifespan)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest

import wacloud.webhooks.asgi as asgi
from wacloud.webhooks import WebhookApp, WebhookReceiver, create_webhook_app


@pytest.fixture
def fresh_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No freeze yet in this process (as at a server's start); the test process's objects thawed after."""
    gc.unfreeze()
    monkeypatch.setattr(asgi, "_frozen", False)
    yield
    gc.unfreeze()


async def _start_and_stop(app: Any) -> int:
    """Run ``app``'s ASGI lifespan start-up; the frozen object count at that point; then shut it down."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[str] = []
    frozen_at_start: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            frozen_at_start.append(gc.get_freeze_count())

    inbox.put_nowait({"type": "lifespan.startup"})
    inbox.put_nowait({"type": "lifespan.shutdown"})
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    return frozen_at_start[0]


def _receiver() -> WebhookReceiver:
    return WebhookReceiver(app_secret="s", verify_token="t")


def test_the_app_serving_the_lifespan_freezes_once_per_process(fresh_gc: None) -> None:
    assert gc.get_freeze_count() == 0
    frozen = asyncio.run(_start_and_stop(WebhookApp(_receiver())))
    assert frozen > 1000  # modules, classes, schemas: what start-up built
    # A second app started in the same process (tests start many) does not freeze again.
    gc.unfreeze()
    assert asyncio.run(_start_and_stop(WebhookApp(_receiver()))) == 0


def test_create_webhook_app_freezes_too(fresh_gc: None) -> None:
    assert asyncio.run(_start_and_stop(create_webhook_app(_receiver()))) > 1000


def test_no_freeze_when_turned_off_or_when_mounted(fresh_gc: None) -> None:
    assert asyncio.run(_start_and_stop(WebhookApp(_receiver(), gc_freeze=False))) == 0

    async def mounted() -> None:
        # Mounted in another app, no lifespan reaches it: it starts on its own, and the process is not its own.
        app = WebhookApp(_receiver())
        await app.startup()
        await app.shutdown()

    asyncio.run(mounted())
    assert gc.get_freeze_count() == 0 and not asgi._frozen
