"""Routers: handlers, sub-routers, middleware and error handlers, composed into one tree.

A :class:`Router` holds decorator-registered handlers (``@router.on_message(filters.text)``), the
routers it includes (``include_router``), its middleware and its error handlers. The
:class:`~wacloud.bot.Application` is the root router; each feature of a bot can live in its own
router module and be included once.

Middleware is written once for the sync and the async runner: a generator function
``mw(update, data)`` that yields exactly once, where the handler runs; it receives the handler's
result from the ``yield`` and sees a handler's exception raised there (catch it to swallow it). It
may add entries to ``data`` (handlers receive them as keyword arguments by parameter name), and it
drops the update by returning without yielding. *Outer* middleware (``router.outer_middleware``) wraps
every update before any filter runs; *inner* middleware (``router.middleware``) wraps each handler of
the router and of the routers below it, once its filters matched.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import wacloud.webhooks.models as m
import wacloud.webhooks.updates as u
from wacloud.bot.filters import Filter

F = TypeVar("F", bound=Callable[..., Any])
Kind = Callable[[u.Update], bool]
#: ``mw(update, data)``: a generator that yields once (where the handler runs).
Middleware = Callable[[u.Update, dict[str, Any]], Generator[None, Any, None]]
#: ``fn(update, exc)``: returns a true value when it handled the error.
ErrorHandler = Callable[[u.Update, Exception], Any]


class _AnyState:
    def __repr__(self) -> str:
        return "ANY_STATE"


#: Registration default: the handler runs whatever the conversation state is.
ANY_STATE: Any = _AnyState()


def _special(upd: u.MessageUpdate) -> bool:
    msg = upd.message
    if isinstance(msg, m.ButtonMessage | m.ReactionMessage):
        return True
    return isinstance(msg, m.InteractiveMessage) and msg.interactive.type in (
        "button_reply", "list_reply", "nfm_reply")


def _interactive(kind: str) -> Kind:
    return lambda upd: (isinstance(upd, u.MessageUpdate) and isinstance(upd.message, m.InteractiveMessage)
                        and upd.message.interactive.type == kind)


KINDS: dict[str, Kind] = {
    "update": lambda upd: True,
    "message": lambda upd: isinstance(upd, u.MessageUpdate) and not _special(upd),
    "button": lambda upd: isinstance(upd, u.MessageUpdate) and (
        isinstance(upd.message, m.ButtonMessage) or _interactive("button_reply")(upd)),
    "list_reply": _interactive("list_reply"),
    "flow_reply": _interactive("nfm_reply"),
    "reaction": lambda upd: isinstance(upd, u.MessageUpdate) and isinstance(upd.message, m.ReactionMessage),
    "status": lambda upd: isinstance(upd, u.StatusUpdate),
    "template_status": lambda upd: isinstance(upd, u.TemplateStatusUpdate),
    "user_preferences": lambda upd: isinstance(upd, u.UserPreferencesUpdate),
    "echo": lambda upd: isinstance(upd, u.MessageEchoUpdate),
    "flow_event": lambda upd: isinstance(upd, u.FlowUpdate),
    "automatic_event": lambda upd: isinstance(upd, u.AutomaticEventUpdate),
    "history": lambda upd: isinstance(upd, u.HistoryUpdate | u.StateSyncUpdate),
    "raw": lambda upd: isinstance(upd, u.RawUpdate),
}


@dataclass(slots=True)
class Handler:
    """One registered handler."""

    kind: Kind
    fn: Callable[..., Any]
    filter: Filter | None = None
    group: int = 0
    is_async: bool = False
    #: The conversation state the handler is for (:data:`ANY_STATE`: whatever it is).
    state: Any = ANY_STATE
    #: Keyword arguments the function takes from the dispatch data (``state``, middleware entries…).
    wants: frozenset[str] | None = field(default=frozenset())

    def matches(self, update: u.Update, state: str | None = None) -> bool:
        """True when the update is of the handler's kind, in its state, and passes its filter."""
        if self.state is not ANY_STATE and self.state != state:
            return False
        return self.kind(update) and (self.filter is None or self.filter(update))

    def kwargs(self, data: dict[str, Any]) -> dict[str, Any]:
        """The dispatch data this handler asked for (all of it when it takes ``**kwargs``)."""
        if self.wants is None:
            return dict(data)
        return {k: v for k, v in data.items() if k in self.wants}

    @property
    def name(self) -> str:
        """The handler function's qualified name, for logs."""
        return getattr(self.fn, "__qualname__", repr(self.fn))


def _wants(fn: Callable[..., Any]) -> frozenset[str] | None:
    """Names of the keyword parameters after the update (None: takes ``**kwargs``)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return frozenset()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return frozenset(p.name for p in params[1:] if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


class _Registrar:
    """``router.on_<kind>`` bound to one router: bare (``@r.on_message``) or called (``@r.on_message(f)``)."""

    __slots__ = ("_kind", "_router")

    def __init__(self, router: Router, kind: str) -> None:
        self._router = router
        self._kind = kind

    @overload
    def __call__(self, filter: Filter | None = None, *, group: int = 0, state: Any = ANY_STATE) -> Callable[[F], F]:
        ...

    @overload
    def __call__(self, filter: F, *, group: int = 0, state: Any = ANY_STATE) -> F: ...

    def __call__(self, filter: Any = None, *, group: int = 0, state: Any = ANY_STATE) -> Any:
        return self._router._decorator(self._kind, filter, group, state)


class _On:
    """Declares one handler decorator of :class:`Router` (one line per update kind)."""

    def __init__(self, kind: str, doc: str) -> None:
        self.kind = kind
        self.__doc__ = doc

    @overload
    def __get__(self, router: None, owner: type[Router]) -> _On: ...

    @overload
    def __get__(self, router: Router, owner: type[Router]) -> _Registrar: ...

    def __get__(self, router: Router | None, owner: type[Router]) -> _On | _Registrar:
        return self if router is None else _Registrar(router, self.kind)


class Router:
    """Handlers, sub-routers, middleware and error handlers; composes with :meth:`include_router`."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"router-{id(self):x}"
        self.parent: Router | None = None
        self.handlers: list[Handler] = []
        self.routers: list[Router] = []
        self.outer: list[Middleware] = []
        self.inner: list[Middleware] = []
        self.error_handlers: list[ErrorHandler] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, handlers={len(self.handlers)}, routers={len(self.routers)})"

    # --- composition ------------------------------------------------------------------------------

    def include_router(self, router: Router) -> Router:
        """Attach ``router`` below this one; returns it. A router has one parent, and no cycles."""
        if not isinstance(router, Router):
            raise TypeError(f"include_router takes a Router, not {type(router).__name__}")
        if router.parent is not None:
            raise ValueError(f"router {router.name!r} is already included in {router.parent.name!r}")
        node: Router | None = self
        while node is not None:
            if node is router:
                raise ValueError(f"including router {router.name!r} here would make a cycle")
            node = node.parent
        router.parent = self
        self.routers.append(router)
        return router

    def walk(self) -> Iterator[tuple[Router, ...]]:
        """Every router of the tree, as its path from this one (depth first, in inclusion order)."""
        yield (self,)
        for child in self.routers:
            for path in child.walk():
                yield (self, *path)

    def outer_middleware(self, mw: Middleware) -> Middleware:
        """Register outer middleware (every update, before filters); usable as a decorator."""
        self.outer.append(_check_middleware(mw))
        return mw

    def middleware(self, mw: Middleware) -> Middleware:
        """Register inner middleware (around each matched handler of this router and below)."""
        self.inner.append(_check_middleware(mw))
        return mw

    def on_error(self, fn: ErrorHandler) -> ErrorHandler:
        """Register an error handler ``fn(update, exc)`` for the handlers of this router and below.

        The nearest router's error handlers are tried first; one returning a true value handles the
        error. Unhandled errors are logged with the update id (the update still counts as handled).
        """
        self.error_handlers.append(fn)
        return fn

    # --- registration ----------------------------------------------------------------------------

    def add_handler(self, kind: str | Kind | type[u.Update], fn: Callable[..., Any],
                    filter: Filter | None = None, *, group: int = 0, state: Any = ANY_STATE) -> Handler:
        """Register ``fn`` for updates of ``kind`` (a name in ``KINDS``, an Update class or a predicate).

        ``state`` limits it to one conversation state (``None``: no state set); the default runs it
        in any state.
        """
        if isinstance(kind, str):
            predicate = KINDS[kind]
        elif isinstance(kind, type):
            cls = kind
            predicate = lambda upd: isinstance(upd, cls)  # noqa: E731
        else:
            predicate = kind
        if filter is not None and not isinstance(filter, Filter):
            raise TypeError("filter must be a wacloud.bot.filters.Filter (wrap a function with "
                            "filters.create(fn))")
        if state is not ANY_STATE and state is not None and not isinstance(state, str):
            raise TypeError("state must be a string (or None: no state)")
        handler = Handler(predicate, fn, filter, group, inspect.iscoroutinefunction(fn), state, _wants(fn))
        self.handlers.append(handler)
        return handler

    def _decorator(self, kind: str | type[u.Update], filter: Any, group: int, state: Any) -> Any:
        if callable(filter) and not isinstance(filter, Filter):
            # Used bare: ``@router.on_message`` without parentheses.
            self.add_handler(kind, filter, None, group=group, state=state)
            return filter

        def register(fn: F) -> F:
            self.add_handler(kind, fn, filter, group=group, state=state)
            return fn

        return register

    on_update = _On("update", "Handler for every update (typed or raw).")

    def on(self, update_type: type[u.Update], filter: Filter | None = None, *,
           group: int = 0, state: Any = ANY_STATE) -> Callable[[F], F]:
        """Handler for one Update class (``router.on(TemplateQualityUpdate)``)."""
        result: Callable[[F], F] = self._decorator(update_type, filter, group, state)
        return result

    on_message = _On("message", "Handler for incoming messages (not button taps, list/Flow replies or reactions).")

    on_button = _On("button", "Handler for reply-button taps and template quick-reply taps (``update.button_id``).")

    on_list_reply = _On("list_reply", "Handler for list replies (``update.list_reply``).")

    on_flow_reply = _On("flow_reply", "Handler for completed Flows (``update.flow_reply.response()``).")

    on_reaction = _On("reaction", "Handler for reactions and reaction removals.")

    on_status = _On("status", "Handler for statuses of sent messages.")

    on_template_status = _On("template_status", "Handler for ``message_template_status_update``.")

    on_user_preferences = _On("user_preferences", "Handler for marketing opt-outs and resumes.")

    on_echo = _On("echo", "Handler for messages the business sent from the WhatsApp Business app (coexistence).")

    on_flow_event = _On("flow_event", "Handler for ``flows`` events (status changes, endpoint alerts).")

    on_automatic_event = _On("automatic_event", "Handler for purchases and leads detected in ad chats.")

    on_history = _On("history", "Handler for coexistence ``history`` chunks and ``smb_app_state_sync`` contacts.")

    on_raw = _On("raw", "Handler for what the parser did not recognise (:class:`RawUpdate`).")


def _check_middleware(mw: Any) -> Middleware:
    # A generator function, or an object whose __call__ is one (a middleware class).
    call = mw if inspect.isfunction(mw) or inspect.ismethod(mw) else type(mw).__call__ if callable(mw) else None
    if not inspect.isgeneratorfunction(call):
        raise TypeError("middleware must be a generator function mw(update, data) that yields once "
                        "(where the handler runs)")
    return mw  # type: ignore[no-any-return]
