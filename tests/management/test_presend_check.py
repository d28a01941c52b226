"""The pre-send check: every kind of mismatch between a template send and its definition, caught locally."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from wacloud.templates import MismatchKind, TemplateCache, TemplateMismatch, check_send

ORDER = {
    "id": "111",
    "name": "order_update",
    "language": "en_US",
    "status": "APPROVED",
    "category": "UTILITY",
    "parameter_format": "POSITIONAL",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::x"]}},
        {
            "type": "BODY",
            "text": "Hi {{1}}, your order {{2}} ships on {{3}}.",
            "example": {"body_text": [["Ana", "A-1", "Monday"]]},
        },
        {"type": "FOOTER", "text": "Thanks"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"},
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://e.com/t/{{1}}",
                    "example": ["https://e.com/t/A1"],
                },
                {"type": "URL", "text": "Help", "url": "https://e.com/help"},
                {"type": "COPY_CODE", "example": "SAVE10"},
            ],
        },
    ],
}
ORDER_ES = {**copy.deepcopy(ORDER), "id": "112", "language": "es"}
NAMED = {
    "id": "222",
    "name": "welcome_named",
    "language": "en_US",
    "status": "APPROVED",
    "category": "MARKETING",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "HEADER",
            "format": "TEXT",
            "text": "Hello {{first_name}}",
            "example": {"header_text_named_params": [{"param_name": "first_name", "example": "Ana"}]},
        },
        {
            "type": "BODY",
            "text": "Your code {{code}} is valid until {{day}}.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "code", "example": "X"},
                    {"param_name": "day", "example": "Monday"},
                ]
            },
        },
    ],
}
DEFS = [ORDER, ORDER_ES, NAMED]


def order_send() -> dict[str, Any]:
    """A send that fits ORDER exactly."""
    return {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://e.com/a.jpg"}}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Ana"},
                    {"type": "text", "text": "A-1"},
                    {"type": "date_time", "date_time": {"fallback_value": "Monday"}},
                ],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "STOP"}],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "1",
                "parameters": [{"type": "text", "text": "A1"}],
            },
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": 3,
                "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}],
            },
        ],
    }


def named_send() -> dict[str, Any]:
    """A send that fits NAMED exactly."""
    return {
        "name": "welcome_named",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "header",
                "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ana"}],
            },
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "parameter_name": "day", "text": "Monday"},
                    {"type": "text", "parameter_name": "code", "text": "X1"},
                ],
            },
        ],
    }


def test_fitting_sends_pass() -> None:
    assert check_send(order_send(), DEFS)["id"] == "111"
    assert check_send(named_send(), DEFS)["id"] == "222"
    es = order_send()
    es["language"] = {"code": "es"}
    assert check_send(es, DEFS)["id"] == "112"


def _expect(send: dict[str, Any], kind: MismatchKind, code: int, field: str, defs: Any = DEFS) -> TemplateMismatch:
    with pytest.raises(TemplateMismatch) as info:
        check_send(send, defs)
    err = info.value
    assert (err.kind, err.code) == (kind, code), err
    assert err.field.startswith(field), err
    return err


def test_unknown_name() -> None:
    send = order_send()
    send["name"] = "order_updte"
    err = _expect(send, MismatchKind.NOT_FOUND, 132001, "template.name")
    assert "order_updte" in str(err)


def test_language_not_available() -> None:
    send = order_send()
    send["language"] = {"code": "pt_BR"}
    err = _expect(send, MismatchKind.LANGUAGE, 132001, "template.language.code")
    assert "en_US" in str(err) and "es" in str(err)


@pytest.mark.parametrize(
    ("status", "code"), [("PAUSED", 132015), ("DISABLED", 132016), ("PENDING", 132001), ("REJECTED", 132001)]
)
def test_status_not_approved(status: str, code: int) -> None:
    _expect(order_send(), MismatchKind.STATUS, code, "template.name", [{**ORDER, "status": status}])


def test_body_param_count() -> None:
    send = order_send()
    del send["components"][1]["parameters"][2]
    err = _expect(send, MismatchKind.PARAM_COUNT, 132000, "template.components[1].parameters")
    assert (err.size, err.limit) == (2, 3)


def test_header_param_count() -> None:
    send = order_send()
    del send["components"][0]
    _expect(send, MismatchKind.HEADER_FORMAT, 132012, "template.components")  # Meta: "received UNKNOWN"
    send = order_send()
    send["components"][0]["parameters"].append({"type": "image", "image": {"id": "2"}})
    _expect(send, MismatchKind.PARAM_COUNT, 132000, "template.components[0].parameters")


def test_header_params_for_a_template_without_header() -> None:
    send = named_send()
    defs = [{**NAMED, "components": NAMED["components"][1:]}]
    _expect(send, MismatchKind.PARAM_COUNT, 132000, "template.components[0].parameters", defs)


def test_named_params_missing_names() -> None:
    send = named_send()
    for p in send["components"][1]["parameters"]:
        del p["parameter_name"]
    err = _expect(send, MismatchKind.PARAM_NAME, 132012, "template.components[1].parameters")
    assert "code" in str(err) and "day" in str(err)


def test_named_params_wrong_name() -> None:
    send = named_send()
    send["components"][1]["parameters"][0]["parameter_name"] = "date"
    err = _expect(send, MismatchKind.PARAM_NAME, 132000, "template.components[1].parameters")
    assert "unknown ['date']" in str(err) and "missing ['day']" in str(err)


def test_positional_template_given_names() -> None:
    send = order_send()
    send["components"][1]["parameters"][0]["parameter_name"] = "first_name"
    _expect(send, MismatchKind.PARAM_NAME, 132012, "template.components[1].parameters[0].parameter_name")


def test_body_param_type() -> None:
    send = order_send()
    send["components"][1]["parameters"][0] = {"type": "image", "image": {"id": "1"}}
    _expect(send, MismatchKind.PARAM_TYPE, 132012, "template.components[1].parameters[0].type")


def test_currency_param_incomplete() -> None:
    send = order_send()
    send["components"][1]["parameters"][0] = {"type": "currency", "currency": {"fallback_value": "$1"}}
    _expect(send, MismatchKind.PARAM_TYPE, 132012, "template.components[1].parameters[0].currency")


def test_header_format_mismatch() -> None:
    send = order_send()
    send["components"][0]["parameters"] = [{"type": "video", "video": {"id": "9"}}]
    err = _expect(send, MismatchKind.HEADER_FORMAT, 132012, "template.components[0].parameters[0].type")
    assert "IMAGE" in str(err)


def test_text_header_given_media() -> None:
    send = named_send()
    send["components"][0]["parameters"] = [{"type": "image", "image": {"id": "9"}}]
    _expect(send, MismatchKind.HEADER_FORMAT, 132012, "template.components[0].parameters[0].type")


def test_button_index_out_of_range() -> None:
    send = order_send()
    send["components"][3]["index"] = "7"
    _expect(send, MismatchKind.BUTTON, 131009, "template.components[3].index")


def test_button_sub_type_mismatch() -> None:
    send = order_send()
    send["components"][4]["sub_type"] = "quick_reply"
    _expect(send, MismatchKind.BUTTON, 132012, "template.components[4].sub_type")


def test_dynamic_url_button_missing() -> None:
    send = order_send()
    del send["components"][3]
    err = _expect(send, MismatchKind.PARAM_COUNT, 132000, "template.components")
    assert "button 1" in str(err)


def test_static_url_button_given_a_parameter() -> None:
    send = order_send()
    send["components"].append(
        {"type": "button", "sub_type": "url", "index": "2", "parameters": [{"type": "text", "text": "x"}]}
    )
    _expect(send, MismatchKind.PARAM_COUNT, 132000, "template.components[5].parameters")


def test_button_parameter_type() -> None:
    send = order_send()
    send["components"][4]["parameters"] = [{"type": "text", "text": "SAVE10"}]
    _expect(send, MismatchKind.PARAM_TYPE, 132012, "template.components[4].parameters[0].type")


def test_hydrated_body_too_long() -> None:
    send = order_send()
    send["components"][1]["parameters"][0]["text"] = "x" * 1100
    err = _expect(send, MismatchKind.TOO_LONG, 132005, "template.components[1].parameters")
    assert err.limit == 1024


def test_malformed_send() -> None:
    _expect({"name": "order_update"}, MismatchKind.MALFORMED, 131008, "template.language.code")
    send = order_send()
    send["components"].append({"type": "sidebar"})
    _expect(send, MismatchKind.MALFORMED, 131009, "template.components")


def test_cache_follows_status_and_component_webhooks() -> None:
    cache = TemplateCache()
    cache.put("order_update", DEFS)
    assert cache.check(order_send())["id"] == "111"
    # Meta's webhook sends the language as "en-US" and the id as an integer.
    assert cache.on_webhook_change(
        "message_template_status_update",
        {
            "event": "PAUSED",
            "message_template_id": 111,
            "message_template_name": "order_update",
            "message_template_language": "en-US",
            "reason": "NONE",
        },
    )
    with pytest.raises(TemplateMismatch) as info:
        cache.check(order_send())
    assert info.value.code == 132015
    cache.on_status_update(event="REINSTATED", message_template_name="order_update", message_template_language="en-US")
    assert cache.check(order_send())["status"] == "APPROVED"
    es = order_send()
    es["language"] = {"code": "es"}
    assert cache.check(es)["id"] == "112"  # the other language was untouched throughout
    cache.on_webhook_change(
        "message_template_components_update",
        {"message_template_id": 112, "message_template_name": "order_update"},
    )
    assert cache.get("order_update") is None
    with pytest.raises(KeyError):
        cache.check(order_send())


def test_cache_ttl_and_deleted_event() -> None:
    now = [0.0]
    cache = TemplateCache(ttl_s=60, clock=lambda: now[0])
    cache.put("order_update", DEFS)
    cache.on_status_update(event="DELETED", message_template_id="112")
    assert [d["language"] for d in cache.get("order_update") or []] == ["en_US"]
    now[0] = 61
    assert cache.get("order_update") is None


@pytest.mark.parametrize("buttons", ["xyz", [1, 2], None])
def test_malformed_definition_buttons_do_not_crash(buttons: Any) -> None:
    definition = copy.deepcopy(ORDER)
    definition["components"][3]["buttons"] = buttons
    with pytest.raises(TemplateMismatch) as info:
        check_send(order_send(), [definition])
    assert info.value.kind is MismatchKind.BUTTON


CAROUSEL = {
    "id": "333",
    "name": "carousel_deals",
    "language": "en_US",
    "status": "APPROVED",
    "category": "MARKETING",
    "components": [
        {"type": "BODY", "text": "Deals for {{1}}!", "example": {"body_text": [["Ana"]]}},
        {
            "type": "CAROUSEL",
            "cards": [
                {
                    "components": [
                        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::x"]}},
                        {"type": "BODY", "text": "Only {{1}}", "example": {"body_text": [["$5"]]}},
                        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Buy"}]},
                    ]
                }
            ]
            * 2,
        },
    ],
}


def carousel_send() -> dict[str, Any]:
    """A send that fits CAROUSEL."""
    card = {
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "9"}}]},
            {"type": "body", "parameters": [{"type": "text", "text": "$4"}]},
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "BUY"}],
            },
        ]
    }
    return {
        "name": "carousel_deals",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}]},
            {"type": "carousel", "cards": [{**copy.deepcopy(card), "card_index": i} for i in range(2)]},
        ],
    }


def test_carousel_send_checks() -> None:
    assert check_send(carousel_send(), [CAROUSEL])["id"] == "333"
    one_card = carousel_send()
    one_card["components"][1]["cards"].pop()
    _expect(one_card, MismatchKind.PARAM_COUNT, 132000, "template.components[1].cards", [CAROUSEL])
    video = carousel_send()
    video["components"][1]["cards"][1]["components"][0]["parameters"] = [{"type": "video", "video": {"id": "1"}}]
    _expect(video, MismatchKind.HEADER_FORMAT, 132012, "template.components[1].cards[1].components[0]", [CAROUSEL])
    long_body = carousel_send()
    long_body["components"][1]["cards"][0]["components"][1]["parameters"][0]["text"] = "x" * 200
    err = _expect(long_body, MismatchKind.TOO_LONG, 132005, "template.components[1].cards[0]", [CAROUSEL])
    assert err.limit == 160
    missing = carousel_send()
    del missing["components"][1]
    _expect(missing, MismatchKind.PARAM_COUNT, 132000, "template.components", [CAROUSEL])


def test_limited_time_offer_needs_its_expiry() -> None:
    lto = {
        **copy.deepcopy(NAMED),
        "components": [
            {"type": "LIMITED_TIME_OFFER", "limited_time_offer": {"text": "Ends soon", "has_expiration": True}},
            {"type": "BODY", "text": "A deal"},
        ],
    }
    send: dict[str, Any] = {"name": "welcome_named", "language": {"code": "en_US"}, "components": []}
    _expect(send, MismatchKind.PARAM_COUNT, 132000, "template.components", [lto])
    send["components"] = [
        {
            "type": "limited_time_offer",
            "parameters": [
                {"type": "limited_time_offer", "limited_time_offer": {"expiration_time_ms": 1_800_000_000_000}}
            ],
        }
    ]
    assert check_send(send, [lto])["id"] == "222"


def test_location_header() -> None:
    definition = {
        **copy.deepcopy(NAMED),
        "components": [{"type": "HEADER", "format": "LOCATION"}, {"type": "BODY", "text": "Here we are"}],
    }
    send = {
        "name": "welcome_named",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "location", "location": {"latitude": 1.0, "longitude": 2.0}}]}
        ],
    }
    assert check_send(send, [definition])
    send["components"][0]["parameters"][0]["location"] = {"name": "HQ"}
    _expect(send, MismatchKind.PARAM_TYPE, 132012, "template.components[0].parameters[0].location", [definition])


def test_authentication_code_send() -> None:
    auth = {
        "id": "444",
        "name": "login_code",
        "language": "en_US",
        "status": "APPROVED",
        "category": "AUTHENTICATION",
        "components": [
            {"type": "BODY", "text": "*{{1}}* is your verification code.", "add_security_recommendation": True},
            {"type": "FOOTER", "text": "This code expires in 10 minutes."},
            {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}]},
        ],
    }
    send: dict[str, Any] = {
        "name": "login_code",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "123456"}]},
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "123456"}]},
        ],
    }
    assert check_send(send, [auth])["id"] == "444"
    send["components"][1] = {
        "type": "button",
        "sub_type": "copy_code",
        "index": "0",
        "parameters": [{"type": "coupon_code", "coupon_code": "123456"}],
    }
    assert check_send(send, [auth])["id"] == "444"
    del send["components"][1]
    _expect(send, MismatchKind.PARAM_COUNT, 132000, "template.components", [auth])
    send["components"].append(
        {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "x"}]}
    )
    err = _expect(send, MismatchKind.BUTTON, 132012, "template.components[1].sub_type", [auth])
    assert "'url' or 'copy_code'" in str(err)
