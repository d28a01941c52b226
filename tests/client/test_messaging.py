"""MessagingApi on Client and AsyncClient, against the sandbox over real HTTP; invalid calls never leave."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud import errors
from wacloud.client.models import SentMessage
from wacloud.messages import Contact, Image, Name, Phone, Row, Section, Text
from wacloud.phone import is_same_user, normalize

from .conftest import Api, FakeGraph, Live, no_network

TO = "+1 809-123-4567"
E164 = "+18091234567"
WA_ID = "18091234567"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PDF = b"%PDF-1.7\n" + b"%" * 5000

WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 100
#: Placeholder for "an uploaded media id of the right kind" in the table below.
MEDIA = "<media>"
FILES = {"send_image": (PNG, "image/png"), "send_video": (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
                                                       "video/mp4"),
         "send_audio": (b"ID3" + b"\x00" * 64, "audio/mpeg"), "send_sticker": (WEBP, "image/webp")}

ORDER_READY = {"name": "order_ready", "language": "es", "category": "UTILITY",
               "components": [{"type": "BODY", "text": "Hola {{1}}, tu pedido {{2}} está listo.",
                               "example": {"body_text": [["Ada", "#12"]]}}]}


async def prepare(live: Live, method: str, args: tuple[Any, ...],
                  content: Any) -> tuple[tuple[Any, ...], Any]:
    """Upload the file a media send needs and put its id where the table says ``MEDIA``."""
    live.sandbox.put_template(ORDER_READY)
    if MEDIA not in args:
        return args, content
    media_id = await live.call("upload", *FILES[method])
    return tuple(media_id if a == MEDIA else a for a in args), {**content, "id": media_id}


def envelope(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    """The body the Cloud API expects for a send of ``kind``."""
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": E164, "type": kind,
            kind: content, **extra}


#: (method, positional args after ``to``, keyword args, expected ``type``, expected content)
SENDS: list[tuple[str, tuple[Any, ...], dict[str, Any], str, Any]] = [
    ("send_text", ("hello",), {}, "text", {"body": "hello"}),
    ("send_text", ("see https://example.com",), {"preview_url": True}, "text",
     {"body": "see https://example.com", "preview_url": True}),
    ("send_image", (MEDIA,), {"caption": "look"}, "image", {"id": MEDIA, "caption": "look"}),
    ("send_image", (), {"link": "https://example.com/a.jpg"}, "image", {"link": "https://example.com/a.jpg"}),
    ("send_video", (MEDIA,), {"caption": "clip"}, "video", {"id": MEDIA, "caption": "clip"}),
    ("send_audio", (MEDIA,), {}, "audio", {"id": MEDIA}),
    ("send_document", (), {"link": "https://example.com/r.pdf", "filename": "r.pdf", "caption": "report"},
     "document", {"link": "https://example.com/r.pdf", "filename": "r.pdf", "caption": "report"}),
    ("send_sticker", (MEDIA,), {}, "sticker", {"id": MEDIA}),
    ("send_location", (18.47, -69.9), {"name": "Zona Colonial", "address": "Santo Domingo"}, "location",
     {"latitude": 18.47, "longitude": -69.9, "name": "Zona Colonial", "address": "Santo Domingo"}),
    ("send_contacts", (["Ada Lovelace"],), {}, "contacts", [{"name": {"formatted_name": "Ada Lovelace"}}]),
    ("send_buttons", ("Pick one", [("yes", "Yes"), ("no", "No")]), {"header": "Q", "footer": "F"},
     "interactive",
     {"type": "button", "header": {"type": "text", "text": "Q"}, "body": {"text": "Pick one"},
      "footer": {"text": "F"},
      "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                             {"type": "reply", "reply": {"id": "no", "title": "No"}}]}}),
    ("send_list", ("Menu", "Open", [{"title": "Food", "rows": [{"id": "r1", "title": "Rice"}]}]), {},
     "interactive",
     {"type": "list", "body": {"text": "Menu"},
      "action": {"button": "Open",
                 "sections": [{"title": "Food", "rows": [{"id": "r1", "title": "Rice"}]}]}}),
    ("send_cta_url", ("Our site", "Visit", "https://example.com"), {}, "interactive",
     {"type": "cta_url", "body": {"text": "Our site"},
      "action": {"name": "cta_url", "parameters": {"display_text": "Visit", "url": "https://example.com"}}}),
    ("send_location_request", ("Where are you?",), {}, "interactive",
     {"type": "location_request_message", "body": {"text": "Where are you?"},
      "action": {"name": "send_location"}}),
    ("send_flow", ("Book now", "Book"), {"flow_id": "1234", "flow_token": "tok", "screen": "START"},
     "interactive",
     {"type": "flow", "body": {"text": "Book now"},
      "action": {"name": "flow", "parameters": {"flow_message_version": "3", "flow_id": "1234",
                                                "flow_cta": "Book", "flow_token": "tok",
                                                "flow_action_payload": {"screen": "START"}}}}),
    ("send_template", ("hello_world",), {}, "template",
     {"name": "hello_world", "language": {"code": "en_US"}}),
    ("send_template", ("order_ready", "es"), {"body": ["Ada", "#12"]}, "template",
     {"name": "order_ready", "language": {"code": "es"},
      "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ada"},
                                                     {"type": "text", "text": "#12"}]}]}),
]
SEND_IDS = [f"{m}-{i}" for i, (m, *_rest) in enumerate(SENDS)]


@pytest.mark.parametrize(("method", "args", "kwargs", "kind", "content"), SENDS, ids=SEND_IDS)
async def test_each_send_reaches_the_sandbox_exactly(live: Live, method: str, args: tuple[Any, ...],
                                                     kwargs: dict[str, Any], kind: str, content: Any) -> None:
    args, content = await prepare(live, method, args, content)
    result = await live.call(method, TO, *args, **kwargs)
    assert isinstance(result, SentMessage)
    assert result.wamid.startswith("wamid.")
    assert (result.input, result.wa_id) == (E164, WA_ID)
    assert live.sandbox.message(result.wamid)["body"] == envelope(kind, content)
    if kind == "template":
        assert result.message_status == "accepted"


@pytest.mark.parametrize(("method", "args", "kwargs", "kind", "content"), SENDS, ids=SEND_IDS)
async def test_every_send_takes_reply_to_and_callback_data(live: Live, method: str, args: tuple[Any, ...],
                                                           kwargs: dict[str, Any], kind: str,
                                                           content: Any) -> None:
    args, content = await prepare(live, method, args, content)
    inbound = live.sandbox.inject(WA_ID, text="hi")["id"]
    result = await live.call(method, TO, *args, reply_to=inbound, biz_opaque_callback_data="order-17",
                             **kwargs)
    assert live.sandbox.message(result.wamid)["body"] == envelope(
        kind, content, context={"message_id": inbound}, biz_opaque_callback_data="order-17")


async def test_send_models_and_raw_bodies(live: Live) -> None:
    result = await live.call("send", TO, Text("typed"))
    assert live.sandbox.message(result.wamid)["body"] == envelope("text", {"body": "typed"})
    result = await live.call("send", "+52 1 55 1234 5678", Image(link="https://example.com/p.png"))
    assert (result.input, result.wa_id) == ("+525512345678", "5215512345678")
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234",
            "type": "text", "text": {"body": "raw", "preview_url": False}}
    result = await live.call("send_body", body)
    assert live.sandbox.message(result.wamid)["body"] == body
    assert [m["wa_id"] for m in live.sandbox.received("16505551234")] == ["16505551234"]


async def test_react_mark_read_and_typing_on_an_inbound_message(live: Live) -> None:
    inbound = live.sandbox.inject(WA_ID, text="hello business")["id"]
    assert await live.call("mark_as_read", inbound) is True
    assert await live.call("typing", inbound) is True
    reaction = await live.call("react", TO, inbound, "👍")
    assert live.sandbox.message(reaction.wamid)["body"]["reaction"] == {"message_id": inbound, "emoji": "👍"}
    removed = await live.call("unreact", TO, inbound)
    assert live.sandbox.message(removed.wamid)["body"]["reaction"] == {"message_id": inbound, "emoji": ""}


async def test_send_any_model_and_raw_components(live: Live) -> None:
    card = Contact(name=Name(formatted_name="Ada L", first_name="Ada"),
                   phones=[Phone(phone="+1 809 555 0101", type="CELL")])
    result = await live.call("send_contacts", TO, [card, {"name": {"formatted_name": "Bob"}}])
    assert live.sandbox.message(result.wamid)["body"]["contacts"] == [
        {"name": {"formatted_name": "Ada L", "first_name": "Ada"},
         "phones": [{"phone": "+1 809 555 0101", "type": "CELL"}]},
        {"name": {"formatted_name": "Bob"}},
    ]
    live.sandbox.put_template({"name": "welcome", "language": "en", "category": "MARKETING",
                               "parameter_format": "NAMED",
                               "components": [{"type": "BODY", "text": "Welcome {{name}}!",
                                               "example": {"body_text_named_params": [
                                                   {"param_name": "name", "example": "Ada"}]}}]})
    components = [{"type": "body", "parameters": [{"type": "text", "parameter_name": "name", "text": "Ada"}]}]
    result = await live.call("send_template", TO, "welcome", "en", components=components)
    assert live.sandbox.message(result.wamid)["body"]["template"]["components"] == components
    sections = [Section(title="A", rows=[Row(id="1", title="One")]),
                {"title": "B", "rows": [{"id": "2", "title": "Two", "description": "2nd"}]}]
    result = await live.call("send_list", TO, "Pick", "Menu", sections)
    sent = live.sandbox.message(result.wamid)["body"]["interactive"]["action"]["sections"]
    assert sent == [{"title": "A", "rows": [{"id": "1", "title": "One"}]},
                    {"title": "B", "rows": [{"id": "2", "title": "Two", "description": "2nd"}]}]


@pytest.mark.parametrize(
    ("typed", "region", "sent", "wa_id"),
    [
        ("+52 1 55 1234 5678", None, "+525512345678", "5215512345678"),  # Mexico: sent without the old 1
        ("5215512345678", None, "+525512345678", "5215512345678"),  # straight from a webhook's "from"
        ("+54 9 11 2345-6789", None, "+5491123456789", "5491123456789"),
        ("(809) 123 4567", "DO", E164, WA_ID),  # the client's default region
        ("18091234567", None, E164, WA_ID),
    ],
)
async def test_recipient_is_normalised(live: Live, typed: str, region: str | None, sent: str,
                                       wa_id: str) -> None:
    result = await live.call("send_text", typed, "hi", client=live.client(default_region=region))
    assert live.sandbox.message(result.wamid)["body"]["to"] == sent
    assert (result.input, result.wa_id) == (sent, wa_id)
    assert is_same_user(result.wa_id, typed, default_region=region)


async def test_recipient_as_phone_number(live: Live) -> None:
    result = await live.call("send_text", normalize("+5215512345678"), "hi")
    assert result.input == "+525512345678"


async def test_group_recipients_are_sent_as_given(api: Api, graph: FakeGraph) -> None:
    # The sandbox emulates one-to-one chats only, so the group body is checked on the wire.
    await api.call("send", "120363025246125244@g.us", Text("team"), recipient_type="group")
    body = graph.last_json()
    assert (body["recipient_type"], body["to"]) == ("group", "120363025246125244@g.us")


async def test_phone_number_id(live: Live) -> None:
    client = live.client(phone_number_id=None)
    with pytest.raises(errors.ValidationError) as info:
        await live.call("send_text", TO, "hi", client=client)
    assert info.value.field == "phone_number_id"
    pid = live.sandbox.phone_number_id
    result = await live.call("send_text", TO, "hi", client=client, phone_number_id=pid)
    assert result.wamid.startswith("wamid.")
    with pytest.raises(errors.WhatsAppError):  # the sandbox has no such number
        await live.call("send_text", TO, "hi", phone_number_id="999")


async def test_mark_as_read_and_typing_bodies(api: Api, graph: FakeGraph) -> None:
    # The exact mark-read bodies (the sandbox accepting them is checked in the live test above).
    assert await api.call("mark_as_read", "wamid.IN") is True
    assert graph.last_json() == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}
    assert await api.call("typing", "wamid.IN") is True
    assert graph.last_json() == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN",
                                 "typing_indicator": {"type": "text"}}


@pytest.mark.parametrize(
    "body",
    [
        {"messaging_product": "whatsapp", "to": "+16505551234", "type": "text", "text": {"body": "x" * 4097}},
        {"messaging_product": "whatsapp", "to": "+16505551234", "type": "text"},
        {"messaging_product": "whatsapp", "to": "+16505551234", "type": "nope", "nope": {}},
        {"to": "+16505551234", "type": "text", "text": {"body": "hi"}, "extra_field": 1},
        {},
    ],
)
async def test_send_body_rejects_invalid_bodies_locally(api: Api, body: dict[str, Any]) -> None:
    with pytest.raises(errors.ValidationError):
        await api.call("send_body", body, client=api.client(no_network))


async def test_send_body_needs_a_mapping(api: Api) -> None:
    with pytest.raises(errors.ValidationError) as info:
        await api.call("send_body", ["not", "a", "dict"], client=api.client(no_network))
    assert info.value.field == "body"


#: Calls that break a rule; none may reach the network.
INVALID: list[tuple[str, tuple[Any, ...], dict[str, Any], str]] = [
    ("send_text", (TO, "x" * 4097), {}, "text.body"),
    ("send_text", (TO, ""), {}, "text.body"),
    ("send_text", ("12", "hi"), {}, "to"),
    ("send_text", ("(809) 123 4567", "hi"), {}, "to"),  # no country code and no default region
    ("send_text", (TO, "hi"), {"biz_opaque_callback_data": "x" * 513}, "biz_opaque_callback_data"),
    ("send_image", (TO,), {}, "image"),  # neither id nor link
    ("send_image", (TO, "1"), {"link": "https://example.com/a.jpg"}, "image"),  # both
    ("send_image", (TO, "1"), {"caption": "c" * 1025}, "image.caption"),
    ("send_image", (TO,), {"link": "ftp://example.com/a.jpg"}, "image.link"),
    ("send_document", (TO, "1"), {"filename": "f" * 241}, "document.filename"),
    ("send_location", (TO, 91.0, 0.0), {}, "location.latitude"),
    ("send_contacts", (TO, []), {}, "contacts"),
    ("send_contacts", (TO, ["a", "b", "c", "d", "e", "f"]), {}, "contacts"),
    ("send_buttons", (TO, "b", [("1", "a"), ("2", "b"), ("3", "c"), ("4", "d")]), {}, "interactive.action"),
    ("send_buttons", (TO, "b", [("1", "t" * 21)]), {}, "interactive.action"),
    ("send_buttons", (TO, "b" * 1025, [("1", "a")]), {}, "interactive.body"),
    ("send_buttons", (TO, "b", [("1", "a")]), {"header": "h" * 61}, "interactive.header"),
    ("send_list", (TO, "b", "Open", [{"rows": [{"id": str(i), "title": "t"} for i in range(11)]}]), {},
     "interactive.action"),
    ("send_cta_url", (TO, "b", "d" * 21, "https://example.com"), {}, "interactive.action"),
    ("send_cta_url", (TO, "b", "Go", "not a url"), {}, "interactive.action"),
    ("send_flow", (TO, "b", "c" * 31), {"flow_id": "1"}, "interactive.action"),
    ("send_template", (TO, "Bad Name"), {}, "template.name"),
    ("react", (TO, "wamid.X", ""), {}, "reaction.emoji"),
    ("react", (TO, " ", "👍"), {}, "reaction.message_id"),
    ("mark_as_read", ("",), {}, "message_id"),
    ("send_text", (TO, "hi"), {"reply_to": " "}, "context_message_id"),
    ("send_text", (TO, "a\ud800b"), {}, "text.body"),  # a lone surrogate cannot be encoded as UTF-8
    ("send_text", (TO, "a\x00b"), {}, "text.body"),  # PostgreSQL refuses NUL, and no message needs one
    ("send", (TO, Text("hi")), {"recipient_type": "group"}, "to"),  # a phone number is no group id
    ("update_business_profile", (), {"about": "a\udc00b"}, "body"),  # no model: refused by the encoder
]


@pytest.mark.parametrize(("method", "args", "kwargs", "field"), INVALID,
                         ids=[f"{m}-{f}-{i}" for i, (m, _a, _k, f) in enumerate(INVALID)])
async def test_invalid_calls_never_reach_the_network(api: Api, method: str, args: tuple[Any, ...],
                                                     kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        await api.call(method, *args, client=api.client(no_network), **kwargs)
    assert info.value.field.startswith(field), info.value.field
