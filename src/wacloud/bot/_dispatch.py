"""The dispatch of one update through a router tree, written once (run sync or async by the steps runners).

For each update: the conversation state is loaded (a :class:`~wacloud.webhooks.steps.Blocking` step),
outer middleware wraps the rest; handlers are tried by group (ascending; within a group, the tree in
registration order, root first); in each group the first matching handler runs (a
:class:`~wacloud.webhooks.steps.Call` step) inside the inner middleware of its routers, then the next
group is tried. :class:`StopPropagation` stops there, :class:`ContinuePropagation` lets the next
handler of the same group try too. A handler (or middleware) that raises goes to the error handlers
of its router and those above; unhandled, it is logged with the update id and the update counts as
handled -- unless the error is a :class:`SystemFailure` (the outbox could not store a reply): that
goes back to the receiver, which retries the update. The state is saved last, when it changed.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from wacloud.bot._router import Handler, Middleware, Router
from wacloud.bot._state import State, StateStore, state_key
from wacloud.webhooks.steps import Blocking, Call, Work
from wacloud.webhooks.updates import Update

logger = logging.getLogger("wacloud.bot")


class StopPropagation(Exception):
    """Raised in a handler: no further handler (in any group) sees this update."""


class ContinuePropagation(Exception):
    """Raised in a handler: the next matching handler of the same group runs too."""


class SystemFailure(Exception):
    """Raised by the framework's own parts inside user code (a reply the outbox could not store).

    It is not a bug in the handler: dispatch lets it through, so the receiver retries the update.
    """


class _Signal:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_STOP, _CONTINUE, _DROPPED = _Signal("STOP"), _Signal("CONTINUE"), _Signal("DROPPED")


def dispatch_work(root: Router, update: Update, data: dict[str, Any], *, states: StateStore | None,
                  in_thread: bool) -> Work[None]:
    """Dispatch ``update`` through ``root``'s tree; ``data`` holds what handlers may ask for by name."""
    key = state_key(update) if states is not None else None
    state: State | None = None
    if states is not None and key is not None:
        state = State(key, (yield Blocking(states.get, (key,))))
    data = {**data, "state": state, "update": update}
    outer = [mw for path in root.walk() for mw in path[-1].outer]
    try:
        yield from _around(outer, update, data, lambda: _groups(root, update, data, state, in_thread))
    except SystemFailure:
        raise
    except Exception as exc:
        yield from _on_error((root,), "outer middleware", update, exc)
    if states is not None and state is not None and state.changed:
        yield Blocking(states.put, (state.key, state.record()))


def _groups(root: Router, update: Update, data: dict[str, Any], state: State | None,
            in_thread: bool) -> Work[Any]:
    found = [(h, path) for path in root.walk() for h in path[-1].handlers]
    found.sort(key=lambda hp: hp[0].group)  # stable: registration order within a group
    for _, members in itertools.groupby(found, key=lambda hp: hp[0].group):
        for handler, path in members:
            if not handler.matches(update, state.name if state is not None else None):
                continue
            outcome = yield from _handle(handler, path, update, data, in_thread)
            if outcome is _STOP:
                return None
            if outcome is _CONTINUE:
                continue
            break
    return None


def _handle(handler: Handler, path: tuple[Router, ...], update: Update, data: dict[str, Any],
            in_thread: bool) -> Work[Any]:
    inner = [mw for router in path for mw in router.inner]

    def call() -> Work[Any]:
        try:
            return (yield Call(handler.fn, (update,), handler.kwargs(data), in_thread=in_thread))
        except StopPropagation:
            return _STOP
        except ContinuePropagation:
            return _CONTINUE

    try:
        return (yield from _around(inner, update, data, call))
    except SystemFailure:
        raise
    except Exception as exc:
        yield from _on_error(path, handler.name, update, exc)
        return None


def _around(mws: list[Middleware], update: Update, data: dict[str, Any],
            inner: Callable[[], Work[Any]]) -> Work[Any]:
    """Run ``inner`` inside the middleware ``mws`` (first is outermost)."""
    if not mws:
        return (yield from inner())
    gen = mws[0](update, data)
    try:
        next(gen)
    except StopIteration:
        return _DROPPED  # the middleware dropped the update
    try:
        result = yield from _around(mws[1:], update, data, inner)
    except Exception as exc:
        try:
            gen.throw(exc)
        except StopIteration:
            return None  # the middleware handled the error
        raise RuntimeError(f"middleware {_name(mws[0])} yielded more than once") from exc
    try:
        gen.send(result)
    except StopIteration:
        return result
    raise RuntimeError(f"middleware {_name(mws[0])} yielded more than once")


def _on_error(path: tuple[Router, ...], where: str, update: Update, exc: Exception) -> Work[None]:
    for router in reversed(path):
        for fn in router.error_handlers:
            try:
                if (yield Call(fn, (update, exc))):
                    return
            except Exception:
                logger.exception("error handler %s failed for update %s", _name(fn), update.update_id)
    logger.error("handler %s failed for update %s", where, update.update_id, exc_info=exc)


def _name(fn: Any) -> str:
    return str(getattr(fn, "__qualname__", repr(fn)))
