"""Answers the sandbox never gives (malformed 2xx bodies) need a recorded transport: they become
UnexpectedResponse, never a pydantic error or a crash."""

from __future__ import annotations

import httpx
import pytest

from wacloud import Client
from wacloud.client import UnexpectedResponse


def _client(body: bytes) -> Client:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"content-type": "application/json"})
    )
    return Client(token="t", phone_number_id="1", waba_id="2", transport=transport)


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (
            lambda c: c.create_template(
                {
                    "name": "a_b",
                    "language": "en_US",
                    "category": "UTILITY",
                    "components": [{"type": "BODY", "text": "Hi"}],
                }
            ),
            b'{"status": "PENDING"}',
        ),
        (lambda c: c.create_qr("hello"), b'{"prefilled_message": "hello"}'),
        (lambda c: c.list_templates(), b'{"data": "not a list"}'),
        (lambda c: c.get_phone_number(), b'{"display_phone_number": "1"}'),
    ],
)
def test_malformed_answers_are_unexpected_response(call: object, body: bytes) -> None:
    with pytest.raises(UnexpectedResponse):
        call(_client(body))  # type: ignore[operator]


def test_token_never_in_repr_or_errors() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"data": "x"}))
    client = Client(token="sekret-token-123", phone_number_id="1", waba_id="2", transport=transport)
    assert "sekret-token-123" not in repr(client)
    with pytest.raises(UnexpectedResponse) as info:
        client.list_templates()
    assert "sekret-token-123" not in str(info.value)
