"""The message models' behaviour beyond limits: exact bodies, parse rules, and error paths."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from wacloud.errors import ValidationError
from wacloud.messages import (
    ButtonComponent,
    Catalog,
    Contact,
    Contacts,
    CtaUrl,
    Document,
    FlowMessage,
    Header,
    Image,
    ImageParameter,
    Location,
    LocationRequest,
    MarkRead,
    MediaSource,
    Reaction,
    ReplyButton,
    ReplyButtons,
    SendRequest,
    Template,
    Text,
    parse,
    parse_any,
    parse_mark_read,
    parse_message,
)

TO = "+16505551234"


def body(kind: str, content: Any, **envelope: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": TO, "type": kind, kind: content, **envelope}


def refused(value: Any, field: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse(value)
    assert info.value.field == field, str(info.value)
    assert not isinstance(info.value, pydantic.ValidationError)
    return info.value


# --- Exact bodies from the pleasant constructors --------------------------------------------------


def test_send_request_envelope() -> None:
    request = SendRequest(TO, Text("hi"), context_message_id="wamid.A", biz_opaque_callback_data="order-7")
    assert request.to_graph() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "hi"},
        "context": {"message_id": "wamid.A"},
        "biz_opaque_callback_data": "order-7",
    }
    group = SendRequest("120363025246125486@g.us", Text("hi all"), recipient_type="group")
    assert group.to_graph()["recipient_type"] == "group"
    assert parse(group.to_graph()) == group


def test_reply_buttons_with_media_header() -> None:
    message = ReplyButtons(
        body="Pick",
        buttons=[ReplyButton(id="y", title="Yes"), ("n", "No")],
        header=Header.media("image", link="https://e.com/i.png"),
        footer="thanks",
    )
    assert message.to_graph() == {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "header": {"type": "image", "image": {"link": "https://e.com/i.png"}},
            "body": {"text": "Pick"},
            "footer": {"text": "thanks"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "y", "title": "Yes"}},
                    {"type": "reply", "reply": {"id": "n", "title": "No"}},
                ]
            },
        },
    }


def test_cta_url_location_request_catalog() -> None:
    assert CtaUrl(body="See", display_text="Open", url="https://e.com", header="Hi").to_graph()[
        "interactive"
    ] == {
        "type": "cta_url",
        "header": {"type": "text", "text": "Hi"},
        "body": {"text": "See"},
        "action": {"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://e.com"}},
    }
    assert LocationRequest(body="Where are you?").to_graph()["interactive"] == {
        "type": "location_request_message",
        "body": {"text": "Where are you?"},
        "action": {"name": "send_location"},
    }
    assert Catalog(body="Browse").to_graph()["interactive"] == {
        "type": "catalog_message",
        "body": {"text": "Browse"},
        "action": {"name": "catalog_message"},
    }
    for message in (LocationRequest(body="x"), Catalog(body="b", thumbnail_product_retailer_id="sku")):
        assert parse(SendRequest(TO, message).to_graph()).message == message


def test_location_request_is_body_only() -> None:
    with pytest.raises(ValidationError) as info:
        LocationRequest(body="x", header="h")
    assert info.value.field == "interactive.header"
    with pytest.raises(ValidationError) as info:
        LocationRequest(body="x", footer="f")
    assert info.value.field == "interactive.footer"


def test_flow_message_data_exchange() -> None:
    message = FlowMessage(
        body="Book",
        flow_cta="Book now",
        flow_name="booking",
        flow_action="data_exchange",
        flow_token="tok",
        mode="published",
    )
    assert message.to_graph()["interactive"]["action"] == {
        "name": "flow",
        "parameters": {
            "flow_message_version": "3",
            "flow_name": "booking",
            "flow_cta": "Book now",
            "flow_token": "tok",
            "mode": "published",
            "flow_action": "data_exchange",
        },
    }
    with pytest.raises(ValidationError) as info:
        FlowMessage(body="b", flow_cta="c", flow_id="1", screen="S", data={})
    assert info.value.field == "interactive.action.parameters.flow_action_payload.data"


def test_reaction_and_removal() -> None:
    assert Reaction(message_id="wamid.A", emoji="👍").to_graph() == {
        "type": "reaction",
        "reaction": {"message_id": "wamid.A", "emoji": "👍"},
    }
    removal = Reaction.remove("wamid.A")
    assert removal.to_graph() == {"type": "reaction", "reaction": {"message_id": "wamid.A", "emoji": ""}}
    assert parse(SendRequest(TO, removal).to_graph()).message == removal


def test_mark_read_and_typing() -> None:
    assert MarkRead("wamid.A").to_graph() == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.A",
    }
    typing = MarkRead("wamid.A", typing=True)
    assert typing.to_graph()["typing_indicator"] == {"type": "text"}
    assert parse_any(typing.to_graph()) == typing
    for bad, field in [
        ({"typing_indicator": {"type": "audio"}}, "typing_indicator"),
        ({"status": "delivered"}, "status"),
        ({"extra": 1}, "extra"),
        ({"message_id": ""}, "message_id"),
    ]:
        with pytest.raises(ValidationError) as info:
            parse_mark_read(typing.to_graph() | bad)
        assert info.value.field == field


def test_template_positional_named_and_buttons() -> None:
    positional = Template(
        "order_ready",
        "en_US",
        header="Ada",
        body=["#123", "Friday"],
        buttons=[
            ButtonComponent.url(0, "track/123"),
            ButtonComponent.copy_code(1, "SAVE10"),
            ButtonComponent.flow(2, flow_token="t"),
            ButtonComponent.quick_reply(3, "stop"),
        ],
    )
    assert positional.to_graph()["template"] == {
        "name": "order_ready",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "Ada"}]},
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "#123"}, {"type": "text", "text": "Friday"}],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": "track/123"}],
            },
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": "1",
                "parameters": [{"type": "coupon_code", "coupon_code": "SAVE10"}],
            },
            {
                "type": "button",
                "sub_type": "flow",
                "index": "2",
                "parameters": [{"type": "action", "action": {"flow_token": "t"}}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "3",
                "parameters": [{"type": "payload", "payload": "stop"}],
            },
        ],
    }
    named = Template("welcome", language="en", body={"first_name": "Ada", "order_id": "7"})
    assert named.to_graph()["template"]["components"] == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "parameter_name": "first_name", "text": "Ada"},
                {"type": "text", "parameter_name": "order_id", "text": "7"},
            ],
        }
    ]
    media = Template("receipt", "en", header=ImageParameter(image=MediaSource(id="123")))
    assert media.to_graph()["template"]["components"][0] == {
        "type": "header",
        "parameters": [{"type": "image", "image": {"id": "123"}}],
    }


def test_template_component_rules() -> None:
    base = {"name": "t", "language": {"code": "en"}}
    comps = [
        {
            "type": "button",
            "sub_type": "QUICK_REPLY",
            "index": 0,
            "parameters": [{"type": "payload", "payload": "p"}],
        }
    ]
    parsed = parse(body("template", base | {"components": comps}))
    assert parsed.to_graph()["template"]["components"][0]["sub_type"] == "quick_reply"
    assert parsed.to_graph()["template"]["components"][0]["index"] == "0"
    cases = [
        (
            [{"type": "button", "sub_type": "teleport", "index": "0", "parameters": []}],
            "template.components[0].sub_type",
        ),
        (
            [{"type": "button", "sub_type": "url", "index": True, "parameters": []}],
            "template.components[0].index",
        ),
        (
            [{"type": "button", "sub_type": "url", "index": "a", "parameters": []}],
            "template.components[0].index",
        ),
        (
            [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "a", "parameter_name": "x"},
                        {"type": "text", "text": "b"},
                    ],
                }
            ],
            "template.components[0].parameters",
        ),
        (
            [{"type": "body", "parameters": [{"type": "image", "image": {"id": "1"}}]}],
            "template.components[0].parameters[0].type",
        ),
        ([{"type": "footer", "parameters": []}], "template.components[0].type"),
        (
            [{"type": "header", "parameters": [{"type": "document", "document": {"link": "nope"}}]}],
            "template.components[0].parameters[0].document.link",
        ),
    ]
    for components, field in cases:
        refused(body("template", base | {"components": components}), field)


def test_template_carousel_and_limited_time_offer_round_trip() -> None:
    template = {
        "name": "summer",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "limited_time_offer",
                "parameters": [
                    {
                        "type": "limited_time_offer",
                        "limited_time_offer": {"expiration_time_ms": 1767225600000},
                    }
                ],
            },
            {
                "type": "carousel",
                "cards": [
                    {
                        "card_index": i,
                        "components": [
                            {"type": "header", "parameters": [{"type": "video", "video": {"id": f"v{i}"}}]},
                            {
                                "type": "button",
                                "sub_type": "quick_reply",
                                "index": "0",
                                "parameters": [{"type": "payload", "payload": f"card{i}"}],
                            },
                        ],
                    }
                    for i in range(3)
                ],
            },
        ],
    }
    request = parse(body("template", template))
    assert request.to_graph()["template"] == template
    refused(
        body(
            "template",
            template
            | {
                "components": [
                    {
                        "type": "carousel",
                        "cards": [{"card_index": 0, "components": []}, {"card_index": 0, "components": []}],
                    }
                ]
            },
        ),
        "template.components[0].cards[1].card_index",
    )


# --- parse() rules ---------------------------------------------------------------------------------


def test_parse_infers_a_missing_type_from_the_content_key() -> None:
    request = parse({"messaging_product": "whatsapp", "to": TO, "image": {"id": "1"}})
    assert request.message == Image(id="1")
    assert request.to_graph()["type"] == "image"
    refused({"messaging_product": "whatsapp", "to": TO, "image": {"id": "1"}, "text": {"body": "x"}}, "type")
    refused({"messaging_product": "whatsapp", "to": TO}, "type")


def test_parse_envelope_errors() -> None:
    good = body("text", {"body": "hi"})
    refused(good | {"messaging_product": "sms"}, "messaging_product")
    refused({k: v for k, v in good.items() if k != "messaging_product"}, "messaging_product")
    refused({k: v for k, v in good.items() if k != "to"}, "to")
    refused(good | {"to": 16505551234}, "to")
    refused(good | {"to": "call me"}, "to")
    refused(good | {"recipient_type": "broadcast"}, "recipient_type")
    refused(good | {"image": {"id": "1"}}, "image")
    refused(good | {"colour": "red"}, "colour")
    refused(good | {"type": "fax"}, "type")
    refused(good | {"type": "image"}, "text")  # the text object does not belong in an image message
    refused(good | {"context": "wamid"}, "context")
    refused(good | {"context": {}}, "context.message_id")
    refused(good | {"context": {"message_id": "w", "from": "x"}}, "context.from")
    refused(good | {"status": "read"}, "status")
    refused(good | {"text": {"body": "hi", "preview_url": "yes"}}, "text.preview_url")
    refused(good | {"text": {"body": "hi", "bold": True}}, "text.bold")
    refused(good | {"text": "hi"}, "text")
    refused("not a body", "body")
    refused(None, "body")


def test_parse_interactive_errors() -> None:
    buttons = {
        "type": "button",
        "body": {"text": "b"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
    }
    assert parse(body("interactive", buttons)).to_graph()["interactive"] == buttons
    refused(body("interactive", buttons | {"type": "hologram"}), "interactive.type")
    refused(body("interactive", {k: v for k, v in buttons.items() if k != "type"}), "interactive.type")
    refused(body("interactive", ["x"]), "interactive")
    refused(
        body("interactive", buttons | {"header": {"type": "image", "text": "x"}}), "interactive.header.image"
    )
    refused(
        body("interactive", buttons | {"header": {"type": "text", "text": "x", "video": {"id": "1"}}}),
        "interactive.header.video",
    )
    refused(
        body(
            "interactive",
            buttons | {"action": {"buttons": [{"type": "url", "reply": {"id": "a", "title": "A"}}]}},
        ),
        "interactive.action.buttons[0].type",
    )
    refused(body("interactive", {k: v for k, v in buttons.items() if k != "body"}), "interactive.body")


def test_parse_contacts_and_location() -> None:
    card = {"name": {"formatted_name": "Ada"}, "birthday": "1815-12-10"}
    assert parse(body("contacts", [card])).message == Contacts(
        contacts=[Contact(name="Ada", birthday="1815-12-10")]
    )
    refused(body("contacts", [card | {"birthday": "10/12/1815"}]), "contacts[0].birthday")
    refused(body("contacts", [card | {"phones": [{"type": "CELL"}]}]), "contacts[0].phones[0].phone")
    refused(body("contacts", {"name": "Ada"}), "contacts")
    # The spec types coordinates as strings, its examples as numbers: both parse, numbers go out.
    located = parse(body("location", {"latitude": "37.5", "longitude": -122}))
    assert located.message == Location(latitude=37.5, longitude=-122.0)
    assert located.to_graph()["location"] == {"latitude": 37.5, "longitude": -122.0}
    refused(body("location", {"latitude": "north", "longitude": 0}), "location.latitude")
    refused(body("location", {"latitude": 1}), "location.longitude")


def test_parse_message_alone() -> None:
    assert parse_message("document", {"id": "1", "filename": "a.pdf"}) == Document(id="1", filename="a.pdf")
    with pytest.raises(ValidationError) as info:
        parse_message("fax", {})
    assert info.value.field == "type"


def test_errors_say_field_size_and_limit() -> None:
    with pytest.raises(ValidationError) as info:
        Text("x" * 4097)
    assert str(info.value) == "text.body: is too long: at most 4096 characters (size 4097, limit 4096)"
    assert isinstance(info.value, ValueError)  # ours subclasses ValueError, never pydantic's error


def test_models_are_immutable_and_copies_are_checked() -> None:
    text = Text("hi")
    with pytest.raises(pydantic.ValidationError):
        text.body = "changed"  # type: ignore[misc]
    assert text.model_copy(update={"body": "bye"}) == Text("bye")
    with pytest.raises(ValidationError) as info:
        text.model_copy(update={"body": "x" * 4097})
    assert info.value.field == "text.body"


def test_constructor_shortcuts_are_not_accepted_in_raw_bodies() -> None:
    # Shortcuts such as body="text" are for Python callers; a raw body must be in the Graph format.
    buttons = {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]}
    refused(body("interactive", {"type": "button", "body": "hi", "action": buttons}), "interactive.body")
    refused(body("interactive", {"type": "button", "body": {"text": "hi"}, "action": buttons, "buttons": []}),
            "interactive.buttons")
    refused(body("interactive", {"type": "button", "body": {"text": "hi"},
                                 "action": {"buttons": [{"id": "a", "title": "A"}]}}),
            "interactive.action.buttons[0].reply")
    refused(body("template", {"name": "t", "language": "en"}), "template.language")
    refused(body("template", {"name": "t", "language": {"code": "en"}, "body": ["x"]}), "template.body")
    refused(body("contacts", [{"name": "Ada"}]), "contacts[0].name")
    refused(body("interactive", {"type": "product_list", "header": {"type": "text", "text": "h"},
                                 "body": {"text": "b"},
                                 "action": {"catalog_id": "c", "sections": [{"product_items": ["sku"]}]}}),
            "interactive.action.sections[0].product_items[0]")
    # The same shortcuts keep working in Python.
    assert ReplyButtons(body="hi", buttons=[("a", "A")]).body is not None
    assert Contacts(contacts=[{"name": "Ada"}]).contacts[0].name.formatted_name == "Ada"


@pytest.mark.parametrize(("text", "why"), [("a\ud800b", "surrogate"), ("\udfff", "surrogate"), ("a\x00b", "NUL")])
def test_text_that_cannot_be_encoded_or_stored_is_refused_with_its_path(text: str, why: str) -> None:
    # A lone surrogate cannot be encoded as UTF-8 (the request would fail mid-send) and PostgreSQL's
    # text type refuses NUL: both are refused where the message is built, naming the field.
    for built in (lambda: Text(text), lambda: SendRequest("+16505551234", Text(text))):
        with pytest.raises(ValidationError) as info:
            built()
        assert info.value.field == "text.body" and why in info.value.reason
    err = refused(body("text", {"body": text}), "text.body")
    assert why in err.reason
    replies = [{"type": "reply", "reply": {"id": "a", "title": "ok"}},
               {"type": "reply", "reply": {"id": "b", "title": text}}]
    buttons = {"type": "button", "body": {"text": "pick"}, "action": {"buttons": replies}}
    refused(body("interactive", buttons), "interactive.action.buttons[1].reply.title")
    refused(body("text", {"body": "hi"}) | {"to": f"+1650555{text}"}, "to")
    refused(body("text", {"body": "hi"}) | {"biz_opaque_callback_data": text}, "biz_opaque_callback_data")
    assert Text("emoji 😀 and accents é").body == "emoji 😀 and accents é"


def test_a_group_send_needs_a_group_id_not_a_phone_number() -> None:
    for to in ("+16505551234", "16505551234", "(650) 555-1234"):
        with pytest.raises(ValidationError) as info:
            SendRequest(to, Text("hi"), recipient_type="group")
        assert info.value.field == "to" and "group id" in info.value.reason
        refused(body("text", {"body": "hi"}) | {"to": to, "recipient_type": "group"}, "to")
    assert SendRequest("120363025246125486@g.us", Text("hi"), recipient_type="group").to == "120363025246125486@g.us"
