"""The newer template formats in the builder, the creation rules (``template_rules``), the sandbox and the
pre-send check: coupon code (COPY_CODE), call permission request, location header, REQUEST_CONTACT_INFO."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.templates import (
    MismatchKind,
    TemplateBuilder,
    TemplateDefinitionError,
    TemplateMismatch,
    check_definition,
    check_send,
)


def _call_permission(category: str = "UTILITY") -> TemplateBuilder:
    return TemplateBuilder("call_me", "en_US", category).body("Hi {{1}}, may we call you?", "Ana")


def test_builder_makes_each_newer_format() -> None:
    call = _call_permission().call_permission_request().build().to_graph()
    assert [c["type"] for c in call["components"]] == ["BODY", "CALL_PERMISSION_REQUEST"]
    contact = (
        TemplateBuilder("share_number", "en_US", "MARKETING")
        .body("Share your number so we can reach you.")
        .request_contact_info()
        .build()
        .to_graph()
    )
    assert contact["components"][-1] == {"type": "BUTTONS", "buttons": [{"type": "REQUEST_CONTACT_INFO"}]}
    coupon = (
        TemplateBuilder("coupon", "en_US", "MARKETING").header_location().body("Your code is below.")
        .copy_code("SAVE10").build().to_graph()
    )
    assert coupon["components"][0] == {"type": "HEADER", "format": "LOCATION"}
    assert coupon["components"][-1]["buttons"] == [{"type": "COPY_CODE", "example": "SAVE10"}]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: _call_permission().call_permission_request().quick_reply("Yes"), "components[1]"),
        (lambda: TemplateBuilder("c", "en_US", "MARKETING").body("Hi").request_contact_info().quick_reply("No"),
         "components[1].buttons"),
        (lambda: TemplateBuilder("c", "en_US", "MARKETING").body("Hi").copy_code("X" * 16),
         "components[1].buttons[0].example"),
        (lambda: TemplateBuilder("c", "en_US", "MARKETING").body("Hi").copy_code("A").copy_code("B"),
         "components[1].buttons"),
    ],
)
def test_broken_newer_formats_are_refused(build: Any, field: str) -> None:
    with pytest.raises(TemplateDefinitionError) as info:
        build().build()
    assert info.value.field == field


def test_call_permission_is_not_for_authentication_templates() -> None:
    body = {
        "name": "auth_call", "language": "en_US", "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "CALL_PERMISSION_REQUEST"},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
        ],
    }
    with pytest.raises(TemplateDefinitionError) as info:
        check_definition(body)
    assert "MARKETING or UTILITY" in str(info.value)


def test_request_contact_info_is_not_for_authentication_templates() -> None:
    body = {
        "name": "auth_contact", "language": "en_US", "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "BUTTONS", "buttons": [{"type": "REQUEST_CONTACT_INFO"}]},
        ],
    }
    with pytest.raises(TemplateDefinitionError) as info:
        check_definition(body)
    assert "MARKETING or UTILITY" in str(info.value)


def test_sandbox_creates_and_refuses_the_same_formats(box: Any) -> None:
    client = box.client()
    created = client.create_template(_call_permission().call_permission_request().build())
    assert created.status == "PENDING"
    made = client.create_template(
        TemplateBuilder("share_number", "en_US", "UTILITY").body("Share your number.").request_contact_info().build()
    )
    assert client.get_template(made.id)["components"][-1]["buttons"][0]["type"] == "REQUEST_CONTACT_INFO"
    # The same rule table refuses what the client would: sent raw, past the client's check.
    bad = {
        "name": "bad_call", "language": "en_US", "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Hi"}, {"type": "CALL_PERMISSION_REQUEST"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}]},
        ],
    }
    resp = box.graph("POST", f"{box.cfg.waba_id}/message_templates", json=bad)
    assert resp.status_code == 400


COUPON = {
    "name": "coupon", "language": "en_US", "status": "APPROVED", "category": "MARKETING",
    "components": [
        {"type": "HEADER", "format": "LOCATION"},
        {"type": "BODY", "text": "Your code"},
        {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SAVE10"}, ]},
    ],
}
LOCATION = {"type": "header", "parameters": [{"type": "location", "location": {"latitude": "1", "longitude": "2"}}]}


def _coupon_send(code: str) -> dict[str, Any]:
    return {
        "name": "coupon", "language": {"code": "en_US"},
        "components": [
            LOCATION,
            {"type": "button", "sub_type": "copy_code", "index": "0",
             "parameters": [{"type": "coupon_code", "coupon_code": code}]},
        ],
    }


def test_presend_check_coupon_code_and_location_header() -> None:
    assert check_send(_coupon_send("SAVE10"), COUPON)["name"] == "coupon"
    with pytest.raises(TemplateMismatch) as info:
        check_send(_coupon_send("X" * 16), COUPON)
    assert info.value.kind == MismatchKind.TOO_LONG and info.value.field.endswith("coupon_code")
    no_location = _coupon_send("SAVE10")
    no_location["components"] = no_location["components"][1:]
    with pytest.raises(TemplateMismatch):
        check_send(no_location, COUPON)


def test_presend_check_request_contact_info_takes_no_parameter() -> None:
    definition = {
        "name": "share_number", "language": "en_US", "status": "APPROVED", "category": "UTILITY",
        "components": [
            {"type": "BODY", "text": "Share your number."},
            {"type": "BUTTONS", "buttons": [{"type": "REQUEST_CONTACT_INFO"}]},
        ],
    }
    plain = {"name": "share_number", "language": {"code": "en_US"}}
    assert check_send(plain, definition) is definition
    with_param = {**plain, "components": [
        {"type": "button", "sub_type": "quick_reply", "index": "0",
         "parameters": [{"type": "payload", "payload": "x"}]},
    ]}
    with pytest.raises(TemplateMismatch) as info:
        check_send(with_param, definition)
    assert info.value.kind == MismatchKind.BUTTON
