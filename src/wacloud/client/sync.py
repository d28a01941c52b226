"""The blocking client: operations from the API mixins, run over a keep-alive ``http.client`` pool or httpx."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

from wacloud.client._pool import PoolSync
from wacloud.client.core import Operation, Request, Response, SyncRunner, T
from wacloud.client.transport import HttpxSync, Timeouts, needs_httpx, proxy_configured


class SyncTransport(SyncRunner):
    """Drives operation flows over the blocking transport (see :mod:`wacloud.client.transport`).

    By default requests go over a keep-alive pool of ``http.client`` connections; a ``transport`` or
    ``http_client`` given here (any httpx one), or a proxy in the environment, puts every request on
    httpx, and multipart uploads and streamed downloads always go over httpx.
    """

    def __init__(self, *, timeout: float | httpx.Timeout = 30.0, transport: httpx.BaseTransport | None = None,
                 http_client: httpx.Client | None = None, **config: Any) -> None:
        super().__init__(**config)
        self._timeout = timeout
        self._httpx: HttpxSync | None = None
        self._fast: PoolSync | None = None
        if http_client is not None or transport is not None or proxy_configured():
            self._httpx = HttpxSync(timeout, transport, http_client)
        else:
            self._fast = PoolSync(Timeouts.of(timeout))

    @property
    def _http(self) -> httpx.Client:
        """The httpx client used for what the fast path does not do (made on first use)."""
        return self._slow().http

    def _slow(self) -> HttpxSync:
        if self._httpx is None:
            self._httpx = HttpxSync(self._timeout)
        return self._httpx

    def _send(self, request: Request) -> Response:
        if self._fast is not None and not needs_httpx(request):
            return self._fast.send(self, request)
        return self._slow().send(self, request)

    def _run(self, flow: Operation[T]) -> T:
        try:
            request = next(flow)
            while True:
                request = flow.send(self._send(request))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()  # on an error, run the operation's cleanup (e.g. remove a partial download)

    def close(self) -> None:
        """Close the HTTP connection pools (an httpx client passed in is left open)."""
        if self._fast is not None:
            self._fast.close()
        if self._httpx is not None:
            self._httpx.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
