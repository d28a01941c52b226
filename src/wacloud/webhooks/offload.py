"""Blocking calls (a durable store's) run in a worker thread, never on the event loop.

A store may wait for seconds on a locked SQLite file or an unreachable PostgreSQL server; run on the
event loop, that wait would freeze every request the process serves (health checks included).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread; the event loop keeps serving meanwhile."""
    return await anyio.to_thread.run_sync(partial(fn, *args))
