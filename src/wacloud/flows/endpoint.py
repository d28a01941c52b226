"""A flow data-exchange endpoint: decrypt, dispatch, encrypt, with Meta's documented status codes.

``FlowEndpoint.handle(raw_body, signature_header)`` is framework-free and returns a
:class:`FlowAnswer` (status, content type, body); :meth:`FlowEndpoint.asgi` wraps it as a Starlette app.
Meta's contract: health-check ``ping`` → ``{"data": {"status": "active"}}``; error notifications
(``data.error``) → ``{"data": {"acknowledged": true}}``; a body that cannot be decrypted → **421** (the
WhatsApp client refetches the public key and retries); a bad ``X-Hub-Signature-256`` → **432**; an
expired or unknown flow token → **427**; anything else the handler raises → 500. The 200 body is the
base64 ciphertext as ``text/plain``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from wacloud.errors import WacloudError
from wacloud.flows.crypto import FlowDecryptError, FlowRequest, decrypt_request
from wacloud.webhooks import signature

log = logging.getLogger(__name__)

DECRYPT_FAILED = 421
FLOW_TOKEN_INVALID = 427
SIGNATURE_INVALID = 432

PING_RESPONSE: dict[str, Any] = {"data": {"status": "active"}}
ACK_RESPONSE: dict[str, Any] = {"data": {"acknowledged": True}}

Handler = Callable[[FlowRequest], Mapping[str, Any] | Awaitable[Mapping[str, Any]]]


class FlowTokenInvalid(WacloudError):
    """Raise from a handler when the flow token is expired or unknown: the endpoint answers 427."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or "flow token is no longer valid")
        self.error_msg = message


@dataclass(frozen=True, slots=True)
class FlowAnswer:
    """What to send back: HTTP status, content type and body."""

    status: int
    content_type: str
    body: bytes


def _plain(status: int, text: str) -> FlowAnswer:
    return FlowAnswer(status, "text/plain", text.encode())


class FlowEndpoint:
    """Decrypts data-exchange requests, runs ``handler`` and encrypts its answer.

    ``handler(request) -> {"screen": ..., "data": {...}}`` (may be async); ``ping`` and error
    notifications are answered without calling it. With ``app_secret``, the signature is checked first.
    """

    def __init__(
        self, private_key: rsa.RSAPrivateKey, handler: Handler, *, app_secret: str | None = None
    ) -> None:
        self._key = private_key
        self._handler = handler
        self._app_secret = app_secret

    def _open(self, raw: bytes, signature_header: str | None) -> FlowRequest | FlowAnswer:
        if self._app_secret is not None and not signature.verify(raw, signature_header, self._app_secret):
            return _plain(SIGNATURE_INVALID, "request signature authentication failed")
        try:
            body = json.loads(raw)
        except ValueError:
            return _plain(DECRYPT_FAILED, "request body is not JSON")
        try:
            return decrypt_request(body, self._key)
        except FlowDecryptError as exc:
            # 421 makes the WhatsApp client refresh the public key and retry (key rotation).
            log.warning("flow request could not be decrypted: %s", exc)
            return _plain(DECRYPT_FAILED, "request could not be decrypted")

    @staticmethod
    def _builtin(request: FlowRequest) -> Mapping[str, Any] | None:
        if request.action == "ping":
            return PING_RESPONSE
        if "error" in request.data:
            return ACK_RESPONSE
        return None

    def _seal(self, request: FlowRequest, response: Mapping[str, Any]) -> FlowAnswer:
        return FlowAnswer(200, "text/plain", request.encrypt(response).encode())

    def handle(self, raw: bytes, signature_header: str | None = None) -> FlowAnswer:
        """Answer one request with a synchronous handler."""
        opened = self._open(raw, signature_header)
        if isinstance(opened, FlowAnswer):
            return opened
        builtin = self._builtin(opened)
        if builtin is not None:
            return self._seal(opened, builtin)
        try:
            result = self._handler(opened)
            if isinstance(result, Awaitable):
                raise TypeError("this handler is async: use handle_async()")
        except FlowTokenInvalid as exc:
            return _token_invalid(exc)
        except Exception:
            log.exception("flow handler failed")
            return _plain(500, "flow handler failed")
        return self._seal(opened, result)

    async def handle_async(self, raw: bytes, signature_header: str | None = None) -> FlowAnswer:
        """Answer one request; the handler may be sync or async."""
        opened = self._open(raw, signature_header)
        if isinstance(opened, FlowAnswer):
            return opened
        builtin = self._builtin(opened)
        if builtin is not None:
            return self._seal(opened, builtin)
        try:
            result = self._handler(opened)
            if isinstance(result, Awaitable):
                result = await result
        except FlowTokenInvalid as exc:
            return _token_invalid(exc)
        except Exception:
            log.exception("flow handler failed")
            return _plain(500, "flow handler failed")
        return self._seal(opened, result)

    def asgi(self, path: str = "/") -> Any:
        """A Starlette app serving this endpoint with ``POST path``."""
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def endpoint(request: Request) -> Response:
            answer = await self.handle_async(await request.body(), request.headers.get(signature.HEADER))
            return Response(answer.body, status_code=answer.status, media_type=answer.content_type)

        return Starlette(routes=[Route(path, endpoint, methods=["POST"])])


def _token_invalid(exc: FlowTokenInvalid) -> FlowAnswer:
    body = json.dumps({"error_msg": exc.error_msg}) if exc.error_msg else ""
    return FlowAnswer(FLOW_TOKEN_INVALID, "application/json" if body else "text/plain", body.encode())
