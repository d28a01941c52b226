"""The sync client's default transport: a small thread-safe pool of keep-alive HTTP/1.1 connections.

Why not httpx here: per send, httpx/httpcore cost most of the client's CPU (docs/benchmarks.md). Why not
``http.client`` either: it parses every response's headers with the ``email`` package (a fifth of a
send's CPU in a profile) and writes headers and body in two system calls. The Graph API answers small
JSON bodies, so this module writes each request in one ``sendall`` and reads the answer with a buffered
reader: status line, headers, then a ``Content-Length``, chunked or close-delimited body. Sockets and TLS
are the standard library's (``socket.create_connection``, :func:`~wacloud.client.transport.tls_context`
with hostname checking). What it does not do (multipart, streamed downloads, proxies) is left to httpx by
the caller (:mod:`wacloud.client.transport`).

Connections are never shared by two threads: a thread takes an idle one (or opens one), uses it, and
gives it back. Before reuse, an idle connection the server has closed (its socket reads as ready: EOF)
is dropped, as httpcore does. If a reused connection fails while the request is being written, the
request is sent once more on a new connection; a failure after it was written is reported, never
retried, so a message is never sent twice.
"""

from __future__ import annotations

import re
import select
import socket
import threading
from typing import BinaryIO
from urllib.parse import quote, urlsplit

import wacloud.client.io as io
import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Request, Response
from wacloud.client.transport import Timeouts, failure, tls_context

#: Idle connections kept per host; more are closed when given back (more threads than this still work).
MAX_IDLE_PER_HOST = 64
_MAX_LINE = 65536
_MAX_HEADERS = 100
#: A request target that can go on the wire as it is (printable ASCII, no space); others are quoted.
_PLAIN_TARGET = re.compile(r"[!-~]+")
_Key = tuple[str, str, int]


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 we can read (or it closed the connection mid-answer)."""


class _Written(Exception):
    """Wraps a failure that happened after the request was fully written (never retried)."""


class _Conn:
    """One socket and its buffered reader."""

    __slots__ = ("reader", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader: BinaryIO = sock.makefile("rb")

    def dead(self) -> bool:
        """True when an idle connection cannot be reused: the server closed (or wrote to) it."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


def _head(method: str, target: str, host: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", "Accept: */*", "Accept-Encoding: identity",
             "User-Agent: wacloud"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
            raise errors.ValidationError("headers", f"header {name!r} holds a line break or a colon")
        lines.append(f"{name}: {value}")
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    lines.append("\r\n")
    try:
        return "\r\n".join(lines).encode("latin-1")
    except UnicodeEncodeError:
        raise errors.ValidationError("headers", "a header holds characters HTTP cannot carry") from None


def _line(reader: BinaryIO) -> bytes:
    line = reader.readline(_MAX_LINE + 1)
    if len(line) > _MAX_LINE:
        raise ProtocolError("a line of the answer is too long")
    return line


def _read_answer(reader: BinaryIO, method: str) -> tuple[int, dict[str, str], bytes, bool]:
    """(status, headers with lower-case names, body, whether the server closes the connection)."""
    while True:
        line = _line(reader)
        if not line:
            raise ProtocolError("Server disconnected without sending a response.")
        version, _, rest = line.partition(b" ")
        code = rest[:3]
        if not version.startswith(b"HTTP/1.") or not code.isdigit():
            raise ProtocolError(f"not an HTTP/1.x status line: {line[:80]!r}")
        status = int(code)
        headers: dict[str, str] = {}
        while True:
            line = _line(reader)
            if line in (b"\r\n", b"\n", b""):
                break
            if len(headers) >= _MAX_HEADERS:
                raise ProtocolError("too many headers in the answer")
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                raise ProtocolError(f"not a header line: {line[:80]!r}")
            key, text = name.strip().lower(), value.strip()
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        if not 100 <= status < 200:
            break  # an interim answer (100 Continue, 103 Early Hints) is followed by the real one
    connection = headers.get("connection", "").lower()
    closes = "close" in connection or (version == b"HTTP/1.0" and "keep-alive" not in connection)
    if method == "HEAD" or status in (204, 304):
        return status, headers, b"", closes
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return status, headers, _chunked(reader), closes
    length = headers.get("content-length")
    if length is None:
        return status, headers, reader.read(), True  # the body ends when the server closes
    try:
        size = int(length.split(",")[0])
    except ValueError:
        raise ProtocolError(f"bad Content-Length {length!r}") from None
    body = reader.read(size)
    if len(body) < size:
        raise ProtocolError(f"peer closed connection after {len(body)} of {size} bytes")
    return status, headers, body, closes


def _chunked(reader: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        line = _line(reader)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size line {line[:40]!r}") from None
        if size == 0:
            while _line(reader) not in (b"\r\n", b"\n", b""):
                pass  # trailers: nothing we use
            return b"".join(parts)
        chunk = reader.read(size)
        if len(chunk) < size:
            raise ProtocolError("peer closed connection in the middle of a chunk")
        parts.append(chunk)
        reader.read(2)  # the CRLF after each chunk


class PoolSync:
    """Blocking HTTP/1.1 keep-alive transport."""

    def __init__(self, timeouts: Timeouts) -> None:
        self._timeouts = timeouts
        self._idle: dict[_Key, list[_Conn]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def _open(self, key: _Key) -> _Conn:
        scheme, host, port = key
        t = self._timeouts
        sock = socket.create_connection((host, port), timeout=t.connect)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock = tls_context().wrap_socket(sock, server_hostname=host)
            sock.settimeout(t.read)  # connect timeout for the handshake, read timeout from now on
        except BaseException:
            sock.close()
            raise
        return _Conn(sock)

    def _take(self, key: _Key) -> _Conn | None:
        with self._lock:
            idle = self._idle.get(key)
            while idle:
                conn = idle.pop()
                if not conn.dead():
                    return conn
                conn.close()
        return None

    def _give_back(self, key: _Key, conn: _Conn) -> None:
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
        scheme, host = parts.scheme.lower(), parts.hostname
        if scheme not in ("http", "https") or not host:
            raise failure(request, "UnsupportedProtocol", ValueError(f"cannot send to {url.split('?')[0]!r}"))
        default_port = 443 if scheme == "https" else 80
        try:
            port = parts.port or default_port
        except ValueError as exc:
            raise failure(request, "UnsupportedProtocol", exc) from None
        key = (scheme, host, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not _PLAIN_TARGET.fullmatch(target):
            target = quote(target, safe="/?&=%:@!$'()*+,;~")
        name = f"[{host}]" if ":" in host else host
        wire = _head(request.method, target, name if port == default_port else f"{name}:{port}", headers, body)
        if body:
            wire += body
        conn = self._take(key)
        if conn is not None:
            try:
                return self._exchange(key, conn, request.method, wire)
            except _Written as exc:
                raise self._mapped(request, exc.__cause__ or exc) from exc.__cause__
            except OSError:
                pass  # the reused connection broke before the request was out: once more, on a new one
        try:
            conn = self._open(key)
        except TimeoutError as exc:
            raise failure(request, "ConnectTimeout", exc) from exc
        except OSError as exc:
            raise failure(request, "ConnectError", exc) from exc
        try:
            return self._exchange(key, conn, request.method, wire)
        except _Written as exc:
            raise self._mapped(request, exc.__cause__ or exc) from exc.__cause__
        except OSError as exc:
            raise failure(request, "WriteTimeout" if isinstance(exc, TimeoutError) else "WriteError",
                          exc) from exc

    def _exchange(self, key: _Key, conn: _Conn, method: str, wire: bytes) -> Response:
        try:
            conn.sock.sendall(wire)
        except BaseException:
            conn.close()
            raise
        try:
            status, headers, content, closes = _read_answer(conn.reader, method)
        except (OSError, ProtocolError) as exc:
            conn.close()
            raise _Written from exc
        except BaseException:
            conn.close()
            raise
        if closes:
            conn.close()
        else:
            self._give_back(key, conn)
        return Response(status_code=status, headers=headers, content=content)

    @staticmethod
    def _mapped(request: Request, exc: BaseException) -> Exception:
        if isinstance(exc, TimeoutError):
            return failure(request, "ReadTimeout", exc)
        if isinstance(exc, ProtocolError | ConnectionError):
            return failure(request, "RemoteProtocolError", exc)
        return failure(request, "ReadError", exc)

    def close(self) -> None:
        """Close every idle connection; connections in use close when given back."""
        with self._lock:
            self._closed = True
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()
