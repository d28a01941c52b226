"""A store lane: the thread (and store connection) a worker's store calls of one kind run on, one at a time.

The event loop never blocks on the database: every store call runs on a lane's thread. A worker has one
lane for the producer's claims and the writer's outcomes, and, when the store can open a second
connection (:class:`Forkable`: PostgreSQL), a second one for the dispatcher's ``mark_sending``: that
write comes just before each call, so it must never wait behind a claim or a batch of outcomes
(measured: 12-300 ms of waiting behind them made PostgreSQL jobs miss their send slots).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Protocol, TypeVar, runtime_checkable

from wacloud.delivery._priority import mark_urgent
from wacloud.delivery.store import Store, StoreError

log = logging.getLogger("wacloud.delivery")
T = TypeVar("T")


@runtime_checkable
class Forkable(Protocol):
    """A store that can open another connection to its database (PostgreSQL)."""

    def fork(self) -> Store:
        """A new store object on the same database with its own connection (the caller closes it)."""
        ...


class StoreLane:
    """One thread for store calls (marked urgent: a delivery worker's writes go first), and its store."""

    def __init__(self, store: Store, name: str, *, owned: bool = False) -> None:
        self.store = store
        #: The lane opened this store (a fork): it closes it when it stops.
        self.owned = owned
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=name, initializer=mark_urgent)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call on the lane's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))

    async def retry(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A store call retried (same arguments) while the store is unavailable (e.g. PostgreSQL restarting)."""
        delay = 0.1
        while True:
            try:
                return await self.call(fn, *args, **kwargs)
            except StoreError as exc:
                if not exc.transient:
                    raise
                log.warning("store unavailable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    def shutdown(self) -> None:
        """Finish the calls queued, then stop the thread (and close the store if the lane opened it)."""
        self.executor.shutdown(wait=True)
        if self.owned:
            self.store.close()


async def fork_lane(main: StoreLane, name: str) -> StoreLane | None:
    """A second lane on its own connection when the store can open one (None otherwise, or on failure:
    the calls then share the main lane, as they would on SQLite)."""
    if not isinstance(main.store, Forkable):
        return None
    try:
        store = await main.call(main.store.fork)
    except StoreError as exc:
        log.warning("no second store connection for sends (%s): they share the claims' connection", exc)
        return None
    return StoreLane(store, name, owned=True)
