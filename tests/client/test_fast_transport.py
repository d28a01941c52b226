"""The default transports (``http.client`` pool, aiohttp) against real sockets, and when httpx takes over."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from wacloud import AsyncClient, Client, errors

from .conftest import Live

TO = "+18091234567"


async def test_plain_sends_do_not_go_through_httpx(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a plain JSON send went through httpx")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)
    for _ in range(3):  # the second and third reuse the kept-alive connection
        assert (await live.call("send_text", TO, "hi")).wamid.startswith("wamid.")
    monkeypatch.undo()  # the sandbox's control API is read over httpx
    assert len(live.sandbox.received(TO[1:])) == 3


async def test_uploads_and_downloads_fall_back_to_httpx(live: Live) -> None:
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    media_id = await live.call("upload", content, "image/png")
    assert await live.call("download", media_id) == content
    assert (await live.call("send_image", TO, media_id)).wamid.startswith("wamid.")


async def test_a_read_timeout_is_a_transport_error(live: Live) -> None:
    live.sandbox.set_faults(timeout_rate=1.0, timeout_s=5.0)
    client = live.client(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(errors.TransportError) as info:
        await live.call("send_text", TO, "hi", client=client)
    assert "ReadTimeout" in str(info.value) and "/messages" in str(info.value)
    assert time.monotonic() - started < 4.5  # the client gave up, it did not wait for the sandbox


async def test_a_proxy_in_the_environment_is_honoured(live: Live, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens: going through it must fail
    client = live.client()
    with pytest.raises(errors.TransportError):
        await live.call("send_text", TO, "hi", client=client)
    assert live.sandbox.received(TO[1:]) == []  # nothing bypassed the proxy


class _ClosesSilently(BaseHTTPRequestHandler):
    """Answers like the Cloud API, then closes the connection without a ``Connection: close`` header."""

    protocol_version = "HTTP/1.1"
    connections: list[int] = []

    def setup(self) -> None:
        super().setup()
        self.connections.append(1)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"messaging_product": "whatsapp", "contacts": [{"input": TO, "wa_id": TO[1:]}],
                           "messages": [{"id": "wamid.CLOSED"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True  # like a server whose keep-alive timeout ran out

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def closing_server() -> Iterator[str]:
    _ClosesSilently.connections = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesSilently)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_connection_the_server_closed_is_not_reused(closing_server: str, kind: str) -> None:
    options: dict[str, Any] = {"token": "t", "phone_number_id": "1", "base_url": closing_server}
    if kind == "sync":
        with Client(**options) as client:
            for _ in range(3):
                assert client.send_text(TO, "hi").wamid == "wamid.CLOSED"
                time.sleep(0.05)  # the server's close reaches us, as it would after an idle timeout
    else:
        import asyncio

        async with AsyncClient(**options) as aclient:
            for _ in range(3):
                assert (await aclient.send_text(TO, "hi")).wamid == "wamid.CLOSED"
                await asyncio.sleep(0.05)
    assert len(_ClosesSilently.connections) == 3
