"""Sending to a business-scoped user id (BSUID): the address helper and the send models' rules."""

from __future__ import annotations

import pytest

from wacloud import errors
from wacloud.errors import ValidationError
from wacloud.identity import address_kind, is_bsuid, is_parent_bsuid
from wacloud.messages import MarketingMessage, SendRequest, Template, Text, parse
from wacloud.template_rules import bsuid_refusal

BSUID = "US.13491208655302741918"
PARENT = "US.ENT.11815799212886844830"
GROUP = "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD"


@pytest.mark.parametrize(("value", "kind"), [
    (BSUID, "bsuid"), (PARENT, "parent_bsuid"), ("+1 650 555 1234", "phone"), ("16505551234", "phone"),
    ("BR.a1B2c3", "bsuid"),
])
def test_address_kind_tells_phone_from_bsuid(value: str, kind: str) -> None:
    assert address_kind(value) == kind
    assert is_bsuid(value) == (kind != "phone")
    assert is_parent_bsuid(value) == (kind == "parent_bsuid")


@pytest.mark.parametrize("value", ["us.1349", "USA.1349", "US.", "US.ENT.", "US.13-49", "hello", "US.ENT.12.3",
                                   "US." + "1" * 129])
def test_address_kind_refuses_what_is_neither(value: str) -> None:
    assert not is_bsuid(value)
    with pytest.raises(ValidationError) as info:
        address_kind(value)
    assert info.value.field == "to"


def test_send_request_puts_a_bsuid_in_recipient() -> None:
    body = SendRequest(BSUID, Text("hi")).to_graph()
    assert body == {"messaging_product": "whatsapp", "recipient_type": "individual", "recipient": BSUID,
                    "type": "text", "text": {"body": "hi"}}
    assert "to" not in body
    assert SendRequest(PARENT, Text("hi")).to_graph()["recipient"] == PARENT
    # A quoted reply to a username-only customer keeps its context.
    reply = SendRequest(recipient=BSUID, message=Text("hi"), context_message_id="wamid.X").to_graph()
    assert reply["context"] == {"message_id": "wamid.X"} and reply["recipient"] == BSUID


def test_both_addresses_are_kept_as_meta_documents_them() -> None:
    body = SendRequest(to="+16505551234", recipient=BSUID, message=Text("hi")).to_graph()
    assert body["to"] == "+16505551234" and body["recipient"] == BSUID


@pytest.mark.parametrize(("kwargs", "field", "words"), [
    ({"to": BSUID}, "to", "recipient"),
    ({"recipient": "+16505551234"}, "recipient", "not a business-scoped user id"),
    ({"recipient": "  "}, "recipient", ""),
    ({"recipient": BSUID, "to": GROUP, "recipient_type": "group"}, "recipient", "group"),
    ({}, "to", "BSUID"),
])
def test_broken_rules_name_the_field(kwargs: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        SendRequest(message=Text("hi"), **kwargs)
    assert info.value.field == field
    assert words in info.value.reason


def test_a_group_id_given_positionally_stays_in_to() -> None:
    body = SendRequest(GROUP, Text("hi"), recipient_type="group").to_graph()
    assert body["to"] == GROUP and "recipient" not in body


def test_parse_takes_a_raw_body_with_recipient() -> None:
    raw = {"messaging_product": "whatsapp", "recipient": BSUID, "type": "text", "text": {"body": "hi"}}
    request = parse(raw)
    assert request.recipient == BSUID and request.to is None
    assert request.to_graph()["recipient"] == BSUID
    with pytest.raises(ValidationError) as info:
        parse({**raw, "recipient": "12345"})
    assert info.value.field == "recipient"
    with pytest.raises(ValidationError) as info:
        parse({"messaging_product": "whatsapp", "type": "text", "text": {"body": "hi"}})
    assert info.value.field == "to"


def _auth(otp_type: str) -> dict[str, object]:
    return {"name": "login_code", "language": "en_US", "category": "AUTHENTICATION", "components": [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": otp_type}]}]}


@pytest.mark.parametrize("otp", ["COPY_CODE", "ONE_TAP", "ZERO_TAP"])
def test_one_time_password_templates_cannot_go_to_a_bsuid(otp: str) -> None:
    reason = bsuid_refusal(_auth(otp))
    assert reason is not None and otp in reason and "131062" in reason


def test_marketing_and_utility_templates_can_go_to_a_bsuid() -> None:
    marketing = {"name": "sale", "category": "MARKETING", "components": [
        {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SAVE10"}]}]}
    assert bsuid_refusal(marketing) is None
    assert bsuid_refusal({"name": "order", "category": "UTILITY", "components": []}) is None


def test_131062_is_in_the_error_table() -> None:
    row = errors.ERROR_CODES[131062]
    assert row.retry is errors.RetryClass.FIX_REQUEST
    exc = errors.from_response({"error": {"code": 131062, "message": "(#131062) not supported"}}, 400)
    assert isinstance(exc, errors.RecipientIdNotSupported) and isinstance(exc, errors.InvalidRequest)


# --- Marketing Messages API body ---------------------------------------------------------------


def test_marketing_message_body() -> None:
    body = MarketingMessage("+16315552222", Template("welcome_offer", "en_US"), product_policy="CLOUD_API_FALLBACK",
                            message_activity_sharing=True).to_graph()
    assert body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16315552222",
                    "type": "template", "template": {"name": "welcome_offer", "language": {"code": "en_US"}},
                    "product_policy": "CLOUD_API_FALLBACK", "message_activity_sharing": True}
    strict = MarketingMessage(BSUID, Template("sale", "en"), product_policy="strict").to_graph()
    assert strict["recipient"] == BSUID and strict["product_policy"] == "STRICT" and "to" not in strict
    assert "product_policy" not in MarketingMessage("+16315552222", Template("sale", "en")).to_graph()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"product_policy": "LENIENT"}, "product_policy"),
    ({"message_activity_sharing": "yes"}, "message_activity_sharing"),
])
def test_marketing_message_options_are_checked(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        MarketingMessage("+16315552222", Template("sale", "en"), **kwargs)
    assert info.value.field == field


def test_marketing_message_takes_templates_only() -> None:
    with pytest.raises(ValidationError) as info:
        MarketingMessage("+16315552222", Text("hi"))  # type: ignore[arg-type]
    assert info.value.field == "template"


def test_marketing_api_errors_are_mapped() -> None:
    assert errors.ERROR_CODES[134100].retry is errors.RetryClass.FIX_REQUEST
    assert errors.ERROR_CODES[134101].retry is errors.RetryClass.FIX_REQUEST
    assert errors.ERROR_CODES[134102].retry is errors.RetryClass.BACKOFF
    assert isinstance(errors.from_response({"error": {"code": 134101}}, 400), errors.TemplateError)
    assert isinstance(errors.from_response({"error": {"code": 134102}}, 400), errors.TemplateNotReady)
