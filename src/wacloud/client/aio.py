"""The asyncio client: the same operations as the sync client, run over aiohttp or ``httpx.AsyncClient``."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

from wacloud.client._aiohttp import AiohttpAsync
from wacloud.client.core import AsyncRunner, Operation, Request, Response, T
from wacloud.client.transport import HttpxAsync, Timeouts, needs_httpx, proxy_configured


class AsyncTransport(AsyncRunner):
    """Drives operation flows over the asyncio transport (see :mod:`wacloud.client.transport`).

    By default requests go over aiohttp; a ``transport`` or ``http_client`` given here (any httpx one,
    e.g. ``httpx.ASGITransport`` to an in-process sandbox), or a proxy in the environment, puts every
    request on httpx, and multipart uploads and streamed downloads always go over httpx.
    """

    def __init__(self, *, timeout: float | httpx.Timeout = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 http_client: httpx.AsyncClient | None = None, **config: Any) -> None:
        super().__init__(**config)
        self._timeout = timeout
        self._httpx: HttpxAsync | None = None
        self._fast: AiohttpAsync | None = None
        if http_client is not None or transport is not None or proxy_configured():
            self._httpx = HttpxAsync(timeout, transport, http_client)
        else:
            self._fast = AiohttpAsync(Timeouts.of(timeout))

    @property
    def _http(self) -> httpx.AsyncClient:
        """The httpx client used for what the fast path does not do (made on first use)."""
        return self._slow().http

    def _slow(self) -> HttpxAsync:
        if self._httpx is None:
            self._httpx = HttpxAsync(self._timeout)
        return self._httpx

    async def _send(self, request: Request) -> Response:
        if self._fast is not None and not needs_httpx(request):
            return await self._fast.send(self, request)
        return await self._slow().send(self, request)

    async def _run(self, flow: Operation[T]) -> T:
        try:
            request = next(flow)
            while True:
                request = flow.send(await self._send(request))
        except StopIteration as stop:
            result: T = stop.value
            return result
        finally:
            flow.close()  # on an error, run the operation's cleanup (e.g. remove a partial download)

    async def aclose(self) -> None:
        """Close the HTTP connection pools (an httpx client passed in is left open)."""
        if self._fast is not None:
            await self._fast.aclose()
        if self._httpx is not None:
            await self._httpx.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
