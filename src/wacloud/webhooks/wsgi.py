"""The receiver as a WSGI app, for Flask (``app.wsgi_app`` dispatching) or any WSGI server.

The answer is written first; the updates are dispatched from the response iterable's ``close()``,
which every WSGI server calls once the body has been sent, so Meta gets its 200 before the handlers
run. The body size is checked from ``Content-Length`` before anything is read. Due retries of
failed payloads run after a request's answer, at most once every ``retry_poll_s`` (call
``receiver.run_due_sync()`` from a timer if traffic is sparse).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from wacloud.webhooks.asgi import receiver_of
from wacloud.webhooks.received import ReceivedPayload
from wacloud.webhooks.receiver import WebhookReceiver, _error

logger = logging.getLogger("wacloud.webhooks")

StartResponse = Callable[..., Any]

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed",
            411: "Length Required", 413: "Content Too Large", 503: "Service Unavailable"}
_TEXT = [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")]
_JSON = [("Content-Type", "application/json")]


class _AfterResponse:
    """A one-chunk WSGI body whose ``close()`` dispatches the accepted delivery."""

    def __init__(self, body: bytes, receiver: WebhookReceiver, delivery: ReceivedPayload) -> None:
        self._body = body
        self._receiver = receiver
        self._delivery: ReceivedPayload | None = delivery

    def __iter__(self) -> Iterator[bytes]:
        yield self._body

    def close(self) -> None:
        delivery, self._delivery = self._delivery, None
        if delivery is not None:
            try:
                self._receiver.process_sync(delivery)
            except Exception:
                logger.exception("processing a webhook delivery failed")
        # No background task in WSGI: due retries run after requests (at most once a poll interval).
        self._receiver.tick_sync()


class WSGIApp:
    """WSGI application serving one webhook endpoint."""

    def __init__(self, target: Any, *, resume: bool = True) -> None:
        self.receiver = receiver_of(target)
        self._resume_pending = resume and self.receiver.inbox is not None
        self._lock = threading.Lock()

    def startup(self) -> None:
        """Process payloads stored before a crash (once)."""
        if not self._resume_pending:
            return
        with self._lock:
            if self._resume_pending:
                try:
                    self.receiver.resume_sync()
                finally:
                    self._resume_pending = False

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method in ("GET", "HEAD"):
            status, text = self.receiver.handle_get(environ.get("QUERY_STRING", ""))
            return _respond(start_response, status, b"" if method == "HEAD" else text.encode(), _TEXT)
        if method != "POST":
            allow = [*_JSON, ("Allow", "GET, HEAD, POST")]
            return _respond(start_response, 405, _error("method not allowed"), allow)
        cap = self.receiver.max_body_bytes
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return _respond(start_response, 411, _error("Content-Length is required"), _JSON)
        if length > cap:
            return _respond(start_response, 413, _error(f"body is larger than {cap} bytes"), _JSON)
        body = _read(environ["wsgi.input"], max(length, 0))
        if self._resume_pending:
            self.startup()
        headers = {"content-type": environ.get("CONTENT_TYPE", ""),
                   "x-hub-signature-256": environ.get("HTTP_X_HUB_SIGNATURE_256", "")}
        status, answer, delivery = self.receiver.accept(body, headers)
        _respond(start_response, status, b"", _JSON, length=len(answer))
        if delivery is None:
            return [answer]
        return _AfterResponse(answer, self.receiver, delivery)


def _read(stream: Any, length: int) -> bytes:
    chunks: list[bytes] = []
    left = length
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _respond(start_response: StartResponse, status: int, body: bytes, headers: list[tuple[str, str]],
             *, length: int | None = None) -> list[bytes]:
    size = len(body) if length is None else length
    start_response(f"{status} {_REASONS.get(status, 'Error')}", [*headers, ("Content-Length", str(size))])
    return [body]
