"""The asyncio client: the same operations as the sync client, run over ``httpx.AsyncClient``."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

import wacloud.client.io as io
from wacloud.client.core import AsyncRunner, Operation, Request, Response, T


class AsyncTransport(AsyncRunner):
    """Drives operation flows with an async httpx client."""

    def __init__(self, *, timeout: float | httpx.Timeout = 30.0,
                 transport: httpx.AsyncBaseTransport | None = None,
                 http_client: httpx.AsyncClient | None = None, **config: Any) -> None:
        super().__init__(**config)
        self._http = http_client or httpx.AsyncClient(timeout=timeout, transport=transport)
        self._owns_http = http_client is None

    async def _send(self, request: Request) -> Response:
        try:
            if request.stream_to is None:
                resp = await self._http.request(**io.build(self, request))
                return io.to_response(resp, resp.content)
            async with self._http.stream(**io.build(self, request)) as resp:
                if resp.status_code >= 400:
                    return io.to_response(resp, await resp.aread())
                sink = io._Sink(request.stream_to)
                try:
                    async for chunk in resp.aiter_bytes():
                        sink.write(chunk)
                finally:
                    sink.close()
                return sink.response(resp)
        except httpx.TransportError as exc:
            raise io.transport_error(exc, request) from exc

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
        """Close the HTTP connection pool (if this client created it)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()
