"""Hostile bodies never crash the sandbox: always a 2xx or a 4xx with Meta's error shape, never a 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacloud.sandbox import create_sandbox_app
from wacloud.sandbox._sending import process
from wacloud.sandbox.testing import SandboxHandle

_APP = create_sandbox_app(None, mps=1e9, pair_rate_burst=10**9)
_STATE = _APP.state
_PHONE = _STATE.config.phone_number_id

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "text",
                    "body",
                    "to",
                    "messaging_product",
                    "id",
                    "link",
                    "interactive",
                    "action",
                    "buttons",
                    "reply",
                    "title",
                    "template",
                    "name",
                    "language",
                    "code",
                    "components",
                    "parameters",
                    "sections",
                    "rows",
                    "header",
                    "image",
                    "status",
                    "message_id",
                ]
            )
            | st.text(max_size=8),
            inner,
            max_size=5,
        )
    ),
    max_leaves=25,
)

_VALID: list[dict[str, Any]] = [
    {"messaging_product": "whatsapp", "to": "16505551234", "type": "text", "text": {"body": "hi"}},
    {
        "messaging_product": "whatsapp",
        "to": "16505551234",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
        },
    },
    {
        "messaging_product": "whatsapp",
        "to": "16505551234",
        "type": "template",
        "template": {
            "name": "appointment_reminder",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "May"}]},
                {"type": "button", "sub_type": "url", "index": "2", "parameters": [{"type": "text", "text": "1"}]},
            ],
        },
    },
]


def _check(status: int, body: dict[str, Any]) -> None:
    assert status < 500, body
    if status >= 400:
        err = body["error"]
        assert isinstance(err["code"], int) and err["message"].startswith("(#") and err["fbtrace_id"]
        assert err["error_data"]["details"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json)
def test_random_json_never_crashes(value: Any) -> None:
    result = process(_STATE, _PHONE, json.dumps(value).encode(), (25, 0), None)
    _check(result.status, result.body)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_VALID), st.data())
def test_mutated_valid_bodies_never_crash(base: dict[str, Any], data: st.DataObject) -> None:
    body = json.loads(json.dumps(base))
    node: Any = body
    for _ in range(data.draw(st.integers(0, 4))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
            if data.draw(st.booleans()):
                node[key] = data.draw(_json)
                break
            node = node[key]
        elif isinstance(node, list) and node:
            node = node[data.draw(st.integers(0, len(node) - 1))]
    result = process(_STATE, _PHONE, json.dumps(body).encode(), (25, 0), None)
    _check(result.status, result.body)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_crash(raw: bytes) -> None:
    result = process(_STATE, _PHONE, raw, (25, 0), None)
    _check(result.status, result.body)


def test_hostile_bodies_over_http(sandbox: SandboxHandle) -> None:
    url = f"/{sandbox.phone_number_id}/messages"
    hostile = [
        b"",
        b"null",
        b"[]",
        b"\xff\xfe",
        b'{"a":' * 5000,
        b'{"messaging_product":"whatsapp","to":"1"' * 3,
        json.dumps({"messaging_product": "whatsapp", "to": "16505551234", "text": {"body": "x" * 200_000}}).encode(),
        json.dumps({"messaging_product": "whatsapp", "to": "1" * 10_000}).encode(),
        b'{"messaging_product":"whatsapp","messaging_product":"whatsapp","to":"16505551234","text":{"body":"a"}}',
    ]
    for raw in hostile:
        r = sandbox.http.post(url, content=raw, headers={"Content-Type": "application/json"})
        _check(r.status_code, r.json())
    for path in ("/media", "/message_templates"):
        for raw in hostile[:6]:
            r = sandbox.http.post(
                f"/{sandbox.waba_id if 'templates' in path else sandbox.phone_number_id}{path}",
                content=raw,
                headers={"Content-Type": "application/json"},
            )
            _check(r.status_code, r.json())
    r = httpx.post(f"{sandbox.base_url}/_sandbox/inbound", content=b'{"a":' * 5000)
    assert r.status_code == 400
