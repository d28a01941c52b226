"""Work written once, run in a thread or in an event loop (the style of :mod:`wacloud.client.core`).

A piece of work that must exist in both a sync and an async flavour (the receiver's processing of a
payload, the bot framework's dispatch of an update) is written once, as a generator that *yields*
steps and receives their results back. Two runners perform the steps: :func:`run_sync` in the calling
thread, :func:`run_async` in the event loop. Only the runner knows how each step is done:

* :class:`Blocking` -- a call that may block (a store): inline when sync, in a worker thread when async
  (the thread of its :class:`~wacloud.webhooks.offload.Lane`, if it names one, else the shared pool);
* :class:`Call` -- user code that may be sync or async: called, and an awaitable it returns is awaited
  (sync runner: in a private event loop); with ``in_thread`` a sync function runs in a worker thread
  when async, so a blocking handler does not stall the event loop;
* :class:`Twin` -- something that already has both flavours (a dispatcher's ``dispatch_sync`` and
  ``dispatch``): the runner picks its own.

An exception raised by a step is thrown back into the generator at its ``yield``, so the work handles
failures in one place, whatever runs it.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from wacloud.webhooks.offload import NORMAL, Lane, off_loop

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Blocking:
    """``fn(*args)``, a call that may block: off the event loop when run async."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    #: Run async in this lane's thread (at ``priority``) instead of the shared pool.
    lane: Lane | None = None
    priority: int = NORMAL
    #: ``fn`` takes a list of ``args`` tuples and returns their results: in a lane, the calls
    #: waiting together are coalesced into one (e.g. one transaction).
    batched: bool = False
    #: Batched in a lane: the event loop waits up to this long for the result (see ``Lane.run_batched``).
    hold_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Call:
    """User code ``fn(*args)``, sync or async; an awaitable result is awaited."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] | None = None
    #: Run a sync ``fn`` in a worker thread when the runner is async.
    in_thread: bool = False


@dataclass(frozen=True, slots=True)
class Twin:
    """One operation with a sync and an async flavour: ``sync(*args)`` or ``await async_(*args)``."""

    sync: Callable[..., Any]
    async_: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...] = ()


Step = Blocking | Call | Twin
#: A piece of work: yields steps, receives their results, returns its own result.
Work = Generator[Step, Any, T]


def run_sync(work: Work[T]) -> T:
    """Run ``work`` in this thread."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            step = work.throw(error) if error is not None else work.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            value = _sync_step(step)
        except Exception as exc:
            error = exc


async def run_async(work: Work[T]) -> T:
    """Run ``work`` in the event loop (blocking steps in worker threads)."""
    value: Any = None
    error: Exception | None = None
    while True:
        try:
            step = work.throw(error) if error is not None else work.send(value)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]
        value, error = None, None
        try:
            # A Twin (a dispatch, a settle: every payload's steps) awaited here, without the coroutine
            # of _async_step around it.
            value = await step.async_(*step.args) if type(step) is Twin else await _async_step(step)
        except Exception as exc:
            error = exc


def _sync_step(step: Step) -> Any:
    if isinstance(step, Blocking):
        return step.fn([step.args])[0] if step.batched else step.fn(*step.args)
    if isinstance(step, Twin):
        return step.sync(*step.args)
    result = step.fn(*step.args, **(step.kwargs or {}))
    if inspect.isawaitable(result):
        result = run_awaitable(result)
    return result


async def _async_step(step: Step) -> Any:
    if isinstance(step, Blocking):
        if step.batched:
            if step.lane is not None:
                return await step.lane.run_batched(step.fn, step.args, priority=step.priority, hold_s=step.hold_s)
            return (await off_loop(step.fn, [step.args]))[0]
        if step.lane is not None:
            return await step.lane.run(step.fn, *step.args, priority=step.priority)
        return await off_loop(step.fn, *step.args)
    if isinstance(step, Twin):
        return await step.async_(*step.args)
    kwargs = step.kwargs or {}
    if inspect.iscoroutinefunction(step.fn):
        return await step.fn(*step.args, **kwargs)
    if step.in_thread:
        result = await asyncio.to_thread(step.fn, *step.args, **kwargs)
    else:
        result = step.fn(*step.args, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


def run_awaitable(awaitable: Awaitable[T]) -> T:
    """Run an awaitable to completion in a private event loop (from sync code)."""

    async def wait() -> T:
        return await awaitable

    return asyncio.run(wait())
