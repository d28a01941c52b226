"""Webhooks the sandbox emits: signed, schema-valid, retried, duplicated and reordered on request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.helpers import WA_ID, open_window, send, upload
from sandbox.schemas import errors_of, webhook_validator
from wacloud.sandbox.testing import SandboxHandle, WebhookSink
from wacloud.webhooks.signature import HEADER, sign


@pytest.fixture(scope="module")
def validator(openapi_spec: dict[str, Any]) -> Any:
    return webhook_validator(openapi_spec)


def _assert_valid(sink: WebhookSink, validator: Any) -> None:
    assert sink.deliveries
    for d in sink.deliveries:
        assert d.signature_ok, d.headers
        assert d.headers[HEADER] == sign(d.body, sink.app_secret)
        assert d.body.isascii()  # non-ASCII is escaped, like Meta's bodies
        problems = errors_of(validator, d.json)
        assert not problems, (problems, d.json)


def _hello(sandbox: SandboxHandle, to: str = WA_ID) -> str:
    r = send(
        sandbox, {"to": to, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    )
    assert r.status_code == 200, r.text
    wamid: str = r.json()["messages"][0]["id"]
    return wamid


def test_status_webhooks_are_schema_valid(sandbox: SandboxHandle, webhook_sink: WebhookSink, validator: Any) -> None:
    sandbox.connect(webhook_sink)
    sandbox.add_customer("447700900123", on_whatsapp=False)
    inbound = open_window(sandbox)
    wamids = [
        _hello(sandbox),
        send(
            sandbox, {"to": WA_ID, "type": "audio", "audio": {"id": upload(sandbox, "audio"), "voice": True}}
        ).json()["messages"][0]["id"],
        send(
            sandbox,
            {"to": WA_ID, "type": "reaction", "reaction": {"message_id": inbound, "emoji": "\N{THUMBS UP SIGN}"}},
        ).json()["messages"][0]["id"],
        _hello(sandbox, "447700900123"),
    ]
    webhook_sink.wait_statuses(wamids[0], "sent", "delivered", "read")
    webhook_sink.wait_statuses(wamids[1], "played")
    webhook_sink.wait_statuses(wamids[3], "failed")
    sandbox.wait_idle()
    _assert_valid(webhook_sink, validator)
    assert [s["status"] for s in webhook_sink.statuses(wamids[2])] == ["sent"]  # reactions: only sent
    assert [s["status"] for s in webhook_sink.statuses(wamids[1])] == ["sent", "delivered", "read", "played"]
    [failed] = webhook_sink.statuses(wamids[3])
    assert failed["errors"][0]["code"] == 131026
    assert failed["errors"][0]["title"] == failed["errors"][0]["message"]


def test_conversation_only_before_v24(sandbox: SandboxHandle, webhook_sink: WebhookSink, validator: Any) -> None:
    sandbox.connect(webhook_sink)
    old = httpx.post(
        f"{sandbox.base_url}/v23.0/{sandbox.phone_number_id}/messages",
        headers={"Authorization": f"Bearer {sandbox.token}"},
        json={
            "messaging_product": "whatsapp",
            "to": WA_ID,
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    ).json()["messages"][0]["id"]
    new = _hello(sandbox)
    old_statuses = {s["status"]: s for s in webhook_sink.wait_statuses(old, "sent", "delivered")}
    new_statuses = {s["status"]: s for s in webhook_sink.wait_statuses(new, "sent", "delivered")}
    assert old_statuses["sent"]["conversation"]["origin"] == {"type": "utility"}
    assert "expiration_timestamp" in old_statuses["sent"]["conversation"]
    assert "expiration_timestamp" not in old_statuses["delivered"]["conversation"]
    assert "conversation" not in new_statuses["sent"] and "conversation" not in new_statuses["delivered"]
    sandbox.wait_idle()
    _assert_valid(webhook_sink, validator)


def test_biz_opaque_callback_data_is_echoed(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    r = send(
        sandbox,
        {
            "to": WA_ID,
            "type": "template",
            "biz_opaque_callback_data": "job-42",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    )
    statuses = webhook_sink.wait_statuses(r.json()["messages"][0]["id"], "sent", "delivered", "read")
    assert {s["biz_opaque_callback_data"] for s in statuses} == {"job-42"}


def test_non_200_is_retried_with_the_same_signed_body(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    sandbox.configure(delivered_after_s=None)  # only "sent"
    webhook_sink.answer(500, 503, 404)
    wamid = _hello(sandbox)
    webhook_sink.wait_statuses(wamid, "sent")
    assert [d.answered for d in webhook_sink.deliveries] == [500, 503, 404, 200]
    assert len({d.body for d in webhook_sink.deliveries}) == 1
    sandbox.wait_idle()  # the sink has answered 200; the sandbox records it just after
    log = sandbox.control.get("/webhooks").json()
    [entry] = log["deliveries"]
    assert entry["attempts"] == 4 and entry["state"] == "delivered"


def test_retries_give_up_after_the_configured_delays(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    sandbox.configure(delivered_after_s=None, webhook_retry_delays_s=[0.01, 0.02])
    webhook_sink.answer(500, 500, 500, 500)
    _hello(sandbox)
    webhook_sink.wait_for(lambda s: len(s.deliveries) == 3)
    sandbox.wait_idle()
    assert sandbox.stats()["webhooks"]["given_up"] == 1
    assert len(webhook_sink.deliveries) == 3


def test_duplicates_on_request(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    sandbox.configure(duplicate_rate=1.0, delivered_after_s=None)
    wamid = _hello(sandbox)
    webhook_sink.wait_for(lambda s: len(s.statuses(wamid)) == 2)
    sandbox.wait_idle()
    first, second = webhook_sink.statuses(wamid)
    assert first == second
    assert sandbox.stats()["webhooks"]["duplicates"] >= 1


def test_out_of_order_statuses_on_request(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    sandbox.configure(
        reorder_rate=1.0, reorder_window_s=0.3, sent_after_s=0.0, delivered_after_s=0.001, read_after_s=0.002
    )
    wamids = [_hello(sandbox, f"1650555{i:04d}") for i in range(12)]
    for wamid in wamids:
        webhook_sink.wait_statuses(wamid, "sent", "delivered", "read")
    orders = [[s["status"] for s in webhook_sink.statuses(w)] for w in wamids]
    assert any(o != ["sent", "delivered", "read"] for o in orders)
    # The record keeps the true order whatever the delivery order.
    assert all([s["status"] for s in sandbox.message(w)["statuses"]] == ["sent", "delivered", "read"] for w in wamids)


def test_batching_puts_ready_statuses_in_one_post(
    sandbox: SandboxHandle, webhook_sink: WebhookSink, validator: Any
) -> None:
    sandbox.connect(webhook_sink)
    sandbox.freeze()
    sandbox.configure(webhook_batch_max=50)
    wamids = [_hello(sandbox, "16505550001") for _ in range(10)]
    sandbox.advance(1.0)  # everything becomes due at once
    for wamid in wamids:
        webhook_sink.wait_statuses(wamid, "sent", "delivered", "read")
    sandbox.wait_idle()
    assert len(webhook_sink.deliveries) < 30
    assert len(webhook_sink.statuses()) == 30
    _assert_valid(webhook_sink, validator)


def test_no_webhook_url_still_records_statuses(sandbox: SandboxHandle) -> None:
    wamid = _hello(sandbox)
    sandbox.freeze()
    sandbox.advance(1)
    assert [s["status"] for s in sandbox.message(wamid)["statuses"]] == ["sent", "delivered", "read"]
    assert sandbox.stats()["webhooks"]["not_configured"] == 3


def test_unreachable_receiver_is_retried_then_given_up(sandbox: SandboxHandle) -> None:
    from wacloud.sandbox import free_port

    sandbox.configure(
        webhook_url=f"http://127.0.0.1:{free_port()}/hook", webhook_retry_delays_s=[0.01, 0.01], delivered_after_s=None
    )
    _hello(sandbox)
    sandbox.wait_idle()
    stats = sandbox.stats()["webhooks"]
    assert stats["failed_attempts"] == 3 and stats["given_up"] == 1
    [entry] = sandbox.control.get("/webhooks").json()["deliveries"]
    assert entry["state"] == "given_up" and entry["http_status"] is None and entry["error"]


def test_keep_alive_receiver_gets_every_webhook(sandbox: SandboxHandle) -> None:
    """A real HTTP/1.1 keep-alive server (uvicorn), chunked answers included."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    from wacloud.sandbox import ServerThread
    from wacloud.webhooks.signature import verify

    seen: list[bool] = []

    async def hook(request: Request) -> StreamingResponse:
        seen.append(verify(await request.body(), request.headers.get(HEADER), sandbox.app_secret))

        async def chunks() -> Any:
            yield b"ok"

        return StreamingResponse(chunks())

    server = ServerThread(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    server.start()
    try:
        sandbox.configure(webhook_url=f"{server.base_url}/hook", webhook_batch_max=1)
        for i in range(5):
            _hello(sandbox, f"1650555{i:04d}")
        sandbox.wait_idle()
        deadline_ok = sandbox.stats()["webhooks"].get("delivered", 0)
        assert deadline_ok == 15 and len(seen) == 15 and all(seen)
    finally:
        server.stop()


def test_out_of_band_errors_webhook(sandbox: SandboxHandle, webhook_sink: WebhookSink, validator: Any) -> None:
    from wacloud.webhooks import parse

    sandbox.connect(webhook_sink)
    r = sandbox.control.post("/errors", json={"code": 130429, "details": "Throughput reached"})
    assert r.status_code == 200
    webhook_sink.wait_for(lambda s: len(s.deliveries) == 1)
    [value] = webhook_sink.changes()
    assert value["errors"][0]["code"] == 130429 and value["errors"][0]["error_data"]["details"] == "Throughput reached"
    assert [type(u).__name__ for u in parse(webhook_sink.deliveries[0].body)] == ["ErrorUpdate"]
    assert sandbox.control.post("/errors", json={"code": "x"}).status_code == 400


def test_verify_webhook_handshake(sandbox: SandboxHandle) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from wacloud.sandbox import ServerThread

    async def verify(request: Request) -> PlainTextResponse:
        q = request.query_params
        if q.get("hub.mode") == "subscribe" and q.get("hub.verify_token") == "secret-v":
            return PlainTextResponse(q["hub.challenge"])
        return PlainTextResponse("no", status_code=403)

    server = ServerThread(Starlette(routes=[Route("/hook", verify)]))
    server.start()
    try:
        sandbox.configure(webhook_url=f"{server.base_url}/hook")
        good = sandbox.control.post("/verify-webhook", json={"verify_token": "secret-v"}).json()
        assert good["ok"] is True and good["status"] == 200
        bad = sandbox.control.post("/verify-webhook", json={"verify_token": "wrong"}).json()
        assert bad["ok"] is False and bad["status"] == 403
    finally:
        server.stop()


def test_verify_webhook_never_returns_the_fetched_body(sandbox: SandboxHandle) -> None:
    """The handshake reports its outcome only: it is no proxy for reading arbitrary URLs (SSRF)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from wacloud.sandbox import ServerThread

    async def secret(request: Request) -> PlainTextResponse:
        return PlainTextResponse("internal-secret-document-0xC0FFEE")

    server = ServerThread(Starlette(routes=[Route("/admin", secret)]))
    server.start()
    try:
        r = sandbox.control.post("/verify-webhook", json={"verify_token": "t", "url": f"{server.base_url}/admin"})
        assert r.status_code == 200
        answer = r.json()
        assert "0xC0FFEE" not in r.text and "internal-secret" not in r.text
        assert answer["ok"] is False and answer["status"] == 200 and answer["challenge_matched"] is False
        assert "body" not in answer
        for bad in ("file:///etc/passwd", "gopher://x", 5):
            refused = sandbox.control.post("/verify-webhook", json={"verify_token": "t", "url": bad})
            assert refused.status_code == 400 and "url" in refused.json()["error"]
    finally:
        server.stop()
