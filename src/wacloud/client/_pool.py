"""The sync client's default transport: a small thread-safe keep-alive pool of ``http.client`` connections.

Why not httpx here: per send, httpx/httpcore cost most of the client's CPU (docs/benchmarks.md), while
``http.client`` writes one request and parses one status line and headers in a few C-backed calls.
What this pool does not do (multipart, streamed downloads, proxies) is left to httpx by the caller
(:mod:`wacloud.client.transport`).

Connections are never shared by two threads: a thread takes an idle one (or opens one), uses it, and
gives it back. Before reuse, an idle connection the server has closed (its socket reads as ready: EOF)
is dropped, which is how httpcore avoids the keep-alive race too. If a reused connection still fails
while the request is being written, the request is sent once more on a new connection (nothing reached
the server); a failure after it was written is reported, never retried, so a message is never sent twice.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from urllib.parse import urlsplit

from wacloud.client import io
from wacloud.client.core import ApiConfig, Request, Response
from wacloud.client.transport import Timeouts, failure, tls_context

#: Idle connections kept per host; more are closed when given back (threads beyond this still work).
MAX_IDLE_PER_HOST = 64
_Key = tuple[str, str, int]


class _Written(Exception):
    """Marks a failure that happened after the request was fully written."""


def _dead(conn: http.client.HTTPConnection) -> bool:
    """True when an idle connection cannot be reused: closed, or the server closed (or wrote to) it."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class PoolSync:
    """Blocking HTTP/1.1 keep-alive transport on ``http.client``."""

    def __init__(self, timeouts: Timeouts) -> None:
        self._timeouts = timeouts
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _open(self, key: _Key) -> http.client.HTTPConnection:
        scheme, host, port = key
        t = self._timeouts
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=t.connect, context=tls_context())
        else:
            conn = http.client.HTTPConnection(host, port, timeout=t.connect)
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(t.read)  # connect timeout for the handshake, read timeout from now on
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def _take(self, key: _Key) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                conn = idle.pop()
                if not _dead(conn):
                    return conn
                conn.close()
        return None

    def _give_back(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if not self._closed and len(idle) < MAX_IDLE_PER_HOST:
                idle.append(conn)
                return
        conn.close()

    def send(self, config: ApiConfig, request: Request) -> Response:
        """Perform ``request`` (no multipart, no streaming) and read the whole answer."""
        url, headers, body = io.plain(config, request)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise failure(request, "UnsupportedProtocol", ValueError(f"cannot send to {scheme or 'a'} URL"))
        key = (scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80))
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn = self._take(key)
        if conn is not None:
            try:
                return self._exchange(key, conn, request.method, target, headers, body)
            except _Written as exc:
                raise self._mapped(request, exc.__cause__ or exc) from exc.__cause__
            except (OSError, http.client.HTTPException):
                pass  # the reused connection broke before the request was out: once more, on a new one
        try:
            conn = self._open(key)
        except TimeoutError as exc:
            raise failure(request, "ConnectTimeout", exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise failure(request, "ConnectError", exc) from exc
        try:
            return self._exchange(key, conn, request.method, target, headers, body)
        except _Written as exc:
            raise self._mapped(request, exc.__cause__ or exc) from exc.__cause__
        except (OSError, http.client.HTTPException) as exc:
            raise self._mapped(request, exc, writing=True) from exc

    def _exchange(self, key: _Key, conn: http.client.HTTPConnection, method: str, target: str,
                  headers: dict[str, str], body: bytes | None) -> Response:
        try:
            conn.request(method, target, body=body, headers=headers)
        except BaseException:
            conn.close()
            raise
        try:
            resp = conn.getresponse()
            content = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise _Written from exc
        except BaseException:
            conn.close()
            raise
        if resp.will_close:
            conn.close()
        else:
            self._give_back(key, conn)
        return Response(status_code=resp.status, headers={k.lower(): v for k, v in resp.getheaders()},
                        content=content)

    @staticmethod
    def _mapped(request: Request, exc: BaseException, writing: bool = False) -> Exception:
        if isinstance(exc, TimeoutError):
            return failure(request, "WriteTimeout" if writing else "ReadTimeout", exc)
        if isinstance(exc, http.client.RemoteDisconnected | ConnectionError | http.client.IncompleteRead):
            return failure(request, "RemoteProtocolError", exc)
        if isinstance(exc, http.client.HTTPException):
            return failure(request, "RemoteProtocolError", exc)
        return failure(request, "WriteError" if writing else "ReadError", exc)

    def close(self) -> None:
        """Close every idle connection; connections in use close when given back."""
        with self._lock:
            self._closed = True
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()
