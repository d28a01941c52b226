"""What the receiver works with: an accepted payload, its counters, and the dispatcher it hands updates to."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from wacloud.webhooks.steps import Call, Work, run_sync
from wacloud.webhooks.updates import Update


@dataclass(slots=True)
class ReceivedPayload:
    """An accepted POST: its decoded payload and, in durable mode, its inbox id.

    ``resumed`` marks a second or later attempt (a retry, or a payload left by a crash): its updates
    that were claimed before but never completed are run again. ``failures`` counts failed attempts.
    """

    payload: Any
    inbox_id: int | None = None
    resumed: bool = False
    failures: int = 0
    #: Indexes of the updates already completed (kept for in-process retries).
    completed: set[int] = field(default_factory=set)
    #: The parsed updates, when they were parsed at accept time (to claim them with the stored row).
    updates: list[Update] | None = None
    #: Per update, whether this payload claimed it when it was stored (False: a duplicate another owns).
    claims: list[bool] | None = None


@dataclass(slots=True)
class ReceiverStats:
    """Counters of one receiver (the gateway exports them as metrics)."""

    #: Payloads whose every update was handled.
    processed: int = 0
    #: Failed attempts that were scheduled for a retry.
    retried: int = 0
    #: Payloads set aside after ``max_attempts`` failed attempts (or unreadable ones).
    dead_lettered: int = 0


@runtime_checkable
class Dispatcher(Protocol):
    """What the receiver hands updates to (the bot :class:`~wacloud.webhooks.Application` is one)."""

    async def dispatch(self, update: Update) -> None:
        """Handle one update in an event loop."""
        ...

    def dispatch_sync(self, update: Update) -> None:
        """Handle one update in the calling thread."""
        ...


@runtime_checkable
class BatchDispatcher(Protocol):
    """A dispatcher that can also handle several updates of one payload together (one transaction).

    Per update, the answer is ``True`` (handled completely), ``None`` (not handled here: the receiver
    dispatches it one at a time as usual) or the exception that made it fail. An exception raised by
    the call itself means nothing of the batch was handled (every update then goes one at a time).
    The receiver writes the "done" marks of the handled ones together, right after: a crash between
    the two runs that batch again, so what it does must be safe to repeat (the outbox's statuses are).
    """

    async def dispatch_batch(self, updates: Sequence[Update]) -> list[bool | Exception | None]:
        """Handle ``updates`` together in an event loop."""
        ...

    def dispatch_batch_sync(self, updates: Sequence[Update]) -> list[bool | Exception | None]:
        """Handle ``updates`` together in the calling thread."""
        ...


class CallbackDispatcher:
    """Adapts a plain ``fn(update)`` (sync, or returning an awaitable) to :class:`Dispatcher`."""

    def __init__(self, fn: Callable[[Update], Any]) -> None:
        self.fn = fn

    async def dispatch(self, update: Update) -> None:
        """Call ``fn`` and await its result when it is awaitable."""
        # Called directly, not through the steps runner: this is every update's path, and the
        # runner's generator and step objects cost more than the call itself.
        result = self.fn(update)
        # None (a plain function's result) skips isawaitable's ABC check.
        if result is not None and inspect.isawaitable(result):
            await result

    def dispatch_sync(self, update: Update) -> None:
        """Call ``fn``; an awaitable result is run to completion in a private event loop."""
        run_sync(self._call(update))

    def _call(self, update: Update) -> Work[None]:
        yield Call(self.fn, (update,))
