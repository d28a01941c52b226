"""Template creation over real HTTP: the sandbox refuses what Meta refuses, with the same code and subcode
as our client-side pre-check (``wacloud.templates.check_definition``) gives for the same raw body."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sandbox.helpers import error_code
from wacloud.sandbox.testing import SandboxHandle
from wacloud.templates import TemplateDefinitionError, check_definition

DELETE = object()


def _text_definition() -> dict[str, Any]:
    """MARKETING: text header with a variable, body with two, footer, a quick reply and a dynamic URL."""
    return {
        "name": "rules_promo",
        "language": "en_US",
        "category": "MARKETING",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Our {{1}} is on!", "example": {"header_text": ["Sale"]}},
            {
                "type": "BODY",
                "text": "Shop through {{1}} with code {{2}} today.",
                "example": {"body_text": [["August", "25OFF"]]},
            },
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {
                "type": "BUTTONS",
                "buttons": [
                    {"type": "QUICK_REPLY", "text": "Unsubscribe"},
                    {
                        "type": "URL",
                        "text": "Shop",
                        "url": "https://example.com/shop?c={{1}}",
                        "example": ["https://example.com/shop?c=25OFF"],
                    },
                ],
            },
        ],
    }


def _media_definition() -> dict[str, Any]:
    """UTILITY with an IMAGE header (sample handle) and a phone button."""
    return {
        "name": "rules_receipt",
        "language": "pt_BR",
        "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2U=:ARb"]}},
            {"type": "BODY", "text": "Your receipt is attached."},
            {
                "type": "BUTTONS",
                "buttons": [{"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "15550001111"}],
            },
        ],
    }


def _named_definition() -> dict[str, Any]:
    """UTILITY with NAMED body parameters."""
    return {
        "name": "rules_named",
        "language": "en",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [
            {
                "type": "BODY",
                "text": "Hi {{first_name}}, order {{order_id}} is ready.",
                "example": {
                    "body_text_named_params": [
                        {"param_name": "first_name", "example": "Ana"},
                        {"param_name": "order_id", "example": "A-1"},
                    ]
                },
            }
        ],
    }


GOOD = {"text": _text_definition, "media": _media_definition, "named": _named_definition}


def _mutate(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


_URL = {"type": "URL", "text": "Go", "url": "https://example.com/a"}
_PHONE = {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "15550001111"}

#: (what, base definition, path, new value, expected subcode: None means a plain 100)
BROKEN: list[tuple[str, str, list[Any], Any, int | None]] = [
    ("language not a locale", "text", ["language"], "english", None),
    ("language missing region separator", "text", ["language"], "en-US", None),
    ("image header without handle", "media", ["components", 0, "example"], DELETE, 2388047),
    ("image header with empty handles", "media", ["components", 0, "example", "header_handle"], [], 2388047),
    ("video header without handle", "media", ["components", 0], {"type": "HEADER", "format": "VIDEO"}, 2388047),
    ("document header without handle", "media", ["components", 0], {"type": "HEADER", "format": "DOCUMENT"}, 2388047),
    ("header variable without example", "text", ["components", 0, "example"], DELETE, 2388047),
    ("body variables without examples", "text", ["components", 1, "example"], DELETE, 2388072),
    ("body example count too low", "text", ["components", 1, "example", "body_text"], [["August"]], 2388072),
    (
        "body example count too high",
        "text",
        ["components", 1, "example", "body_text"],
        [["August", "25OFF", "extra"]],
        2388072,
    ),
    ("body example empty string", "text", ["components", 1, "example", "body_text"], [["August", ""]], 2388072),
    ("named example missing", "named", ["components", 0, "example", "body_text_named_params"], [], 2388072),
    (
        "named example for an unknown variable",
        "named",
        ["components", 0, "example", "body_text_named_params", 1, "param_name"],
        "order_number",
        2388072,
    ),
    ("positional variable in a NAMED template", "named", ["components", 0, "text"], "Hi {{1}}, it is ready.", 2388072),
    ("button label over 25", "text", ["components", 3, "buttons", 0, "text"], "b" * 26, 2388040),
    ("url button label over 25", "text", ["components", 3, "buttons", 1, "text"], "s" * 26, 2388040),
    ("dynamic url without example", "text", ["components", 3, "buttons", 1, "example"], DELETE, 2388039),
    ("url variable not at the end", "text", ["components", 3, "buttons", 1, "url"], "https://e.com/{{1}}/x", 2388039),
    ("url not http", "text", ["components", 3, "buttons", 1, "url"], "ftp://example.com", 2388039),
    ("three url buttons", "text", ["components", 3, "buttons"], [_URL, _URL, _URL], 2388039),
    ("two phone buttons", "media", ["components", 2, "buttons"], [_PHONE, _PHONE], 2388039),
    ("phone button without number", "media", ["components", 2, "buttons", 0, "phone_number"], "call me", 2388039),
    (
        "otp button outside authentication",
        "text",
        ["components", 3, "buttons"],
        [{"type": "OTP", "otp_type": "COPY_CODE"}],
        2388039,
    ),
    (
        "two copy-code buttons",
        "text",
        ["components", 3, "buttons"],
        [{"type": "COPY_CODE", "example": "SAVE10"}, {"type": "COPY_CODE", "example": "SAVE20"}],
        2388039,
    ),
    ("copy-code without example", "text", ["components", 3, "buttons"], [{"type": "COPY_CODE"}], 2388039),
    (
        "flow button without a flow",
        "text",
        ["components", 3, "buttons"],
        [{"type": "FLOW", "text": "Book"}],
        2388039,
    ),
    ("header text too long", "text", ["components", 0, "text"], "x" * 61, 2388040),
    ("variable at the start of the body", "text", ["components", 1, "text"], "{{1}} through {{2}} today.", 2388299),
    ("footer with variable", "text", ["components", 2, "text"], "Bye {{1}}", 2388073),
    ("unknown component", "text", ["components", 2, "type"], "SIDEBAR", 2388039),
    ("unknown button type", "text", ["components", 3, "buttons", 0, "type"], "TELEPORT", 2388039),
]


def _post(sandbox: SandboxHandle, body: Any) -> Any:
    return sandbox.http.post(f"/{sandbox.waba_id}/message_templates", json=body)


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_the_unbroken_definitions_pass_both(sandbox: SandboxHandle, kind: str) -> None:
    body = GOOD[kind]()
    check_definition(body)
    r = _post(sandbox, body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "PENDING"


@pytest.mark.parametrize(("what", "base", "path", "value", "subcode"), BROKEN, ids=[b[0] for b in BROKEN])
def test_sandbox_and_precheck_refuse_alike(
    sandbox: SandboxHandle, what: str, base: str, path: list[Any], value: Any, subcode: int | None
) -> None:
    body = _mutate(GOOD[base](), path, value)
    with pytest.raises(TemplateDefinitionError) as local:
        check_definition(body)
    r = _post(sandbox, body)
    assert r.status_code == 400, (what, r.text)
    err = r.json()["error"]
    assert err["code"] == local.value.code == 100, (what, err)
    assert err.get("error_subcode") == local.value.subcode == subcode, (what, err)
    assert err["error_data"]["details"], what
    listed = sandbox.http.get(f"/{sandbox.waba_id}/message_templates", params={"name": body["name"]}).json()
    assert listed["data"] == [], "a refused definition must not be stored"


def test_authentication_rules(sandbox: SandboxHandle) -> None:
    good = {
        "name": "rules_otp",
        "language": "en_US",
        "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "FOOTER", "code_expiration_minutes": 10},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]},
        ],
    }
    check_definition(good)
    r = _post(sandbox, good)
    assert r.status_code == 200 and r.json()["status"] == "APPROVED", r.text
    for path, value, subcode in (
        (["components", 0, "text"], "Your code is {{1}}.", 2388072),  # authentication bodies are fixed
        (["components", 1, "code_expiration_minutes"], 91, 2388073),
        (["components", 2, "buttons"], [{"type": "QUICK_REPLY", "text": "No"}], 2388039),  # no OTP button
        (["components", 2, "buttons", 0, "otp_type"], "ONE_TAP", 2388039),  # needs the app's package
    ):
        body = _mutate(good, path, value)
        body["name"] = "rules_otp_broken"
        with pytest.raises(TemplateDefinitionError) as local:
            check_definition(body)
        err = _post(sandbox, body).json()["error"]
        assert (err["code"], err.get("error_subcode")) == (100, subcode) == (local.value.code, local.value.subcode)


def test_edit_applies_the_same_rules(sandbox: SandboxHandle) -> None:
    created = _post(sandbox, _text_definition()).json()
    sandbox.set_template_status(created["id"], "APPROVED")
    no_examples = _mutate(_text_definition(), ["components", 1, "example"], DELETE)["components"]
    r = sandbox.http.post(f"/{created['id']}", json={"components": no_examples})
    assert error_code(r) == 100 and r.json()["error"]["error_subcode"] == 2388072
    assert sandbox.http.get(f"/{created['id']}").json()["status"] == "APPROVED"  # unchanged
    good = _text_definition()["components"]
    assert sandbox.http.post(f"/{created['id']}", json={"components": good}).json() == {"success": True}


def test_control_api_still_stores_loose_fixtures(sandbox: SandboxHandle) -> None:
    """The control API is a test seam: it takes a definition without examples (the Graph route doesn't)."""
    loose = _mutate(_text_definition(), ["components", 1, "example"], DELETE)
    assert error_code(_post(sandbox, loose)) == 100
    stored = sandbox.put_template(loose)
    assert stored["status"] == "APPROVED"


#: Bodies whose refusal was worded differently by the sandbox and the client while each kept its own copy.
WORDING: list[tuple[str, str, list[Any], Any]] = [
    ("positional gap", "text", ["components", 1, "text"], "Shop through {{1}} with code {{3}} today."),
    ("media header without handle", "media", ["components", 0, "example"], DELETE),
    ("body sample short", "text", ["components", 1, "example", "body_text"], [["August"]]),
]


@pytest.mark.parametrize(("what", "base", "path", "value"), WORDING, ids=[w[0] for w in WORDING])
def test_sandbox_and_precheck_give_the_same_reason(
    sandbox: SandboxHandle, what: str, base: str, path: list[Any], value: Any
) -> None:
    """One rule table: the sandbox's details name the same field and reason as the pre-check."""
    body = _mutate(GOOD[base](), path, value)
    with pytest.raises(TemplateDefinitionError) as local:
        check_definition(body)
    details = _post(sandbox, body).json()["error"]["error_data"]["details"]
    assert details == f"Invalid parameter {local.value.field}: {local.value.reason}.", what
