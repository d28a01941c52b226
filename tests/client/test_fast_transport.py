"""The default transports (``http.client`` pool, aiohttp) against real sockets, and when httpx takes over."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
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


def test_a_connection_the_server_closed_is_not_reused_sync(closing_server: str) -> None:
    with Client(token="t", phone_number_id="1", base_url=closing_server) as client:
        for _ in range(3):
            assert client.send_text(TO, "hi").wamid == "wamid.CLOSED"
            time.sleep(0.05)  # the server's close reaches us, as it would after an idle timeout
    assert len(_ClosesSilently.connections) == 3


async def test_a_connection_the_server_closed_is_not_reused_async(closing_server: str) -> None:
    async with AsyncClient(token="t", phone_number_id="1", base_url=closing_server) as client:
        for _ in range(3):
            assert (await client.send_text(TO, "hi")).wamid == "wamid.CLOSED"
            await asyncio.sleep(0.05)
    assert len(_ClosesSilently.connections) == 3


_OK_BODY = json.dumps({"messaging_product": "whatsapp", "contacts": [{"input": TO, "wa_id": TO[1:]}],
                       "messages": [{"id": "wamid.RAW"}]}).encode()


def _raw_server(answer: bytes) -> tuple[str, threading.Thread, socket.socket]:
    """A one-shot TCP server that reads one request and writes ``answer`` as it is, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
            while len(rest) < length:
                rest += conn.recv(65536)
            conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread, listener


def _chunked(body: bytes) -> bytes:
    parts = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    return parts + b"0\r\nX-T: 1\r\n\r\n"  # a trailer after the last chunk


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + _chunked(_OK_BODY),
        b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + _OK_BODY,  # ends when the server closes
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_OK_BODY), _OK_BODY),
    ],
    ids=["interim-then-chunked", "close-delimited", "connection-close"],
)
def test_the_sync_transport_reads_every_http11_body_framing(answer: bytes) -> None:
    url, thread, listener = _raw_server(answer)
    with listener, Client(token="t", phone_number_id="1", base_url=url) as client:
        assert client.send_text(TO, "hi").wamid == "wamid.RAW"
    thread.join(5)


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", "RemoteProtocolError"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"messages\"", "RemoteProtocolError"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "RemoteProtocolError"),
        (b"", "RemoteProtocolError"),
    ],
    ids=["not-http", "short-body", "bad-chunk", "closed-without-answer"],
)
def test_unreadable_answers_are_transport_errors(answer: bytes, kind: str) -> None:
    url, thread, listener = _raw_server(answer)
    with listener, Client(token="t", phone_number_id="1", base_url=url) as client, \
            pytest.raises(errors.TransportError) as info:
        client.send_text(TO, "hi")
    assert kind in str(info.value) and "/messages" in str(info.value)
    thread.join(5)


def test_a_token_with_a_line_break_never_reaches_the_wire() -> None:
    client = Client(token="t\r\nX-Injected: 1", phone_number_id="1", base_url="http://127.0.0.1:9")
    with client, pytest.raises(errors.ValidationError) as info:
        client.send_text(TO, "hi")
    assert "t\r\nX-Injected" not in str(info.value)


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[tuple[str, str]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate; yields (base URL, CA file)."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    _ClosesSilently.connections = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesSilently)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", str(cert_file)
    server.shutdown()
    server.server_close()


async def test_tls_is_verified_on_both_clients(tls_server: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, ca_file = tls_server
    options: dict[str, Any] = {"token": "t", "phone_number_id": "1", "base_url": url, "timeout": 5.0}
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with Client(**options) as client, pytest.raises(errors.TransportError) as info:
        client.send_text(TO, "hi")  # a certificate nobody vouches for is refused
    assert "CERTIFICATE_VERIFY_FAILED" in str(info.value)
    async with AsyncClient(**options) as aclient:
        with pytest.raises(errors.TransportError):
            await aclient.send_text(TO, "hi")
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)  # trusted: both go through, over TLS
    with Client(**options) as client:
        assert client.send_text(TO, "hi").wamid == "wamid.CLOSED"
    async with AsyncClient(**options) as aclient:
        assert (await aclient.send_text(TO, "hi")).wamid == "wamid.CLOSED"


async def test_an_async_client_dropped_without_aclose_releases_quietly(
        sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    import gc
    import warnings

    caplog.set_level(logging.ERROR, logger="asyncio")
    client = sandbox.async_client()
    assert (await client.send_text(TO, "hi")).wamid.startswith("wamid.")
    gc.collect()  # what earlier tests left behind is not this test's business
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning | RuntimeWarning)] == []
    assert "Unclosed" not in caplog.text
