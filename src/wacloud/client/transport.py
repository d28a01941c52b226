"""The transport seam: what turns a :class:`~wacloud.client.core.Request` into a :class:`Response`.

The runners (:mod:`wacloud.client.sync`, :mod:`wacloud.client.aio`) call ``send(config, request)`` on one
of these and know nothing else about HTTP. Two kinds exist for each I/O style:

- the **fast** default (:mod:`wacloud.client._pool` on ``http.client`` for the sync client,
  :mod:`wacloud.client._aiohttp` for the async one): measured at less than half httpx's CPU per send
  (docs/benchmarks.md), because httpx is 77-86 % of a send's CPU and httpcore's asyncio pool scans every
  connection for every queued request;
- **httpx**, for everything the fast path does not do: a user-supplied ``httpx`` client or transport
  (``httpx.MockTransport``, the gateway's in-process ``httpx.ASGITransport`` to the sandbox), a proxy set
  in the environment (``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``: the whole client then runs on httpx,
  which honours them and ``NO_PROXY``), and, per request, multipart uploads and streamed downloads.

Both keep the same timeouts, TLS verification (certifi's CA bundle, or ``SSL_CERT_FILE``/``SSL_CERT_DIR``)
and error mapping: a failed connection, timeout or dropped connection is a
:class:`~wacloud.errors.TransportError` naming the call (never the token) and an httpx-style kind
(``ConnectError``, ``ReadTimeout``, ``RemoteProtocolError``...).
"""

from __future__ import annotations

import os
import ssl
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import certifi
import httpx

import wacloud.client.io as io
import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Request, Response

#: What the clients accept as ``timeout``.
TimeoutSpec = float | httpx.Timeout | None


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds per phase (None: no limit), read the way httpx reads ``timeout=``."""

    connect: float | None
    read: float | None
    write: float | None
    pool: float | None

    @classmethod
    def of(cls, timeout: TimeoutSpec) -> Timeouts:
        """From a number of seconds (every phase), an ``httpx.Timeout`` or None (no limit)."""
        t = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        return cls(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


class SyncSender(Protocol):
    """A blocking transport."""

    def send(self, config: ApiConfig, request: Request) -> Response:
        """Perform ``request``; raise :class:`~wacloud.errors.TransportError` when no answer came."""

    def close(self) -> None:
        """Release connections."""


class AsyncSender(Protocol):
    """An asyncio transport."""

    async def send(self, config: ApiConfig, request: Request) -> Response:
        """Perform ``request``; raise :class:`~wacloud.errors.TransportError` when no answer came."""

    async def aclose(self) -> None:
        """Release connections."""


def needs_httpx(request: Request) -> bool:
    """True for what the fast transports leave to httpx: multipart bodies and streamed downloads."""
    return request.files is not None or request.data is not None or request.stream_to is not None


def proxy_configured() -> bool:
    """True when the environment names an HTTP(S) proxy (then the client runs on httpx, which honours it)."""
    proxies = urllib.request.getproxies_environment()
    return any(scheme in proxies for scheme in ("http", "https", "all"))


@lru_cache(maxsize=4)
def _tls_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile, capath=capath)


def tls_context() -> ssl.SSLContext:
    """A verifying TLS context with the CA bundle httpx uses (certifi), or ``SSL_CERT_FILE``/``_DIR``."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    if cafile is None and capath is None:
        cafile = certifi.where()
    return _tls_context(cafile, capath)


def failure(request: Request, kind: str, exc: BaseException) -> errors.TransportError:
    """A TransportError naming the call and an httpx-style kind of failure, never the token."""
    detail = str(exc) or type(exc).__name__
    return errors.TransportError(f"{request.method} {request.path}: {kind}: {detail}")


class HttpxSync:
    """The blocking transport over ``httpx.Client`` (a user's, or one made here)."""

    def __init__(self, timeout: TimeoutSpec = 30.0, transport: httpx.BaseTransport | None = None,
                 http_client: httpx.Client | None = None) -> None:
        self.http = http_client or httpx.Client(timeout=timeout, transport=transport)
        self._owns = http_client is None

    def send(self, config: ApiConfig, request: Request) -> Response:
        """Perform ``request`` with httpx, streaming to ``request.stream_to`` when set."""
        try:
            if request.stream_to is None:
                resp = self.http.request(**io.build(config, request))
                return io.to_response(resp, resp.content)
            with self.http.stream(**io.build(config, request)) as resp:
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

    def close(self) -> None:
        """Close the pool, if it was made here."""
        if self._owns:
            self.http.close()


class HttpxAsync:
    """The asyncio transport over ``httpx.AsyncClient`` (a user's, or one made here)."""

    def __init__(self, timeout: TimeoutSpec = 30.0, transport: httpx.AsyncBaseTransport | None = None,
                 http_client: httpx.AsyncClient | None = None) -> None:
        self.http = http_client or httpx.AsyncClient(timeout=timeout, transport=transport)
        self._owns = http_client is None

    async def send(self, config: ApiConfig, request: Request) -> Response:
        """Perform ``request`` with httpx, streaming to ``request.stream_to`` when set."""
        try:
            if request.stream_to is None:
                resp = await self.http.request(**io.build(config, request))
                return io.to_response(resp, resp.content)
            async with self.http.stream(**io.build(config, request)) as resp:
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

    async def aclose(self) -> None:
        """Close the pool, if it was made here."""
        if self._owns:
            await self.http.aclose()
