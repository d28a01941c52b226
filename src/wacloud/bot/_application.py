"""The bot framework's root: an :class:`Application` is the root :class:`~wacloud.bot.Router`, served by a receiver.

::

    app = Application(client=client, app_secret=SECRET, verify_token=TOKEN)

    @app.on_message(filters.text & filters.matches(r"^hi"))
    async def greet(msg):
        await msg.reply_text("hello!")

Handlers live in groups (``group=``, ascending; default 0) of a tree of routers (see
:mod:`wacloud.bot._dispatch` for the order, middleware and error handlers). Handlers may be sync or
async; a sync handler runs in a worker thread when the application serves ASGI (so a blocking
:class:`~wacloud.Client` call does not stall the event loop), and an awaitable it returns (an
:class:`~wacloud.AsyncClient` shortcut) is awaited. A handler that raises is logged with the update
id and the update counts as handled: Meta still gets its 200 and the payload is not retried (a buggy
handler must not loop). Failures below the handlers (the store, the gateway's outbox) are the
receiver's to retry. The dispatch is written once (:func:`~wacloud.bot._dispatch.dispatch_work`) and
run by :meth:`Application.dispatch` (async) or :meth:`Application.dispatch_sync`.

Replies (``msg.reply_text``, ``msg.reply``, ``msg.react``) go through ``replies``: under the gateway
(``wacloud serve --app``) the outbox's priority lane by default (:class:`~wacloud.bot.OutboxReplies`:
durable, paced, retried); ``replies="direct"`` sends them with the client at once (no durability, no
retries); outside the gateway the client sends them unless you pass ``replies=OutboxReplies(outbox)``.

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

from typing import Any, Literal

import wacloud.webhooks.updates as u
from wacloud.bot._dispatch import dispatch_work
from wacloud.bot._replies import OutboxReplies
from wacloud.bot._router import Router
from wacloud.bot._state import MemoryStateStore, StateStore
from wacloud.limits import WEBHOOK_MAX_BODY_BYTES
from wacloud.webhooks.receiver import WebhookReceiver
from wacloud.webhooks.replies import ReplySender
from wacloud.webhooks.steps import run_async, run_sync
from wacloud.webhooks.store import DedupStore, InboxStore


class Application(Router):
    """The root router of a bot, with its client, replies and state; an ASGI app itself when served."""

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
        replies: ReplySender | Literal["direct"] | None = None,
        state: StateStore | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(name or "app")
        # One durable store (wacloud.delivery) can serve as both the dedup store and the inbox.
        if store is not None:
            if dedup is None and isinstance(store, DedupStore):
                dedup = store
            if inbox is None and isinstance(store, InboxStore):
                inbox = store
            if dedup is None and inbox is None:
                raise TypeError(f"store {type(store).__name__} implements neither DedupStore nor InboxStore")
        self.client = client
        #: Where replies go: a ReplySender, "direct" (the client), or None (unset: the client, or
        #: the outbox when the gateway runs the bot).
        self.replies: ReplySender | Literal["direct"] | None = replies
        #: Where conversation state lives (one process by default: pass a SQLite or PostgreSQL store
        #: when several worker processes serve the bot).
        self.states: StateStore = state if state is not None else MemoryStateStore()
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
        count = sum(len(path[-1].handlers) for path in self.walk())
        return f"Application(handlers={count}, receiver={self._receiver!r})"

    # --- dispatch (the receiver's Dispatcher protocol) -----------------------------------------

    def _replies_for(self, update: u.Update) -> ReplySender | None:
        replies = self.replies
        if replies is None or isinstance(replies, str):
            return None  # the client
        if isinstance(replies, OutboxReplies):
            return replies.for_update(update.update_id)
        return replies

    def _data(self, update: u.Update) -> dict[str, Any]:
        update.bind(self.client, self._replies_for(update))
        return {"app": self, "client": self.client}

    async def dispatch(self, update: u.Update) -> None:
        """Run the matching handlers for ``update`` in the event loop."""
        await run_async(dispatch_work(self, update, self._data(update), states=self.states,
                                     in_thread=self.sync_handlers_in_thread))

    def dispatch_sync(self, update: u.Update) -> None:
        """Run the matching handlers for ``update`` in this thread (WSGI, plain functions)."""
        run_sync(dispatch_work(self, update, self._data(update), states=self.states, in_thread=False))

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

