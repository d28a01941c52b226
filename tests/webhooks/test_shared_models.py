"""Shared instances of the small frozen webhook models (webhooks/_shared.py).

The parser gives equal metadata, profiles, pricing and conversation origins one instance; a value
that validation would read differently (an int where a string or an extra was, a key more) must
never get another value's instance, and the memo must stay bounded.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

import wacloud.webhooks.models as m
from wacloud.webhooks import parse
from wacloud.webhooks._shared import shared
from wacloud.webhooks.updates import MessageUpdate, StatusUpdate

META = {"display_phone_number": "15550001111", "phone_number_id": "106540352242922"}


def _body(value: dict[str, Any]) -> bytes:
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": META, **value}}
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1", "time": 1764547200, "changes": [change]}]}).encode()


def _status(pricing: dict[str, Any], n: int = 1) -> StatusUpdate:
    status = {"id": f"wamid.{n}", "status": "delivered", "timestamp": "1764547201", "recipient_id": "16505550001",
              "pricing": pricing, "conversation": {"id": "c1", "origin": {"type": "utility"}}}
    (update,) = parse(_body({"statuses": [status]}))
    assert isinstance(update, StatusUpdate)
    return update


def _text(profile: dict[str, Any], n: int = 1) -> MessageUpdate:
    message = {"from": "16505550001", "id": f"wamid.{n}", "timestamp": "1764547201", "type": "text",
               "text": {"body": "hi"}}
    contact = {"profile": profile, "wa_id": "16505550001"}
    (update,) = parse(_body({"contacts": [contact], "messages": [message]}))
    assert isinstance(update, MessageUpdate)
    return update


def test_equal_values_share_one_instance_across_payloads() -> None:
    pricing = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    a, b = _status(pricing, 1), _status(pricing, 2)
    assert a.metadata is b.metadata and a.metadata == m.Metadata.model_validate(META)
    assert a.status.pricing is b.status.pricing
    assert a.status.conversation is not None and b.status.conversation is not None
    assert a.status.conversation.origin is b.status.conversation.origin
    assert a.status is not b.status  # the statuses themselves are not shared
    first, second = _text({"name": "Zoë"}, 1), _text({"name": "Zoë"}, 2)
    assert first.contact is not None and second.contact is not None
    assert first.contact.profile is second.contact.profile


@pytest.mark.parametrize(("seen", "then"), [
    ({"billable": True, "pricing_model": "PMP"}, {"billable": 1, "pricing_model": "PMP"}),  # bool field: same value
    ({"billable": True, "x": True}, {"billable": True, "x": 1}),  # an extra keeps what was sent
    ({"billable": True, "x": True}, {"billable": True, "x": 1.0}),
    ({"pricing_model": "1"}, {"pricing_model": 1}),  # coerced to the same string, other input
    ({"billable": False}, {"billable": False, "category": None}),  # a key more: another fields set
    ({"category": "a", "type": "b"}, {"type": "b", "category": "a"}),  # other key order
])
def test_a_value_gets_what_validation_makes_of_it_whatever_was_seen_before(seen: dict[str, Any],
                                                                           then: dict[str, Any]) -> None:
    _status(seen)
    got = _status(then).status.pricing
    expected = m.Pricing.model_validate(then)
    assert got == expected
    assert got is not None
    assert got.model_dump() == expected.model_dump()
    assert [type(v) for v in got.model_dump().values()] == [type(v) for v in expected.model_dump().values()]
    assert got.model_fields_set == expected.model_fields_set


def test_shared_models_are_frozen() -> None:
    update = _status({"billable": True})
    assert update.metadata is not None and update.status.pricing is not None
    with pytest.raises(ValidationError):
        update.metadata.phone_number_id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        update.status.pricing.billable = False  # type: ignore[misc]
    assert update.status.pricing.model_copy(update={"billable": False}).billable is False


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")
    a: str | None = None
    flag: bool | None = None


def test_the_memo_is_bounded_and_refuses_mutable_models() -> None:
    get = shared(_Frozen, size=2)
    first = get({"a": "1"})
    assert get({"a": "1"}) is first
    get({"a": "2"})
    get({"a": "3"})  # a third key: the memo starts over
    assert get({"a": "1"}) is not first and get({"a": "1"}) == first
    # Nested or list values are validated, never shared (not hashable).
    assert get({"a": "1", "x": [1]}) is not get({"a": "1", "x": [1]})
    with pytest.raises(ValidationError):
        get({"a": ["not", "a", "string"]})

    class Mutable(BaseModel):
        a: str | None = None

    with pytest.raises(TypeError, match="not frozen"):
        shared(Mutable)


def test_the_one_pass_build_leaves_the_models_finished() -> None:
    # compiled() marks the models unfinished only while the one-pass validators are built.
    for cls in (m.Status, m.TextMessage, m.WebhookContact, m.Metadata, m.Pricing):
        assert cls.__dict__["__pydantic_complete__"] is True
    assert m.TextMessage.model_validate(
        {"from": "1", "id": "x", "timestamp": "1", "type": "text", "text": {"body": "b"}}).phone == "1"
