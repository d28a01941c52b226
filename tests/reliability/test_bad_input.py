"""Bad input into the webhook receiver over real HTTP: zero crashes, zero 5xx, a reason on every 4xx.

The receiver runs under uvicorn in a subprocess with the durable SQLite store (the production setup:
bodies that pass the checks are written to the inbox before the 200, so hostile bodies exercise the
store too). After the whole corpus the same process must still accept and process a good webhook.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest
from benchmarks import corpus

from reliability import hostile
from wacloud.webhooks.signature import HEADER, sign

JSON = {"Content-Type": "application/json"}


def _post(client: httpx.Client, url: str, body: bytes, **headers: str) -> httpx.Response:
    return client.post(url, content=body, headers={**JSON, HEADER: sign(body, corpus.APP_SECRET), **headers})


def _handled(base: str) -> int:
    return int(httpx.get(base + "/_stats").json()["updates"])


def _assert_reason(resp: httpx.Response) -> None:
    assert resp.status_code < 500, f"{resp.status_code}: {resp.text[:200]}"
    if resp.status_code >= 400:
        assert resp.json().get("error"), f"a {resp.status_code} without a reason: {resp.text[:200]}"


@pytest.fixture
def durable_receiver(receiver, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Our receiver with the SQLite store, and the path of its log."""
    server = receiver("--kind", "ours", "--store", f"sqlite:///{tmp_path / 'hooks.db'}")
    return server, tmp_path / "receiver.log"


def test_hostile_bodies_never_crash_the_receiver(durable_receiver) -> None:  # type: ignore[no-untyped-def]
    server, log = durable_receiver
    url = server.base_url + "/webhook"
    seen: dict[str, int] = {}
    with httpx.Client(timeout=30) as client:
        for name, body, allowed in hostile.bodies():
            resp = _post(client, url, body)
            seen[name] = resp.status_code
            assert resp.status_code in allowed, f"{name}: got {resp.status_code} {resp.text[:200]}"
            _assert_reason(resp)
            assert server.proc.poll() is None, f"receiver died on {name!r}"
        # Still serving, and still processing: a fresh good webhook is handled.
        before = _handled(server.base_url)
        good = corpus.bodies(1, kinds=["text"], seed=424242)[0]
        assert _post(client, url, good).status_code == 200
    deadline = time.monotonic() + 10
    while _handled(server.base_url) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _handled(server.base_url) > before
    text = log.read_text(errors="replace")
    # The parser's safety net logs a traceback when a bug would have crashed it: none may fire.
    assert "Traceback" not in text, text[-3000:]
    assert len(seen) == len(hostile.bodies())


def test_signature_and_protocol_errors_are_4xx_with_a_reason(durable_receiver) -> None:  # type: ignore[no-untyped-def]
    server, _ = durable_receiver
    url = server.base_url + "/webhook"
    body = corpus.bodies(1, kinds=["status_read"], seed=3)[0]
    with httpx.Client(timeout=10) as client:
        cases = {
            "missing signature": client.post(url, content=body, headers=JSON),
            "wrong signature": client.post(url, content=body, headers={**JSON, HEADER: sign(body, "not-it")}),
            "signature of another body": client.post(url, content=body + b" ", headers={**JSON, HEADER: sign(
                body, corpus.APP_SECRET)}),
            "garbage signature": client.post(url, content=body,
                                             headers={**JSON, HEADER: "sha256=zz\u00e9".encode("latin-1")}),
            "sha1 signature": client.post(url, content=body, headers={**JSON, HEADER: "sha1=abcdef"}),
            "wrong content type": _post(client, url, body, **{"Content-Type": "text/plain"}),
            "form content type": _post(client, url, body,
                                       **{"Content-Type": "application/x-www-form-urlencoded"}),
        }
        for name, resp in cases.items():
            assert 400 <= resp.status_code < 500, f"{name}: {resp.status_code}"
            _assert_reason(resp)
        assert cases["missing signature"].status_code == 401
        assert cases["wrong signature"].status_code == 403
        assert cases["signature of another body"].status_code == 403
        verify = client.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "wrong",
                                         "hub.challenge": "123"})
        assert verify.status_code == 403
        verify = client.get(url, params={"hub.mode": "subscribe", "hub.verify_token": "bench-verify",
                                         "hub.challenge": "c\u00e9 123"})
        assert verify.status_code == 200 and verify.text == "c\u00e9 123"
        put = client.put(url, content=body, headers=JSON)
        assert put.status_code == 405
    assert server.proc.poll() is None


def test_oversized_declared_length_is_refused_before_the_body_is_read(durable_receiver) -> None:  # type: ignore[no-untyped-def]
    server, _ = durable_receiver
    port = int(server.base_url.rsplit(":", 1)[1])
    # Claim 50 MB and send nothing: the answer must come from the header alone (no hang, no buffering).
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 52428800\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    # A chunked upload that grows past the cap is cut off too.
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 100_000
    resp = httpx.post(server.base_url + "/webhook", content=chunks(), headers=JSON, timeout=30)
    assert resp.status_code == 413
    _assert_reason(resp)
    assert server.proc.poll() is None
