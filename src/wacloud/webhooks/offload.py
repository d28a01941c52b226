"""Blocking calls (a durable store's) run in a worker thread, never on the event loop.

A store may wait for seconds on a locked SQLite file or an unreachable PostgreSQL server; run on the
event loop, that wait would freeze every request the process serves (health checks included).

:func:`off_loop` uses the shared thread pool. A :class:`Lane` is one thread of its own, serving its
calls by priority: the receiver's store calls go there, so an update's "done" mark does not queue
behind dozens of pool threads (claims, payload writes, other users) fighting for the store's single
connection, and the marks waiting together are written in one transaction. The time between a
handler's effect and its mark's commit is the window in which a crash makes the update run again:
measured under load, handing the mark to the shared pool made it ~5-10 ms (median), so a SIGKILL
caught dozens of updates mid-window; a lane with a bounded hold (:meth:`Lane.run_batched`) brings it
back to ~0.1 ms without ever stalling the loop for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")

#: Priority of the calls that close a crash window (an update's "done" mark): served first.
URGENT = 0
#: Priority of every other call.
NORMAL = 1
#: An idle lane's thread exits after this long (a new call starts it again).
IDLE_S = 5.0


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread; the event loop keeps serving meanwhile."""
    return await anyio.to_thread.run_sync(partial(fn, *args))


class Lane:
    """One worker thread running blocking calls one at a time, most urgent first (FIFO within a priority).

    :meth:`submit_batched` calls are coalesced: the calls of one batch function waiting together run
    as one call (one transaction instead of one each, one thread wake-up instead of one each).
    Safe to use from any thread and any event loop. The thread is a daemon started on the first call
    and exits after :data:`IDLE_S` without work, so an idle or forgotten lane holds no thread.
    """

    def __init__(self, name: str = "wacloud-lane") -> None:
        self.name = name
        self._queue: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stuck = False  # a hold timed out and no job has completed since

    def submit(self, fn: Callable[..., T], *args: Any, priority: int = NORMAL) -> Future[T]:
        """Queue ``fn(*args)``; its future completes in the lane's thread."""
        return self._push(priority, partial(fn, *args), None)

    def submit_batched(self, fn: Callable[[list[Any]], list[T]], item: Any, *,
                       priority: int = NORMAL) -> Future[T]:
        """Queue ``item`` for ``fn``, which takes a list of items and returns their results in order.

        Items queued for the same ``fn`` when the lane gets to the first of them run as one call.
        """
        return self._push(priority, fn, (item,))

    def submit_waiter(self, fn: Callable[[list[Any]], list[T]], item: Any, waiter: asyncio.Future[T], *,
                      priority: int = NORMAL) -> None:
        """:meth:`submit_batched` for a caller already awaiting ``waiter`` (an event loop's future)."""
        self._push(priority, fn, (item,), waiter)

    async def run(self, fn: Callable[..., T], *args: Any, priority: int = NORMAL) -> T:
        """``fn(*args)`` in the lane's thread, awaited from the event loop."""
        waiter = asyncio.get_running_loop().create_future()
        self._push(priority, partial(fn, *args), None, waiter)
        return await waiter  # type: ignore[no-any-return]

    async def run_batched(self, fn: Callable[[list[Any]], list[T]], item: Any, *, priority: int = NORMAL,
                          hold_s: float = 0.0) -> T:
        """:meth:`submit_batched`, awaited from the event loop.

        With ``hold_s``, the event loop itself first waits up to that long for the result: nothing
        else runs on it meanwhile (no other handler can finish, so no other update enters the crash
        window this call closes). The wait is bounded, and skipped while the lane is stuck (a
        previous hold timed out and nothing has completed since): a slow or locked store never
        stalls the loop more than ``hold_s`` at a time.
        """
        # Resolved by the lane's thread with one wake-up of this loop for the whole batch: cheaper
        # than a concurrent Future bridged by asyncio.wrap_future (~10 µs of Python per call).
        waiter = asyncio.get_running_loop().create_future()
        if hold_s <= 0 or self._stuck:
            self._push(priority, fn, (item,), waiter)
            return await waiter  # type: ignore[no-any-return]
        # Held: the lane hands the result over through a plain lock (a Future's Condition costs more),
        # and wakes the loop only if the hold gave up meanwhile.
        held = _Held()
        self._push(priority, fn, (item,), waiter, held)
        if not held.lock.acquire(timeout=hold_s):
            held.abandoned = True
            if not held.done:  # else it completed right after the timeout: take its result below
                self._stuck = True
                return await waiter  # type: ignore[no-any-return]
        waiter.cancel()  # delivered here; a late copy to the loop is dropped
        if held.failed:
            raise held.result
        return held.result  # type: ignore[no-any-return]

    def _push(self, priority: int, call: Callable[..., Any], item: tuple[Any] | None,
              waiter: asyncio.Future[Any] | None = None, held: _Held | None = None) -> Future[Any]:
        future: Future[Any] = _DETACHED if waiter is not None else Future()
        with self._cond:
            heapq.heappush(self._queue, _Job(priority, next(self._seq), future, call, item, waiter, held))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            else:
                self._cond.notify()
        return future

    def _next(self) -> list[_Job] | None:
        """The next job and, for a batched one, every queued job of the same function; None when idle."""
        with self._cond:
            if not self._queue and not self._cond.wait_for(lambda: bool(self._queue), IDLE_S):
                self._thread = None  # under the lock: a submit from now on starts a new thread
                return None
            first = heapq.heappop(self._queue)
            if first.item is None:
                return [first]
            jobs = [first, *sorted(j for j in self._queue if j.item is not None and j.call == first.call)]
            if len(jobs) > 1:
                self._queue = [j for j in self._queue if j.item is None or j.call != first.call]
                heapq.heapify(self._queue)
            return jobs

    def _run(self) -> None:
        while (jobs := self._next()) is not None:
            jobs = [j for j in jobs if j.waiter is not None or j.future.set_running_or_notify_cancel()]
            if not jobs:
                continue
            try:
                if jobs[0].item is None:
                    results = [jobs[0].call()]
                else:
                    results = list(jobs[0].call([j.item[0] for j in jobs]))  # type: ignore[index]
                    if len(results) != len(jobs):
                        raise RuntimeError(f"{jobs[0].call!r} returned {len(results)} results for {len(jobs)} items")
            except BaseException as exc:  # handed to the awaiting callers, as a pool would
                self._stuck = False
                _deliver(jobs, [exc] * len(jobs), failed=True)
                continue
            self._stuck = False
            _deliver(jobs, results, failed=False)


def _deliver(jobs: list[_Job], results: list[Any], *, failed: bool) -> None:
    """Complete the jobs' futures: concurrent ones here, each event loop's in one call in that loop."""
    loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
    for job, result in zip(jobs, results, strict=True):
        held = job.held
        if held is not None:
            held.result, held.failed, held.done = result, failed, True
            held.lock.release()
            if not held.abandoned:
                continue  # the holding loop takes it (it checks ``done`` after giving up)
        if job.waiter is None:
            if failed:
                job.future.set_exception(result)
            else:
                job.future.set_result(result)
        else:
            loops.setdefault(job.waiter.get_loop(), []).append((job.waiter, result))
    for loop, waiters in loops.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody awaits these any more
            loop.call_soon_threadsafe(_resolve, waiters, failed)


def _resolve(waiters: list[tuple[asyncio.Future[Any], Any]], failed: bool) -> None:
    for waiter, result in waiters:
        if not waiter.done():  # a cancelled caller's result is dropped
            if failed:
                waiter.set_exception(result)
            else:
                waiter.set_result(result)


@dataclass(order=True, slots=True)
class _Job:
    priority: int
    seq: int
    future: Future[Any] = field(compare=False)
    call: Callable[..., Any] = field(compare=False)
    #: ``(item,)`` for a batched call, None for a plain one.
    item: tuple[Any] | None = field(compare=False)
    #: The event loop's future of an async caller (then ``future`` is unused), else None.
    waiter: asyncio.Future[Any] | None = field(compare=False, default=None)
    #: The hand-over of a caller holding its event loop for the result (see ``Lane.run_batched``).
    held: _Held | None = field(compare=False, default=None)


class _Held:
    """A result handed to a thread that waits for it on a lock, unless it gave up (``abandoned``)."""

    __slots__ = ("abandoned", "done", "failed", "lock", "result")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()  # released by the lane once ``result`` is set
        self.result: Any = None
        self.failed = self.done = self.abandoned = False


#: The ``future`` of a job awaited through its ``waiter``: never completed, never read.
_DETACHED: Future[Any] = Future()
