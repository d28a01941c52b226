"""``WebhookApp`` tunes the garbage collector once it owns the process (it serves the lifespan itself)."""

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
    """The collector as at a server's start (nothing frozen, default thresholds); restored after."""
    before = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    monkeypatch.setattr(asgi, "_gc_tuned", False)
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


async def _start_and_stop(app: Any) -> tuple[int, int]:
    """Run ``app``'s ASGI lifespan; the frozen object count and young threshold once it started."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[str] = []
    at_start: list[tuple[int, int]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            at_start.append((gc.get_freeze_count(), gc.get_threshold()[0]))

    inbox.put_nowait({"type": "lifespan.startup"})
    inbox.put_nowait({"type": "lifespan.shutdown"})
    await app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    return at_start[0]


def _receiver() -> WebhookReceiver:
    return WebhookReceiver(app_secret="s", verify_token="t")


def test_the_app_serving_the_lifespan_tunes_the_collector_once_per_process(fresh_gc: None) -> None:
    frozen, young = asyncio.run(_start_and_stop(WebhookApp(_receiver())))
    assert frozen > 1000  # modules, classes, schemas: what start-up built
    assert young == asgi.GC_YOUNG_THRESHOLD and gc.get_threshold()[1:] == (10, 10)
    # A second app started in the same process (tests start many) does not freeze again.
    gc.unfreeze()
    assert asyncio.run(_start_and_stop(WebhookApp(_receiver())))[0] == 0


def test_create_webhook_app_tunes_it_too(fresh_gc: None) -> None:
    frozen, young = asyncio.run(_start_and_stop(create_webhook_app(_receiver())))
    assert frozen > 1000 and young == asgi.GC_YOUNG_THRESHOLD


def test_a_threshold_chosen_on_purpose_is_kept(fresh_gc: None) -> None:
    gc.set_threshold(50_000, 20, 20)
    assert asyncio.run(_start_and_stop(WebhookApp(_receiver())))[1] == 50_000
    assert gc.get_threshold() == (50_000, 20, 20)


def test_nothing_is_tuned_when_turned_off_or_when_mounted(fresh_gc: None) -> None:
    assert asyncio.run(_start_and_stop(WebhookApp(_receiver(), gc_tuning=False))) == (0, 700)

    async def mounted() -> None:
        # Mounted in another app, no lifespan reaches it: it starts on its own, and the process is not its own.
        app = WebhookApp(_receiver())
        await app.startup()
        await app.shutdown()

    asyncio.run(mounted())
    assert gc.get_freeze_count() == 0 and gc.get_threshold()[0] == 700 and not asgi._gc_tuned
