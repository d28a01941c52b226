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


# --- the sandbox, fed invalid requests ---------------------------------------------------------------

def _sandbox_hostile_bodies() -> list[tuple[str, bytes]]:
    good = {"messaging_product": "whatsapp", "to": "+16505550123", "type": "text", "text": {"body": "hi"}}

    def variant(**changes: object) -> bytes:
        import json

        return json.dumps({**good, **changes}).encode()

    out = [(name, body) for name, body, _ in hostile.bodies() if name not in ("empty object",)]
    out += [
        ("to is a number", variant(to=16505550123)),
        ("to is junk", variant(to="call me")),
        ("to is huge", variant(to="1" * 100_000)),
        ("type is a list", variant(type=["text"])),
        ("unknown type", variant(type="hologram", hologram={})),
        ("text is a string", variant(text="hi")),
        ("body is a number", variant(text={"body": 5})),
        ("body too long", variant(text={"body": "x" * 5000})),
        ("messaging_product wrong", variant(messaging_product="sms")),
        ("template junk", variant(type="template", template={"name": 5, "language": "en"})),
        ("interactive junk", variant(type="interactive", interactive={"type": "button", "action": []})),
        ("image without media", variant(type="image", image={})),
        ("context junk", variant(context={"message_id": {"x": 1}})),
        ("recipient_type junk", variant(recipient_type=7)),
    ]
    return out


def test_sandbox_answers_invalid_sends_with_meta_errors_never_5xx(tmp_path: Path) -> None:
    from benchmarks import _harness as h

    with h.sandbox(log=tmp_path / "sandbox.log") as sb, httpx.Client(timeout=30) as client:
        url = f"{sb.base_url}/v23.0/{h.SANDBOX_PHONE_ID}/messages"
        auth = {"Authorization": f"Bearer {h.SANDBOX_TOKEN}"}
        wrong: list[str] = []
        for name, body in _sandbox_hostile_bodies():
            resp = client.post(url, content=body, headers={**JSON, **auth})
            assert sb.proc.poll() is None, f"sandbox died on {name!r}"
            if not 400 <= resp.status_code < 500:
                wrong.append(f"{name}: {resp.status_code} {resp.text[:120]}")
                continue
            err = resp.json()["error"]
            if not (isinstance(err["code"], int) and err["message"] and err.get("fbtrace_id")):
                wrong.append(f"{name}: not a Meta error object: {err}")
        assert not wrong, "\n".join(wrong)
        no_token = client.post(url, json={"messaging_product": "whatsapp", "to": "+16505550123", "type": "text",
                                          "text": {"body": "hi"}})
        assert no_token.status_code == 401 and no_token.json()["error"]["code"] == 190
        bad_media = client.post(f"{sb.base_url}/v23.0/{h.SANDBOX_PHONE_ID}/media", headers=auth,
                                content=b"--x\r\nnot really multipart", )
        assert 400 <= bad_media.status_code < 500, bad_media.text[:200]
        for path, body in (("/_sandbox/faults", b"[1,2]"), ("/_sandbox/customers", b"{bad json"),
                           ("/_sandbox/inbound", b'{"from": 5}'), ("/_sandbox/clock/advance", b'{"seconds": "x"}')):
            resp = client.post(sb.base_url + path, content=body, headers=JSON)
            assert 400 <= resp.status_code < 500, f"{path}: {resp.status_code} {resp.text[:200]}"
        stats = client.get(sb.base_url + "/_sandbox/stats").json()
        assert stats["accepted"] == 0
    assert "Traceback" not in (tmp_path / "sandbox.log").read_text(errors="replace")
