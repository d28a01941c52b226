"""Flow data-exchange endpoint: encryption round trip, ping, error notifications and Meta's error codes."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from wacloud.errors import ValidationError
from wacloud.flows import (
    DECRYPT_FAILED,
    FLOW_TOKEN_INVALID,
    SIGNATURE_INVALID,
    FlowDecryptError,
    FlowEndpoint,
    FlowRequest,
    FlowTokenInvalid,
    decrypt_request,
    decrypt_response,
    encrypt_request,
    generate_private_key,
    load_private_key,
    parse_nfm_reply,
    public_key_pem,
)
from wacloud.webhooks import signature

KEY = generate_private_key()
OTHER_KEY = generate_private_key()


def handler(request: FlowRequest) -> dict[str, Any]:
    """A tiny appointment flow."""
    if request.flow_token == "expired":
        raise FlowTokenInvalid("This booking link has expired")
    if request.action == "INIT":
        return {"screen": "APPOINTMENT", "data": {"slots": ["9:00", "10:00"]}}
    return {
        "screen": "SUCCESS",
        "data": {
            "extension_message_response": {
                "params": {"flow_token": request.flow_token, "slot": request.data.get("slot")}
            }
        },
    }


def test_round_trip_with_a_generated_key_pair() -> None:
    payload = {
        "version": "3.0",
        "action": "data_exchange",
        "screen": "APPOINTMENT",
        "data": {"slot": "9:00"},
        "flow_token": "tok-1",
    }
    body, aes_key, iv = encrypt_request(payload, KEY.public_key())
    request = decrypt_request(body, KEY)
    assert request.payload == payload and request.screen == "APPOINTMENT" and request.data == {"slot": "9:00"}
    assert "aes_key" not in repr(request) and "iv=" not in repr(request)
    answer = request.encrypt({"screen": "SUCCESS", "data": {}})
    # The answer uses the same key and the *inverted* IV: decrypting with the plain IV fails.
    assert decrypt_response(answer, aes_key, iv) == {"screen": "SUCCESS", "data": {}}
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    with pytest.raises(InvalidTag):
        AESGCM(aes_key).decrypt(iv, base64.b64decode(answer), None)


def test_pem_round_trip_with_password() -> None:
    from cryptography.hazmat.primitives import serialization

    pem = KEY.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    loaded = load_private_key(pem, "pw")
    assert public_key_pem(loaded) == public_key_pem(KEY)
    assert public_key_pem(KEY).startswith("-----BEGIN PUBLIC KEY-----")


def test_wrong_key_is_a_decrypt_error() -> None:
    body, _, _ = encrypt_request({"action": "ping", "version": "3.0"}, OTHER_KEY.public_key())
    with pytest.raises(FlowDecryptError):
        decrypt_request(body, KEY)
    tampered, _, _ = encrypt_request({"action": "ping"}, KEY.public_key())
    data = bytearray(base64.b64decode(tampered["encrypted_flow_data"]))
    data[0] ^= 1
    tampered["encrypted_flow_data"] = base64.b64encode(bytes(data)).decode()
    with pytest.raises(FlowDecryptError, match="authentication"):
        decrypt_request(tampered, KEY)
    with pytest.raises(FlowDecryptError, match="missing"):
        decrypt_request({"initial_vector": "AAAA"}, KEY)


def _post(
    endpoint: FlowEndpoint, payload: dict[str, Any], key: Any = None, secret: str | None = None
) -> tuple[int, bytes, bytes, bytes]:
    body, aes_key, iv = encrypt_request(payload, (key or KEY).public_key())
    raw = json.dumps(body).encode()
    answer = endpoint.handle(raw, signature.sign(raw, secret) if secret else None)
    return answer.status, answer.body, aes_key, iv


def test_endpoint_ping_error_ack_and_handler() -> None:
    ep = FlowEndpoint(KEY, handler)
    status, body, k, iv = _post(ep, {"version": "3.0", "action": "ping"})
    assert status == 200 and decrypt_response(body, k, iv) == {"data": {"status": "active"}}
    status, body, k, iv = _post(
        ep,
        {
            "version": "3.0",
            "action": "data_exchange",
            "flow_token": "t",
            "data": {"error": "INVALID_SCREEN", "error_message": "boom"},
        },
    )
    assert decrypt_response(body, k, iv) == {"data": {"acknowledged": True}}
    status, body, k, iv = _post(ep, {"version": "3.0", "action": "INIT", "flow_token": "t"})
    assert decrypt_response(body, k, iv)["screen"] == "APPOINTMENT"


def test_endpoint_documented_error_statuses() -> None:
    ep = FlowEndpoint(KEY, handler, app_secret="s3cret")
    assert _post(ep, {"action": "ping"}, key=OTHER_KEY, secret="s3cret")[0] == DECRYPT_FAILED == 421
    assert _post(ep, {"action": "ping"}, secret="wrong")[0] == SIGNATURE_INVALID == 432
    assert _post(ep, {"action": "ping"})[0] == SIGNATURE_INVALID
    status, body, _, _ = _post(ep, {"action": "INIT", "flow_token": "expired"}, secret="s3cret")
    assert status == FLOW_TOKEN_INVALID == 427 and json.loads(body) == {"error_msg": "This booking link has expired"}
    assert ep.handle(b"not json", signature.sign(b"not json", "s3cret")).status == 421

    def broken(request: FlowRequest) -> dict[str, Any]:
        raise RuntimeError("bug")

    assert _post(FlowEndpoint(KEY, broken), {"action": "INIT"})[0] == 500


@pytest.fixture()
def served() -> Iterator[str]:
    """The endpoint's ASGI app on a loopback port (uvicorn in a thread)."""

    async def ahandler(request: FlowRequest) -> dict[str, Any]:
        return handler(request)

    config = uvicorn.Config(FlowEndpoint(KEY, ahandler).asgi("/flow"), host="127.0.0.1", port=0, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/flow"
    server.should_exit = True
    thread.join(5)


def test_endpoint_over_http(served: str) -> None:
    body, k, iv = encrypt_request(
        {
            "version": "3.0",
            "action": "data_exchange",
            "screen": "APPOINTMENT",
            "data": {"slot": "10:00"},
            "flow_token": "tok",
        },
        KEY.public_key(),
    )
    resp = httpx.post(served, json=body)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    answer = decrypt_response(resp.text, k, iv)
    assert answer["data"]["extension_message_response"]["params"] == {"flow_token": "tok", "slot": "10:00"}
    bad, _, _ = encrypt_request({"action": "ping"}, OTHER_KEY.public_key())
    assert httpx.post(served, json=bad).status_code == 421


def test_nfm_reply_parsing() -> None:
    message = {
        "from": "15550001111",
        "id": "wamid.X",
        "type": "interactive",
        "interactive": {
            "type": "nfm_reply",
            "nfm_reply": {
                "name": "flow",
                "body": "Sent",
                "response_json": '{"flow_token": "tok", "slot": "9:00"}',
            },
        },
    }
    done = parse_nfm_reply(message)
    assert (done.flow_token, done.response, done.name, done.body) == ("tok", {"slot": "9:00"}, "flow", "Sent")
    assert parse_nfm_reply({"response_json": {"flow_token": "t"}}).flow_token == "t"
    with pytest.raises(ValidationError, match="not valid JSON"):
        parse_nfm_reply({"nfm_reply": {"response_json": "{oops"}})
    with pytest.raises(ValidationError):
        parse_nfm_reply({"interactive": {"type": "button_reply"}})
