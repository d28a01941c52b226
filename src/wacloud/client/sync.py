"""The blocking client: operations from the API mixins, run over ``httpx.Client``."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

import wacloud.client.io as io
from wacloud.client.core import Operation, Request, Response, SyncRunner, T


class SyncTransport(SyncRunner):
    """Drives operation flows with a blocking httpx client."""

    def __init__(self, *, timeout: float | httpx.Timeout = 30.0, transport: httpx.BaseTransport | None = None,
                 http_client: httpx.Client | None = None, **config: Any) -> None:
        super().__init__(**config)
        self._http = http_client or httpx.Client(timeout=timeout, transport=transport)
        self._owns_http = http_client is None

    def _send(self, request: Request) -> Response:
        try:
            if request.stream_to is None:
                resp = self._http.request(**io.build(self, request))
                return io.to_response(resp, resp.content)
            with self._http.stream(**io.build(self, request)) as resp:
                if resp.status_code >= 400:
                    return io.to_response(resp, resp.read())
                sink = io._Sink(request.stream_to)
                try:
                    for chunk in resp.iter_bytes():
                        sink.write(chunk)
                finally:
                    sink.close()
                return sink.response(resp)
        except httpx.TransportError as exc:
            raise io.transport_error(exc, request) from exc

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
        """Close the HTTP connection pool (if this client created it)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
