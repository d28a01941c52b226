"""Through real HTTP on loopback: ASGI under uvicorn (standalone, in Starlette, in FastAPI), WSGI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from wacloud.limits import WEBHOOK_MAX_BODY_BYTES
from wacloud.webhooks import Update, WebhookApp, WebhookReceiver, WSGIApp, create_webhook_app
from wacloud.webhooks.asgi import route
from wacloud.webhooks.signature import sign
from wacloud.webhooks.store import MemoryInboxStore

from . import payloads as p
from .servers import serve_asgi, serve_wsgi, wait_for

Seen = list[Update]
Case = tuple[str, bytes, dict[str, str], int]


def _receiver(seen: Seen, **kw: Any) -> WebhookReceiver:
    lock = threading.Lock()

    def record(update: Update) -> None:
        with lock:
            seen.append(update)

    return WebhookReceiver(app_secret=p.SECRET, verify_token=p.VERIFY_TOKEN, on_update=record, **kw)


def _good(client: httpx.Client, path: str = "/") -> dict[str, Any]:
    message = p.msg("text", {"body": "still serving?"})
    raw = p.body(p.inbound(message))
    r = client.post(path, content=raw, headers=p.signed_headers(raw))
    assert r.status_code == 200, r.text
    return message


def _hostile(cap: int) -> list[tuple[str, bytes, dict[str, str], int]]:
    """(name, body, headers, expected status); bodies are signed unless the case is about signing."""
    nested = b'{"object":"whatsapp_business_account","entry":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    wrong_types = json.dumps({"object": ["x"], "entry": {"changes": 1}}).encode()
    cases: list[tuple[str, bytes, dict[str, str] | None, int]] = [
        ("malformed json", b'{"object": "whatsapp_business_account", "entry": [', None, 400),
        ("empty body", b"", None, 400),
        ("deeply nested", nested, None, 400),
        ("wrong field types", wrong_types, None, 400),
        ("json array", b"[1,2,3]", None, 400),
        ("invalid utf-8", b'{"object": "\xff\xfe"}', None, 400),
        ("wrong content type", p.body(p.inbound(p.msg("text", {"body": "x"}))),
         {"content-type": "text/plain"}, 400),
        ("form content type", b"a=1", {"content-type": "application/x-www-form-urlencoded"}, 400),
        ("no signature", p.body(p.inbound(p.msg("text", {"body": "x"}))),
         {"content-type": "application/json", "x-hub-signature-256": ""}, 401),
        ("bad signature", p.body(p.inbound(p.msg("text", {"body": "x"}))),
         {"content-type": "application/json", "x-hub-signature-256": "sha256=" + "ab" * 32}, 403),
        ("huge body", b'{"x":"' + b"a" * cap + b'"}', None, 413),
    ]
    out = []
    for name, body, headers, status in cases:
        hdrs = {"content-type": "application/json", "x-hub-signature-256": sign(body, p.SECRET)}
        hdrs.update(headers or {})
        out.append((name, body, hdrs, status))
    return out


@pytest.fixture(scope="module")
def asgi_server() -> Iterator[tuple[str, Seen]]:
    seen: Seen = []
    with serve_asgi(WebhookApp(_receiver(seen, max_body_bytes=256 * 1024))) as url:
        yield url, seen


@pytest.mark.parametrize("case", _hostile(256 * 1024), ids=lambda c: c[0])
def test_asgi_bad_input_is_4xx_and_the_server_keeps_serving(asgi_server: tuple[str, Seen],
                                                            case: Case) -> None:
    url, seen = asgi_server
    name, body, headers, status = case
    with httpx.Client(base_url=url, timeout=10) as client:
        r = client.post("/", content=body, headers=headers)
        assert r.status_code == status, (name, r.text)
        assert r.headers["content-type"] == "application/json" and json.loads(r.content)["error"]
        message = _good(client)
    assert wait_for(lambda: any(u.dedup_key == message["id"] for u in seen))


def test_asgi_streamed_body_over_the_cap_is_413_without_content_length(asgi_server: tuple[str, Seen]) -> None:
    url, _ = asgi_server

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * 8192  # 512 KiB in total, chunked, no Content-Length

    with httpx.Client(base_url=url, timeout=10) as client:
        r = client.post("/", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        _good(client)


def test_asgi_handshake_and_methods(asgi_server: tuple[str, Seen]) -> None:
    url, _ = asgi_server
    with httpx.Client(base_url=url, timeout=10) as client:
        ok = client.get("/", params={"hub.mode": "subscribe", "hub.verify_token": p.VERIFY_TOKEN,
                                     "hub.challenge": "1158201444"})
        assert (ok.status_code, ok.text) == (200, "1158201444")
        assert ok.headers["content-type"].startswith("text/plain")
        bad = client.get("/", params={"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "1"})
        assert bad.status_code == 403
        assert client.put("/", content=b"{}").status_code == 405


def test_asgi_every_update_of_a_batch_is_dispatched_in_order(asgi_server: tuple[str, Seen]) -> None:
    url, seen = asgi_server
    messages = [p.msg("text", {"body": str(i)}) for i in range(5)]
    raw = p.body(p.inbound(*messages))
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200
    ids = [m["id"] for m in messages]
    assert wait_for(lambda: [u.dedup_key for u in seen if u.dedup_key in ids] == ids)


def test_asgi_accepted_post_is_an_empty_200(asgi_server: tuple[str, Seen]) -> None:
    # Meta reads the status only; a body would cost the server a second write (a second TCP segment).
    url, seen = asgi_server
    message = p.msg("text", {"body": "empty answer"})
    raw = p.body(p.inbound(message))
    with httpx.Client(base_url=url, timeout=10) as client:
        r = client.post("/", content=raw, headers=p.signed_headers(raw))
        assert (r.status_code, r.headers["content-length"], r.content) == (200, "0", b"")
        bad = client.post("/", content=raw, headers={**p.signed_headers(raw), "x-hub-signature-256": "sha256=00"})
        assert bad.status_code == 403 and "error" in bad.json()  # refusals keep their reason
    assert wait_for(lambda: message["id"] in [u.dedup_key for u in seen])


def test_default_cap_is_metas_3_mb() -> None:
    seen: Seen = []
    with serve_asgi(WebhookApp(_receiver(seen))) as url, httpx.Client(base_url=url, timeout=30) as client:
        big = p.body(p.inbound(p.msg("text", {"body": "x" * (WEBHOOK_MAX_BODY_BYTES - 1000)})))
        assert len(big) < WEBHOOK_MAX_BODY_BYTES
        assert client.post("/", content=big, headers=p.signed_headers(big)).status_code == 200
        too_big = b" " * (WEBHOOK_MAX_BODY_BYTES + 1)
        assert client.post("/", content=too_big, headers=p.signed_headers(too_big)).status_code == 413


def test_mounted_in_fastapi_and_starlette() -> None:
    import fastapi

    seen: Seen = []
    api = fastapi.FastAPI()

    @api.get("/health")
    def health() -> dict[str, bool]:
        return {"ok": True}

    hook = WebhookApp(_receiver(seen))
    api.router.routes.append(route(hook, "/hooks/whatsapp"))  # exact path
    api.mount("/mounted", hook)  # everything under /mounted/
    with serve_asgi(api) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/health").json() == {"ok": True}
        message = _good(client, "/hooks/whatsapp")
        assert wait_for(lambda: any(u.dedup_key == message["id"] for u in seen))
        message = _good(client, "/mounted/")
        assert wait_for(lambda: any(u.dedup_key == message["id"] for u in seen))

    seen2: Seen = []
    with serve_asgi(create_webhook_app(_receiver(seen2), path="/webhook")) as url, \
            httpx.Client(base_url=url, timeout=10) as client:
        message = _good(client, "/webhook")
        assert wait_for(lambda: any(u.dedup_key == message["id"] for u in seen2))
        assert client.post("/elsewhere", content=b"{}").status_code == 404


def test_durable_asgi_resumes_stored_payloads_at_startup() -> None:
    inbox = MemoryInboxStore()
    left = p.msg("text", {"body": "answered 200, then the process died"})
    inbox.put(p.body(p.inbound(left)), "{}")
    seen: Seen = []
    with serve_asgi(WebhookApp(_receiver(seen, inbox=inbox))) as url:
        # Lifespan startup finished before the server accepted connections.
        assert [u.dedup_key for u in seen] == [left["id"]] and len(inbox) == 0
        with httpx.Client(base_url=url, timeout=10) as client:
            message = _good(client)
        assert wait_for(lambda: len(inbox) == 0 and any(u.dedup_key == message["id"] for u in seen))


def test_durable_mounted_app_resumes_before_the_first_request() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    inbox = MemoryInboxStore()
    left = p.msg("text", {"body": "left over"})
    inbox.put(p.body(p.inbound(left)), "{}")
    seen: Seen = []
    outer = Starlette(routes=[Mount("/wa", app=WebhookApp(_receiver(seen, inbox=inbox)))])
    # (Mount serves /wa/ and below; route() would serve /wa exactly.)
    with serve_asgi(outer) as url, httpx.Client(base_url=url, timeout=10) as client:
        assert seen == []  # no lifespan reaches a mounted app
        message = _good(client, "/wa/")
        assert wait_for(lambda: [u.dedup_key for u in seen] == [left["id"], message["id"]])


# --- WSGI -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wsgi_server() -> Iterator[tuple[str, Seen]]:
    seen: Seen = []
    with serve_wsgi(WSGIApp(_receiver(seen, max_body_bytes=256 * 1024))) as url:
        yield url, seen


@pytest.mark.parametrize("case", _hostile(256 * 1024), ids=lambda c: c[0])
def test_wsgi_bad_input_is_4xx_and_the_server_keeps_serving(wsgi_server: tuple[str, Seen],
                                                            case: Case) -> None:
    url, seen = wsgi_server
    name, body, headers, status = case
    with httpx.Client(base_url=url, timeout=10) as client:
        r = client.post("/", content=body, headers=headers)
        assert r.status_code == status, (name, r.text)
        assert json.loads(r.content)["error"]
        message = _good(client)
    assert wait_for(lambda: any(u.dedup_key == message["id"] for u in seen))


def test_wsgi_handshake_and_dispatch_after_the_answer(wsgi_server: tuple[str, Seen]) -> None:
    url, seen = wsgi_server
    with httpx.Client(base_url=url, timeout=10) as client:
        ok = client.get("/", params={"hub.mode": "subscribe", "hub.verify_token": p.VERIFY_TOKEN,
                                     "hub.challenge": "abc"})
        assert (ok.status_code, ok.text) == (200, "abc")
        assert client.get("/", params={"hub.mode": "subscribe"}).status_code == 403
        assert client.delete("/").status_code == 405
        status = p.status("read")
        raw = p.body(p.statuses(status))
        assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200
    assert wait_for(lambda: any(u.dedup_key == f"{status['id']}:read" for u in seen))


def test_asgi_backlog_is_bounded_by_processing_before_answering() -> None:
    seen: Seen = []
    app = WebhookApp(_receiver(seen), max_background=0)  # every delivery counts as an overload
    with serve_asgi(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        message = p.msg("text", {"body": "x"})
        raw = p.body(p.inbound(message))
        assert client.post("/", content=raw, headers=p.signed_headers(raw)).status_code == 200
        # Processed before the answer: the handler has already run when the 200 arrives.
        assert [u.dedup_key for u in seen] == [message["id"]]
        assert app.backlog == 0


async def test_asgi_client_gone_mid_body_gets_no_answer_and_nothing_is_accepted() -> None:
    seen: Seen = []
    app = WebhookApp(_receiver(seen))
    incoming: list[dict[str, Any]] = [{"type": "http.request", "body": b'{"object"', "more_body": True},
                                      {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "query_string": b"",
             "headers": [(b"content-type", b"application/json")]}
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent == [] and seen == []


def test_asgi_reads_header_names_in_any_case() -> None:
    # ASGI servers give header names in lower case; one that does not is still understood.
    import asyncio

    seen: Seen = []
    app = WebhookApp(_receiver(seen), gc_tuning=False)
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    sent: list[dict[str, Any]] = []

    async def call(headers: list[tuple[bytes, bytes]]) -> int:
        messages = [{"type": "http.request", "body": raw, "more_body": False}]
        sent.clear()

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app({"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers},
                  receive, send)
        return int(sent[0]["status"])

    async def main() -> list[int]:
        await app.startup()
        try:
            signature = sign(raw, p.SECRET).encode()
            return [
                await call([(b"Content-Type", b"application/json"), (b"X-Hub-Signature-256", signature)]),
                await call([(b"content-type", b"application/json"), (b"x-hub-signature-256", b"sha256=00")]),
            ]
        finally:
            await app.shutdown()

    assert asyncio.run(main()) == [200, 403]
    assert len(seen) == 1
