"""Calling blocking engine methods from the gateway's event loop."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import anyio.to_thread


async def call_engine(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call an engine method whether it is async or blocking (blocking ones run in a worker thread)."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args, **kwargs)
    result = await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
    if inspect.isawaitable(result):
        return await result
    return result
