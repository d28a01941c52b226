"""The async client's default transport: one ``aiohttp.ClientSession`` per event loop.

Why aiohttp: httpcore's asyncio pool scans every connection for every queued request, so the async
client's CPU per send doubled at 32 in flight (docs/benchmarks.md); aiohttp's connector hands out
idle connections from a per-host deque and parses responses in C. What this transport does not do
(multipart, streamed downloads, proxies) is left to httpx by the caller (:mod:`wacloud.client.transport`).

aiohttp itself re-sends a request once on a new connection when a *reused* keep-alive connection turns
out to be closed, for idempotent methods only; a POST that lost its connection is reported, never sent
twice.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

import wacloud.client.io as io
from wacloud.client.core import ApiConfig, Request, Response
from wacloud.client.transport import Timeouts, failure, tls_context

#: Connections open at once per client (httpx's default is 100 as well); further requests wait for one.
MAX_CONNECTIONS = 100


class AiohttpAsync:
    """Asyncio HTTP/1.1 keep-alive transport on aiohttp."""

    def __init__(self, timeouts: Timeouts) -> None:
        t = timeouts
        self._timeout = aiohttp.ClientTimeout(total=None, connect=t.pool, sock_connect=t.connect,
                                              sock_read=t.read)
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connector: aiohttp.TCPConnector | None = None

    def _current(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        session = self._session
        if session is None or self._loop is not loop or session.closed:
            # A session belongs to the loop it was made on; a client reused under a new loop (one
            # asyncio.run after another) gets a fresh one, the old loop's connections died with it.
            connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=0, ssl=tls_context())
            self._connector = connector
            session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, trust_env=False)
            self._session, self._loop = session, loop
        return session

    async def send(self, config: ApiConfig, request: Request) -> Response:
        """Perform ``request`` (no multipart, no streaming) and read the whole answer."""
        url, headers, body = io.plain(config, request)
        session = self._current()
        try:
            async with session.request(request.method, url, data=body, headers=headers,
                                       allow_redirects=False) as resp:
                content = await resp.read()
                return Response(status_code=resp.status,
                                headers={k.lower(): v for k, v in resp.headers.items()}, content=content)
        except aiohttp.ConnectionTimeoutError as exc:
            raise failure(request, "ConnectTimeout", exc) from exc
        except aiohttp.SocketTimeoutError as exc:
            raise failure(request, "ReadTimeout", exc) from exc
        except TimeoutError as exc:
            raise failure(request, "ReadTimeout", exc) from exc
        except aiohttp.ClientConnectorError as exc:
            raise failure(request, "ConnectError", exc) from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise failure(request, "RemoteProtocolError", exc) from exc
        except aiohttp.InvalidURL as exc:
            raise failure(request, "UnsupportedProtocol", exc) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise failure(request, "NetworkError", exc) from exc

    async def aclose(self) -> None:
        """Close the session of the running loop (connections of a finished loop are already gone)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            with contextlib.suppress(RuntimeError):  # made on another, now closed, loop: nothing to release
                await session.close()

    def __del__(self) -> None:
        # A client dropped without aclose() (an httpx client is dropped silently too): release its
        # sockets now instead of letting aiohttp log "Unclosed client session" when it is collected.
        session = self._session
        if session is None or session.closed:
            return
        connector = self._connector
        session.detach()
        if connector is None:
            return
        # TCPConnector.close() is a coroutine whose first step, before it ever suspends, closes every
        # transport; run just that step here, where nothing can be awaited.
        closing = connector.close(abort_ssl=True)
        with contextlib.suppress(Exception):
            closing.send(None)
        with contextlib.suppress(Exception):
            closing.close()
