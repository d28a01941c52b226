"""The receiver as an ASGI app: run it alone under uvicorn or mount it in Starlette/FastAPI.

``WebhookApp(receiver_or_application)`` answers GET (verification) and POST (updates) on whatever
path it is mounted at. A POST is answered as soon as it is checked (and stored, in durable mode),
an accepted one with an empty ``200``; its updates are dispatched after the response has been sent, in
the same task. Servers read the next request of a connection while that task still runs, so at most
``max_background`` deliveries are processed after their answer; beyond that a delivery is processed
*before* its answer, which slows the sender down instead of letting a backlog (and memory) grow without
bound. Oversized bodies are refused from ``Content-Length`` or while streaming, before they are buffered
whole. Stored payloads left by a crash are processed at startup
(lifespan) or, when mounted where no lifespan reaches it, before the first request; from then on a
background task runs the receiver's due retries (and payloads whose lease lapsed) every
``retry_poll_s``, until shutdown.

When the app serves the ASGI lifespan itself (it is the server's app: ``uvicorn module:app``, or
:func:`create_webhook_app`), it tunes the garbage collector for serving once start-up is done, unless
``gc_tuning=False``: what start-up built is frozen out of the collector's sight (``gc.freeze()``, as
``wacloud serve`` does), and the youngest generation is collected every 2,000 allocations instead of 700
(Python 3.13's default). With requests in flight their objects outlive young collections, so at 700 a
collection ran every few requests and each full one walked every module, class and schema of the process:
~10-20 µs of CPU per durable request, 1-2 µs after (``benchmarks.ingest_inproc``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from wacloud._deprecation import renamed
from wacloud.webhooks.accesslog import install_access_log_redaction
from wacloud.webhooks.receiver import WebhookReceiver, _error

logger = logging.getLogger("wacloud.webhooks")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_TEXT = [(b"content-type", b"text/plain; charset=utf-8"), (b"x-content-type-options", b"nosniff")]
_JSON = [(b"content-type", b"application/json")]
#: The request headers a POST needs: its size, its type and its signature.
_READ = frozenset({b"content-length", b"content-type", b"x-hub-signature-256"})


def receiver_of(target: Any) -> WebhookReceiver:
    """The :class:`WebhookReceiver` of a receiver or of an object with a ``receiver`` (an Application)."""
    if isinstance(target, WebhookReceiver):
        return target
    receiver = getattr(target, "receiver", None)
    if isinstance(receiver, WebhookReceiver):
        return receiver
    raise TypeError(f"expected a WebhookReceiver or an Application, got {type(target).__name__}")


class WebhookApp:
    """ASGI application serving one webhook endpoint."""

    def __init__(self, target: Any, *, resume: bool = True, max_background: int = 64,
                 gc_tuning: bool = True) -> None:
        self.receiver = receiver_of(target)
        self.gc_tuning = gc_tuning
        # The handshake's query string carries the verify token: keep it out of the access log.
        install_access_log_redaction()
        self.max_background = max_background
        self._background = 0  # only touched from the event loop's thread
        self._resume_pending = resume and self.receiver.inbox is not None
        self._resume_lock: asyncio.Lock | None = None
        self._retry_task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def startup(self) -> None:
        """Process payloads stored before a crash (once), then start the retry task."""
        if self._resume_pending:
            if self._resume_lock is None:
                self._resume_lock = asyncio.Lock()
            async with self._resume_lock:
                if self._resume_pending:
                    try:
                        await self.receiver.resume()
                    finally:
                        self._resume_pending = False
        self._start_retries()

    def tune_gc(self) -> None:
        """Tune the garbage collector for serving (see the module), if ``gc_tuning``; once per process.

        Called once start-up is done by the app that owns the process (it serves the lifespan): the
        modules, classes, schemas and stores live as long as the process, so a full collection walking
        them finds nothing. Not called when the app is mounted in another (the process is that app's).
        Once: a later start (tests start many apps) would freeze the leftovers of the earlier ones.
        """
        if self.gc_tuning:
            tune_gc_for_serving()

    def _start_retries(self) -> None:
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.get_running_loop().create_task(self._retry_loop(),
                                                                      name="wacloud-webhook-retries")

    async def _retry_loop(self) -> None:
        while True:
            await asyncio.sleep(self.receiver.retry_poll_s)
            try:
                await self.receiver.run_due()
            except Exception:
                logger.exception("running due webhook retries failed")

    async def shutdown(self) -> None:
        """Stop the retry task and the lease renewals (what is unfinished is taken over later)."""
        task, self._retry_task = self._retry_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.receiver.close()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("resuming stored webhooks failed")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                self.tune_gc()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method in ("GET", "HEAD"):
            status, text = self.receiver.handle_get(scope.get("query_string", b"").decode("latin-1"))
            await _respond(send, status, text.encode(), _TEXT, head=method == "HEAD")
            return
        if method != "POST":
            await _respond(send, 405, _error("method not allowed"), [*_JSON, (b"allow", b"GET, HEAD, POST")])
            return
        # Only the headers the receiver reads (a full dict of every header cost more than the checks). ASGI
        # servers give the names in lower case; a server that did not is read again, case-insensitively.
        raw = scope["headers"]
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw if k in _READ}
        if len(headers) < len(_READ):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in raw if k.lower() in _READ}
        cap = self.receiver.max_body_bytes
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > cap:
            await _respond(send, 413, _error(f"body is larger than {cap} bytes"), _JSON)
            return
        body = await _read_body(receive, cap)
        if body is _DISCONNECTED:
            return  # the sender went away mid-body: nothing to answer, nothing accepted
        if body is None:
            await _respond(send, 413, _error(f"body is larger than {cap} bytes"), _JSON)
            return
        if self._resume_pending or self._retry_task is None:
            await self.startup()  # mounted where no lifespan reaches it
        # Store calls in a worker thread: storing the payload may wait on a busy database, the event loop must not.
        if self.receiver.stores_block:
            status, answer, delivery = await self.receiver.accept_async(body, headers)
        else:  # in-memory stores: the thread hop would cost more than the call
            status, answer, delivery = self.receiver.accept(body, headers)
        if delivery is None:
            await _respond(send, status, answer, _JSON)
            return
        if self._background >= self.max_background:
            # Overloaded: back-pressure on the sender rather than an unbounded queue of work.
            await self.receiver.process(delivery)
            await _accepted(send)
            return
        self._background += 1
        try:
            await _accepted(send)
            await self.receiver.process(delivery)
        finally:
            self._background -= 1

    @property
    def backlog(self) -> int:
        """Deliveries answered but not yet processed."""
        return self._background


_DISCONNECTED = b"<disconnected>"
#: Whether an app tuned this process's garbage collector already (see WebhookApp.tune_gc).
_gc_tuned = False
#: Allocations between two collections of the youngest generation once tuned (Python 3.13's default).
GC_YOUNG_THRESHOLD = 2000


async def _read_body(receive: Receive, cap: int) -> bytes | None:
    """The request body; None as soon as it grows past ``cap``; ``_DISCONNECTED`` if the client left."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return _DISCONNECTED
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body if len(body) <= cap else None
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            return _DISCONNECTED
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _respond(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]],
                   *, head: bool = False) -> None:
    length = _LENGTHS[len(body)] if len(body) < len(_LENGTHS) else str(len(body)).encode()
    await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"content-length", length)]})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _accepted(send: Send) -> None:
    """Answer an accepted POST: ``200`` with an empty body (Meta reads the status only).

    A server writes each ASGI message to the socket as it comes (uvicorn does), so a body, however short,
    is a second ``send()`` after the headers': a second TCP segment, ~5 µs of the server's CPU a request
    (docs/benchmarks.md, ingest, seventh pass). An empty one writes nothing.
    """
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


#: ``Content-Length`` values of short bodies (every answer but a long challenge), made once.
_LENGTHS = [str(n).encode() for n in range(256)]


def create_webhook_app(target: Any, *, path: str = "/webhook") -> Any:
    """A standalone Starlette app with the webhook endpoint at ``path`` (and startup resume)."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette

    hook = WebhookApp(target)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> Any:
        await hook.startup()
        hook.tune_gc()
        try:
            yield
        finally:
            await hook.shutdown()

    return Starlette(routes=[route(hook, path)], lifespan=lifespan)


def route(app: WebhookApp, path: str = "/webhook") -> Any:
    """A Starlette ``Route`` serving ``app`` at exactly ``path`` (``Mount`` would redirect a POST to
    ``path + "/"``, which Meta does not follow). FastAPI: ``api.router.routes.append(route(hook))``."""
    from starlette.routing import Route

    return Route(path, app, methods=["GET", "HEAD", "POST"])


#: Old names kept for one release: the gateway's ``create_app`` is the one app factory under that name.
_RENAMED = {"create_app": "create_webhook_app"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals().__getitem__)


def tune_gc_for_serving() -> None:
    """Once per process, when its start-up is done: freeze what is built by now (it lives as long as the
    process, so full collections need not walk it) and raise the young generation's threshold to
    :data:`GC_YOUNG_THRESHOLD`. ``wacloud serve`` calls it too, as an app serving its own lifespan does."""
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    young, *older = gc.get_threshold()
    if 0 < young < GC_YOUNG_THRESHOLD:  # 0: collection is off; a higher one was chosen on purpose
        gc.set_threshold(GC_YOUNG_THRESHOLD, *older)
