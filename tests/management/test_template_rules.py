"""Template definitions: the spec's examples are expressible with the builder; broken ones are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from management.helpers import DELETE, good_definition, mutate
from wacloud.templates import (
    CardBuilder,
    TemplateBuilder,
    TemplateDefinition,
    TemplateDefinitionError,
    check_definition,
)

HANDLE = "4::aW1hZ2UvanBn:ARYytyb0kLp5htbBB8vWlcl"


def _built(name: str, ex: dict[str, Any]) -> TemplateDefinition:
    """Rebuild each spec example with the builder."""
    comps = {c["type"].upper(): c for c in ex["components"]}
    b = TemplateBuilder(ex["name"], ex["language"], ex["category"])
    header = comps.get("HEADER")
    if header:
        if header["format"] == "TEXT":
            b.header_text(header["text"], *header.get("example", {}).get("header_text", []))
        elif header["format"] == "LOCATION":
            b.header_location()
        else:
            b.header_media(header["format"], header["example"]["header_handle"][0])
    body = comps["BODY"]
    if "add_security_recommendation" in body:
        b.auth_body(add_security_recommendation=body["add_security_recommendation"])
    else:
        b.body(body["text"], *(body.get("example", {}).get("body_text") or [[]])[0])
    footer = comps.get("FOOTER")
    if footer and "code_expiration_minutes" in footer:
        b.auth_footer(footer["code_expiration_minutes"])
    elif footer:
        b.footer(footer["text"])
    for btn in comps.get("BUTTONS", {}).get("buttons", []):
        t = btn["type"]
        if t == "QUICK_REPLY":
            b.quick_reply(btn["text"])
        elif t == "URL":
            b.url(btn["text"], btn["url"], (btn.get("example") or [None])[0])
        elif t == "PHONE_NUMBER":
            b.phone(btn["text"], btn["phone_number"])
        elif t == "MPM":
            b.mpm(btn["text"])
        elif t == "FLOW":
            b.flow(
                btn["text"],
                flow_id=btn.get("flow_id"),
                flow_name=btn.get("flow_name"),
                flow_json=btn.get("flow_json"),
                flow_action=btn["flow_action"],
                navigate_screen=btn.get("navigate_screen"),
            )
        elif t == "OTP":
            extra = {k: v for k, v in btn.items() if k not in ("type", "otp_type", "text")}
            b.otp(btn["otp_type"], btn.get("text"), **extra)
        else:  # pragma: no cover - the spec has no other kinds
            raise AssertionError(t)
    return b.build()


def test_every_spec_example_is_valid_and_expressible_with_the_builder(
    template_examples: dict[str, dict[str, Any]], normalize: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    examples = template_examples
    assert len(examples) >= 10
    for name, ex in examples.items():
        check_definition(ex)
        rebuilt = _built(name, ex)
        # The header_handle example of one spec entry holds three newline-joined handles in one string.
        assert normalize(rebuilt.to_graph()) == normalize(ex), name
        assert TemplateDefinition.from_graph(ex).to_graph()["name"] == ex["name"]



#: (description, path, new value, expected field prefix, subcode)
BROKEN: list[tuple[str, list[Any], Any, str, int | None]] = [
    ("upper-case name", ["name"], "Seasonal_Promo", "name", None),
    ("name too long", ["name"], "a" * 513, "name", None),
    ("bad category", ["category"], "PROMO", "category", None),
    ("bad language", ["language"], "english", "language", None),
    ("header text too long", ["components", 0, "text"], "x" * 61, "components[0].text", 2388040),
    ("two header variables", ["components", 0, "text"], "{{1}} and {{2}}", "components[0]", 2388047),
    ("header example missing", ["components", 0, "example"], DELETE, "components[0].example", 2388047),
    (
        "body example count wrong",
        ["components", 1, "example", "body_text"],
        [["August"]],
        "components[1].example",
        2388072,
    ),
    ("body example missing", ["components", 1, "example"], DELETE, "components[1].example", 2388072),
    (
        "variable gap",
        ["components", 1, "text"],
        "Shop through {{1}} with code {{3}} today.",
        "components[1].text",
        2388072,
    ),
    (
        "variable at the end",
        ["components", 1, "text"],
        "Shop through {{1}} with code {{2}}",
        "components[1].text",
        2388299,
    ),
    ("body too long", ["components", 1, "text"], "a" * 1025, "components[1].text", 2388040),
    ("footer with variable", ["components", 2, "text"], "Bye {{1}}", "components[2].text", 2388073),
    ("footer too long", ["components", 2, "text"], "f" * 61, "components[2].text", 2388040),
    (
        "button label too long",
        ["components", 3, "buttons", 0, "text"],
        "b" * 26,
        "components[3].buttons[0].text",
        2388040,
    ),
    (
        "dynamic url without example",
        ["components", 3, "buttons", 1, "example"],
        DELETE,
        "components[3].buttons[1].example",
        2388039,
    ),
    (
        "unknown button type",
        ["components", 3, "buttons", 0, "type"],
        "TELEPORT",
        "components[3].buttons[0].type",
        2388039,
    ),
    ("unknown component", ["components", 2, "type"], "SIDEBAR", "components[2].type", 2388039),
    ("no components", ["components"], [], "components", 2388039),
    (
        "eleven buttons",
        ["components", 3, "buttons"],
        [{"type": "QUICK_REPLY", "text": f"b{i}"} for i in range(11)],
        "components[3].buttons",
        2388039,
    ),
    (
        "three url buttons",
        ["components", 3, "buttons"],
        [{"type": "URL", "text": f"u{i}", "url": "https://e.com"} for i in range(3)],
        "components[3].buttons",
        2388039,
    ),
    (
        "two phone buttons",
        ["components", 3, "buttons"],
        [{"type": "PHONE_NUMBER", "text": f"p{i}", "phone_number": "15550001111"} for i in range(2)],
        "components[3].buttons",
        2388039,
    ),
    (
        "otp outside authentication",
        ["components", 3, "buttons"],
        [{"type": "OTP", "otp_type": "COPY_CODE"}],
        "components[3].buttons",
        2388039,
    ),
]


@pytest.mark.parametrize(("what", "path", "value", "field", "subcode"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_definitions_are_refused(
    what: str, path: list[Any], value: Any, field: str, subcode: int | None
) -> None:
    body = mutate(good_definition(), path, value)
    with pytest.raises(TemplateDefinitionError) as info:
        check_definition(body)
    assert info.value.field.startswith(field), (what, info.value)
    assert info.value.code == 100
    assert info.value.subcode == subcode


def test_250_per_waba() -> None:
    check_definition(good_definition(), existing_count=249)
    with pytest.raises(TemplateDefinitionError) as info:
        check_definition(good_definition(), existing_count=250)
    assert info.value.code == 2388019 and info.value.limit == 250


def test_media_header_needs_a_sample_handle() -> None:
    with pytest.raises(TemplateDefinitionError, match="sample media handle"):
        TemplateBuilder("receipt", "en_US", "UTILITY").header_media("DOCUMENT", "").body("Your receipt.").build()
    ok = TemplateBuilder("receipt", "en_US", "UTILITY").header_media("DOCUMENT", HANDLE).body("Your receipt.").build()
    assert ok.to_graph()["components"][0] == {
        "type": "HEADER",
        "format": "DOCUMENT",
        "example": {"header_handle": [HANDLE]},
    }


def test_named_parameters_need_named_examples() -> None:
    body = (
        TemplateBuilder("order_named", "en_US", "UTILITY", parameter_format="NAMED")
        .body("Hi {{first_name}}, order {{order_id}} shipped.", first_name="Ana", order_id="A-1")
        .build()
    )
    graph = body.to_graph()
    assert graph["parameter_format"] == "NAMED"
    assert graph["components"][0]["example"] == {
        "body_text_named_params": [
            {"param_name": "first_name", "example": "Ana"},
            {"param_name": "order_id", "example": "A-1"},
        ]
    }
    with pytest.raises(TemplateDefinitionError, match="no example value for order_id"):
        (
            TemplateBuilder("order_named", "en_US", "UTILITY", parameter_format="NAMED")
            .body("Hi {{first_name}}, order {{order_id}} shipped.", first_name="Ana")
            .build()
        )
    with pytest.raises(TemplateDefinitionError, match="parameter_format NAMED"):
        TemplateBuilder("x_named", "en_US", "UTILITY", parameter_format="NAMED").body("Hi {{1}} there", "a").build()


def test_copy_code_flow_otp_rules() -> None:
    TemplateBuilder("coupon", "en_US", "MARKETING").body("Your code").copy_code("SAVE10").build()
    with pytest.raises(TemplateDefinitionError, match="at most 15"):
        TemplateBuilder("coupon", "en_US", "MARKETING").body("Your code").copy_code("X" * 16).build()
    with pytest.raises(TemplateDefinitionError, match="exactly one of flow_id"):
        TemplateBuilder("f", "en_US", "MARKETING").body("Go").flow("Open", flow_id="1", flow_name="n").build()
    with pytest.raises(TemplateDefinitionError, match="package_name"):
        TemplateBuilder("otp", "en_US", "AUTHENTICATION").auth_body().otp("ONE_TAP", "Copy").build()
    with pytest.raises(TemplateDefinitionError, match="exactly one OTP"):
        TemplateBuilder("otp", "en_US", "AUTHENTICATION").auth_body().quick_reply("Hi").build()
    with pytest.raises(TemplateDefinitionError, match="1–90"):
        TemplateBuilder("otp", "en_US", "AUTHENTICATION").auth_body().auth_footer(91).otp("COPY_CODE").build()


def test_carousel_rules() -> None:
    def card() -> CardBuilder:
        return (
            CardBuilder().image(HANDLE).body("Only {{1}} today", "$5").quick_reply("Buy").url("See", "https://e.com/p")
        )

    built = (
        TemplateBuilder("carousel_x", "en_US", "MARKETING")
        .body("Pick one, {{1}}!", "Ana")
        .carousel(card(), card())
        .build()
        .to_graph()
    )
    carousel = built["components"][1]
    assert carousel["type"] == "CAROUSEL" and len(carousel["cards"]) == 2
    with pytest.raises(TemplateDefinitionError, match="2–10 cards"):
        TemplateBuilder("carousel_x", "en_US", "MARKETING").body("Pick one, {{1}}!", "Ana").carousel(card()).build()
    odd = CardBuilder().video(HANDLE).body("Only {{1}} today", "$5").quick_reply("Buy").url("See", "https://e.com")
    with pytest.raises(TemplateDefinitionError, match="same header format"):
        TemplateBuilder("carousel_x", "en_US", "MARKETING").body("Pick, {{1}}!", "Ana").carousel(card(), odd).build()
    with pytest.raises(TemplateDefinitionError, match="MARKETING"):
        TemplateBuilder("carousel_x", "en_US", "UTILITY").body("Pick, {{1}}!", "Ana").carousel(card(), card()).build()


def test_limited_time_offer_rules() -> None:
    lto = (
        TemplateBuilder("lto_deal", "en_US", "MARKETING")
        .header_media("IMAGE", HANDLE)
        .limited_time_offer("Expiring offer!")
        .body("Good deal {{1}}!", "Ana")
        .copy_code("DEAL")
        .url("Book", "https://e.com/{{1}}", "https://e.com/x")
        .build()
        .to_graph()
    )
    assert lto["components"][1] == {
        "type": "LIMITED_TIME_OFFER",
        "limited_time_offer": {"text": "Expiring offer!", "has_expiration": True},
    }
    with pytest.raises(TemplateDefinitionError, match="at most 16"):
        TemplateBuilder("lto_deal", "en_US", "MARKETING").limited_time_offer("x" * 17).body("Deal now").build()
    with pytest.raises(TemplateDefinitionError, match="footer"):
        TemplateBuilder("lto_deal", "en_US", "MARKETING").limited_time_offer("Soon").body("Deal").footer("f").build()
