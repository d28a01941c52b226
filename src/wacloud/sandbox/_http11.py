"""A minimal keep-alive HTTP/1.1 POST client for webhook delivery.

httpx costs several hundred microseconds per request; at 1,000 messages per second the sandbox sends
about 3,000 status webhooks per second on the same small machine as the code under test, so each
webhook worker keeps one raw asyncio connection and writes/parses HTTP/1.1 itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from urllib.parse import urlsplit


class WebhookHTTPError(Exception):
    """The POST got no usable answer (connection refused or dropped, timeout, bad response)."""


class Http11Connection:
    """One reusable connection to one origin; ``post`` returns the HTTP status."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._origin: tuple[str, str, int] | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST ``body``; one retry on a fresh connection if a kept-alive one turns out closed."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookHTTPError(f"unsupported webhook URL {url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rsplit("@", 1)[-1]
        head = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        reused = self._writer is not None and self._origin == origin
        try:
            return await asyncio.wait_for(self._exchange(origin, request), self.timeout)
        except (OSError, asyncio.IncompleteReadError, WebhookHTTPError, TimeoutError) as exc:
            await self.close()
            if reused and not isinstance(exc, TimeoutError):
                try:
                    return await asyncio.wait_for(self._exchange(origin, request), self.timeout)
                except (OSError, asyncio.IncompleteReadError, WebhookHTTPError, TimeoutError) as again:
                    await self.close()
                    raise WebhookHTTPError(type(again).__name__) from again
            raise WebhookHTTPError(type(exc).__name__) from exc

    async def _exchange(self, origin: tuple[str, str, int], request: bytes) -> int:
        if self._writer is None or self._origin != origin:
            await self.close()
            context = ssl.create_default_context() if origin[0] == "https" else None
            self._reader, self._writer = await asyncio.open_connection(origin[1], origin[2], ssl=context)
            self._origin = origin
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        writer.write(request)
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise WebhookHTTPError("connection closed")
        try:
            status = int(status_line.split(b" ", 2)[1])
        except (IndexError, ValueError):
            raise WebhookHTTPError(f"bad status line {status_line[:60]!r}") from None
        length: int | None = None
        chunked = False
        close = False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            key = name.strip().lower()
            if key == b"content-length":
                length = int(value.strip())
            elif key == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif key == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await reader.readexactly(length)
        elif length is None and status not in (204, 304):
            close = True  # no framing: the body runs to the end of the connection
        if close:
            await self.close()
        return status

    async def close(self) -> None:
        """Drop the connection (the next POST opens a new one)."""
        writer = self._writer
        self._reader = self._writer = None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()
