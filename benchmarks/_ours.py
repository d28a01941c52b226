"""The one place the benchmarks touch wacloud's APIs, so a contract change is fixed here only.

Each function imports lazily: a benchmark for a part that has not landed reports it could not run
instead of failing at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def webhook_parse() -> Callable[[bytes], list[Any]]:
    """``wacloud.webhooks.parse(body) -> list[Update]`` (docs/architecture.md)."""
    from wacloud.webhooks import parse  # the function once the package re-exports it, else the module

    fn = parse if callable(parse) else parse.parse
    return fn  # type: ignore[no-any-return]


def open_store(url: str) -> Any:
    """``wacloud.delivery.open_store(url)`` (docs/architecture.md)."""
    try:
        from wacloud.delivery import open_store as opener
    except ImportError:  # the package __init__ has not re-exported it (yet)
        from wacloud.delivery.store import open_store as opener
    return opener(url)


def webhook_store(url: str) -> Any:
    """The durable store a webhook receiver gets for ``url``: the gateway's for SQLite, else ``open_store``'s."""
    if url.startswith("sqlite:///"):
        try:
            from wacloud.gateway import WebhookSqliteStore
        except ImportError:  # a tree without it: the delivery engine's store
            return open_store(url)
        return WebhookSqliteStore(url.removeprefix("sqlite:///"))
    return open_store(url)


def webhook_app(*, app_secret: str, verify_token: str, path: str, store_url: str | None,
                on_update: Callable[[Any], Any]) -> Any:
    """Our receiver as a standalone ASGI app: in-memory dedup, or the durable store (dedup + inbox).

    ``WebhookApp`` itself: it serves any path and runs the startup resume from the lifespan, so no
    router sits in front of the measured code. A SQLite URL gets the store the gateway's webhook endpoint
    uses (``WebhookSqliteStore``: the delivery engine's file and tables, with group commits), else
    ``open_store``'s.
    """
    from wacloud.webhooks import WebhookApp, WebhookReceiver

    store = webhook_store(store_url) if store_url else None
    receiver = WebhookReceiver(app_secret=app_secret, verify_token=verify_token, dedup=store, inbox=store,
                               on_update=on_update)
    del path  # WebhookApp answers on every path
    return WebhookApp(receiver)
