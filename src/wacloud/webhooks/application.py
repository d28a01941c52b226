"""The bot framework: an :class:`Application` with decorator handlers over the webhook receiver.

::

    app = Application(client=client, app_secret=SECRET, verify_token=TOKEN)

    @app.on_message(filters.text & filters.matches(r"^hi"))
    async def greet(msg):
        await msg.reply_text("hello!")

Handlers live in groups (``group=``, ascending; default 0). For each update, every group is tried
in order; within a group the first handler whose kind and filter match runs, then the next group is
tried. Raise :class:`StopPropagation` to stop there, or :class:`ContinuePropagation` to let the next
handler of the same group try too. Handlers may be sync or async; a sync handler runs in a worker
thread when the application serves ASGI (so a blocking :class:`~wacloud.Client` call does not stall
the event loop), and an awaitable it returns (an :class:`~wacloud.AsyncClient` shortcut) is awaited.
A handler that raises is logged with the update id and the update counts as handled: Meta still
gets its 200 and the payload is not retried (a buggy handler must not loop). Failures below the
handlers (the store, the gateway's outbox) are the receiver's to retry.

Secrets: an application *served* as the webhook endpoint (``app.asgi()``, ``app.wsgi()``, ``uvicorn
module:app``, :meth:`handle_post`) checks signatures with ``app_secret`` and refuses to start without
one unless ``allow_unsigned=True`` (development; a warning is logged then). An application used only
as a dispatcher -- ``wacloud serve --app module:app``, where the gateway checks the signatures, or
:meth:`dispatch` called by your own receiver -- needs neither: ``Application()``.

Kinds: ``on_message`` gets every incoming message except those with their own decorator (button
taps, list replies, Flow replies, reactions); ``on_update`` gets everything; ``on_raw`` gets what the
parser did not recognise.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from wacloud.limits import WEBHOOK_MAX_BODY_BYTES
from wacloud.webhooks import models as m
from wacloud.webhooks import updates as u
from wacloud.webhooks.filters import Filter
from wacloud.webhooks.receiver import WebhookReceiver
from wacloud.webhooks.store import DedupStore, InboxStore

logger = logging.getLogger("wacloud.webhooks")

F = TypeVar("F", bound=Callable[..., Any])
Kind = Callable[[u.Update], bool]


class StopPropagation(Exception):
    """Raised in a handler: no further handler (in any group) sees this update."""


class ContinuePropagation(Exception):
    """Raised in a handler: the next matching handler of the same group runs too."""


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

    def matches(self, update: u.Update) -> bool:
        """True when the update is of the handler's kind and passes its filter."""
        return self.kind(update) and (self.filter is None or self.filter(update))

    @property
    def name(self) -> str:
        """The handler function's qualified name, for logs."""
        return getattr(self.fn, "__qualname__", repr(self.fn))



class _Registrar:
    """``app.on_<kind>`` bound to one application: use it bare (``@app.on_message``) or called
    (``@app.on_message(filters.text, group=1)``)."""

    __slots__ = ("_app", "_kind")

    def __init__(self, app: Application, kind: str) -> None:
        self._app = app
        self._kind = kind

    @overload
    def __call__(self, filter: Filter | None = None, *, group: int = 0) -> Callable[[F], F]: ...

    @overload
    def __call__(self, filter: F, *, group: int = 0) -> F: ...

    def __call__(self, filter: Any = None, *, group: int = 0) -> Any:
        return self._app._decorator(self._kind, filter, group)


class _On:
    """Declares one handler decorator of :class:`Application` (one line per update kind, not three)."""

    def __init__(self, kind: str, doc: str) -> None:
        self.kind = kind
        self.__doc__ = doc

    @overload
    def __get__(self, app: None, owner: type[Application]) -> _On: ...

    @overload
    def __get__(self, app: Application, owner: type[Application]) -> _Registrar: ...

    def __get__(self, app: Application | None, owner: type[Application]) -> _On | _Registrar:
        return self if app is None else _Registrar(app, self.kind)

class Application:
    """Decorator-based bot on top of :class:`WebhookReceiver`; also an ASGI app itself."""

    def __init__(
        self,
        *,
        client: Any = None,
        app_secret: str | None = None,
        verify_token: str | None = None,
        store: Any = None,
        dedup: DedupStore | None = None,
        inbox: InboxStore | None = None,
        allow_unsigned: bool = False,
        max_body_bytes: int = WEBHOOK_MAX_BODY_BYTES,
        sync_handlers_in_thread: bool = True,
        max_attempts: int | None = None,
        lease_s: float | None = None,
    ) -> None:
        # One durable store (wacloud.delivery) can serve as both the dedup store and the inbox.
        if store is not None:
            if dedup is None and isinstance(store, DedupStore):
                dedup = store
            if inbox is None and isinstance(store, InboxStore):
                inbox = store
            if dedup is None and inbox is None:
                raise TypeError(f"store {type(store).__name__} implements neither DedupStore nor InboxStore")
        self.client = client
        self.sync_handlers_in_thread = sync_handlers_in_thread
        self._receiver_args: dict[str, Any] = dict(
            app_secret=app_secret, verify_token=verify_token, allow_unsigned=allow_unsigned,
            max_body_bytes=max_body_bytes, dedup=dedup, inbox=inbox,
        )
        # Receiver tuning (see WebhookReceiver); unset ones keep the receiver's defaults.
        if max_attempts is not None:
            self._receiver_args["max_attempts"] = max_attempts
        if lease_s is not None:
            self._receiver_args["lease_s"] = lease_s
        self._receiver: WebhookReceiver | None = None
        if app_secret:
            # Built now so a bad argument fails here. Without a secret it is built only when the
            # application is served: a pure dispatcher (the gateway's bot) never warns nor refuses.
            self._receiver = self._make_receiver()
        self._groups: dict[int, list[Handler]] = {}
        self._order: list[list[Handler]] = []
        self._asgi: Any = None
        self._wsgi: Any = None

    def _make_receiver(self) -> WebhookReceiver:
        return WebhookReceiver(on_update=self, **self._receiver_args)

    @property
    def receiver(self) -> WebhookReceiver:
        """The webhook receiver serving this application (built when it is first served).

        Without an app secret, building it raises ``ValueError`` unless ``allow_unsigned=True`` (and
        then logs the "signature checking is OFF" warning). An application used only as a dispatcher
        (the gateway checks the webhooks itself and calls :meth:`dispatch`) never builds it.
        """
        if self._receiver is None:
            self._receiver = self._make_receiver()
        return self._receiver

    @property
    def served(self) -> bool:
        """True once the application has a receiver of its own (it is, or was, served)."""
        return self._receiver is not None

    def __repr__(self) -> str:
        count = sum(len(h) for h in self._groups.values())
        return f"Application(handlers={count}, receiver={self._receiver!r})"

    # --- registration --------------------------------------------------------------------------

    def add_handler(self, kind: str | Kind | type[u.Update], fn: Callable[..., Any],
                    filter: Filter | None = None, *, group: int = 0) -> Handler:
        """Register ``fn`` for updates of ``kind`` (a name in ``KINDS``, an Update class or a predicate)."""
        if isinstance(kind, str):
            predicate = KINDS[kind]
        elif isinstance(kind, type):
            cls = kind
            predicate = lambda upd: isinstance(upd, cls)  # noqa: E731
        else:
            predicate = kind
        if filter is not None and not isinstance(filter, Filter):
            raise TypeError("filter must be a wacloud.webhooks.filters.Filter (wrap a function with "
                            "filters.create(fn))")
        handler = Handler(predicate, fn, filter, group, inspect.iscoroutinefunction(fn))
        self._groups.setdefault(group, []).append(handler)
        self._order = [self._groups[g] for g in sorted(self._groups)]
        return handler

    def _decorator(self, kind: str | type[u.Update], filter: Any, group: int) -> Any:
        if callable(filter) and not isinstance(filter, Filter):
            # Used bare: ``@app.on_message`` without parentheses.
            self.add_handler(kind, filter, None, group=group)
            return filter

        def register(fn: F) -> F:
            self.add_handler(kind, fn, filter, group=group)
            return fn

        return register

    on_update = _On("update", "Handler for every update (typed or raw).")

    def on(self, update_type: type[u.Update], filter: Filter | None = None, *,
           group: int = 0) -> Callable[[F], F]:
        """Handler for one Update class (``app.on(TemplateQualityUpdate)``)."""
        result: Callable[[F], F] = self._decorator(update_type, filter, group)
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

    # --- dispatch (the receiver's Dispatcher protocol) -----------------------------------------

    async def dispatch(self, update: u.Update) -> None:
        """Run the matching handlers for ``update`` in the event loop."""
        update.bind(self.client)
        for group in self._order:
            for handler in group:
                if not handler.matches(update):
                    continue
                try:
                    if handler.is_async:
                        await handler.fn(update)
                    else:
                        if self.sync_handlers_in_thread:
                            result = await asyncio.to_thread(handler.fn, update)
                        else:
                            result = handler.fn(update)
                        if inspect.isawaitable(result):
                            await result
                except StopPropagation:
                    return
                except ContinuePropagation:
                    continue
                except Exception:
                    logger.exception("handler %s failed for update %s", handler.name, update.update_id)
                break

    def dispatch_sync(self, update: u.Update) -> None:
        """Run the matching handlers for ``update`` in this thread (WSGI, plain functions)."""
        update.bind(self.client)
        for group in self._order:
            for handler in group:
                if not handler.matches(update):
                    continue
                try:
                    result = handler.fn(update)
                    if inspect.isawaitable(result):
                        _run(result)
                except StopPropagation:
                    return
                except ContinuePropagation:
                    continue
                except Exception:
                    logger.exception("handler %s failed for update %s", handler.name, update.update_id)
                break

    # --- serving -------------------------------------------------------------------------------

    def handle_get(self, query: Any) -> tuple[int, str]:
        """Verification handshake (see :meth:`WebhookReceiver.handle_get`)."""
        return self.receiver.handle_get(query)

    def handle_post(self, raw_body: bytes, headers: Any) -> tuple[int, bytes]:
        """Check, store and dispatch a POST in this thread (see :meth:`WebhookReceiver.handle_post`)."""
        return self.receiver.handle_post(raw_body, headers)

    def asgi(self) -> Any:
        """This application as an ASGI app (:class:`~wacloud.webhooks.asgi.WebhookApp`)."""
        if self._asgi is None:
            from wacloud.webhooks.asgi import WebhookApp

            self._asgi = WebhookApp(self)
        return self._asgi

    def wsgi(self) -> Any:
        """This application as a WSGI app (:class:`~wacloud.webhooks.wsgi.WSGIApp`)."""
        if self._wsgi is None:
            from wacloud.webhooks.wsgi import WSGIApp

            self._wsgi = WSGIApp(self)
        return self._wsgi

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """ASGI entry point, so ``uvicorn module:app`` serves the webhook on every path."""
        try:
            app = self.asgi()
        except ValueError as exc:
            if scope.get("type") != "lifespan":
                raise
            # Served without a secret (and without allow_unsigned=True): refuse to start, saying why.
            await receive()
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await app(scope, receive, send)


def _run(awaitable: Any) -> Any:
    async def wait() -> Any:
        return await awaitable

    return asyncio.run(wait())
