"""MessagingApi on Client and AsyncClient: exact request bodies, typed results, no invalid call sent."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud import errors
from wacloud.client.models import SentMessage
from wacloud.messages import Contact, Name, Phone, Row, Section, Text
from wacloud.phone import normalize

from .conftest import PHONE_ID, Api, FakeGraph, no_network

TO = "+1 809-123-4567"
E164 = "+18091234567"


def envelope(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    """The body the Cloud API expects for a send of ``kind``."""
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": E164, "type": kind,
            kind: content, **extra}


#: (method, positional args after ``to``, keyword args, expected ``type``, expected content)
SENDS: list[tuple[str, tuple[Any, ...], dict[str, Any], str, Any]] = [
    ("send_text", ("hello",), {}, "text", {"body": "hello"}),
    ("send_text", ("see https://example.com",), {"preview_url": True}, "text",
     {"body": "see https://example.com", "preview_url": True}),
    ("send_image", ("1234",), {"caption": "look"}, "image", {"id": "1234", "caption": "look"}),
    ("send_image", (), {"link": "https://example.com/a.jpg"}, "image", {"link": "https://example.com/a.jpg"}),
    ("send_video", ("55",), {"caption": "clip"}, "video", {"id": "55", "caption": "clip"}),
    ("send_audio", ("66",), {}, "audio", {"id": "66"}),
    ("send_document", (), {"link": "https://example.com/r.pdf", "filename": "r.pdf", "caption": "report"},
     "document", {"link": "https://example.com/r.pdf", "filename": "r.pdf", "caption": "report"}),
    ("send_sticker", ("77",), {}, "sticker", {"id": "77"}),
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
async def test_shortcut_sends_the_exact_body(api: Api, graph: FakeGraph, method: str, args: tuple[Any, ...],
                                             kwargs: dict[str, Any], kind: str, content: Any) -> None:
    result = await api.call(method, TO, *args, **kwargs)
    assert isinstance(result, SentMessage)
    assert result.wamid == "wamid.TEST1"
    assert (result.input, result.wa_id) == (E164, "18091234567")
    [request] = graph.requests
    assert request.method == "POST"
    assert request.url.path == f"/v25.0/{PHONE_ID}/messages"
    assert request.headers["content-type"] == "application/json"
    assert graph.last_json() == envelope(kind, content)


@pytest.mark.parametrize(("method", "args", "kwargs", "kind", "content"), SENDS, ids=SEND_IDS)
async def test_every_send_takes_reply_to_and_callback_data(api: Api, graph: FakeGraph, method: str,
                                                           args: tuple[Any, ...], kwargs: dict[str, Any],
                                                           kind: str, content: Any) -> None:
    await api.call(method, TO, *args, reply_to="wamid.ORIGINAL", biz_opaque_callback_data="order-17",
                   **kwargs)
    assert graph.last_json() == envelope(kind, content, context={"message_id": "wamid.ORIGINAL"},
                                         biz_opaque_callback_data="order-17")


async def test_template_result_carries_pacing_status(api: Api) -> None:
    result = await api.call("send_template", TO, "hello_world")
    assert result.message_status == "accepted"


async def test_send_any_model_and_raw_components(api: Api, graph: FakeGraph) -> None:
    card = Contact(name=Name(formatted_name="Ada L", first_name="Ada"),
                   phones=[Phone(phone="+1 809 555 0101", type="CELL")])
    await api.call("send_contacts", TO, [card, {"name": {"formatted_name": "Bob"}}])
    assert graph.last_json()["contacts"] == [
        {"name": {"formatted_name": "Ada L", "first_name": "Ada"}, "phones": [{"phone": "+1 809 555 0101",
                                                                               "type": "CELL"}]},
        {"name": {"formatted_name": "Bob"}},
    ]
    await api.call("send", TO, Text("hi"), reply_to="wamid.Q")
    assert graph.last_json() == envelope("text", {"body": "hi"}, context={"message_id": "wamid.Q"})
    components = [{"type": "body", "parameters": [{"type": "text", "parameter_name": "name", "text": "Ada"}]}]
    await api.call("send_template", TO, "welcome", "en", components=components)
    assert graph.last_json()["template"]["components"] == components
    sections = [Section(title="A", rows=[Row(id="1", title="One")]),
                {"title": "B", "rows": [{"id": "2", "title": "Two", "description": "2nd"}]}]
    await api.call("send_list", TO, "Pick", "Menu", sections)
    assert graph.last_json()["interactive"]["action"]["sections"][1]["rows"][0]["description"] == "2nd"


async def test_react_and_unreact(api: Api, graph: FakeGraph) -> None:
    result = await api.call("react", TO, "wamid.THEIRS", "👍")
    assert result.wamid.startswith("wamid.")
    assert graph.last_json() == envelope("reaction", {"message_id": "wamid.THEIRS", "emoji": "👍"})
    await api.call("unreact", TO, "wamid.THEIRS")
    assert graph.last_json() == envelope("reaction", {"message_id": "wamid.THEIRS", "emoji": ""})


async def test_mark_as_read_and_typing(api: Api, graph: FakeGraph) -> None:
    assert await api.call("mark_as_read", "wamid.IN") is True
    assert graph.last_json() == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}
    assert await api.call("typing", "wamid.IN") is True
    assert graph.last_json() == {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN",
                                 "typing_indicator": {"type": "text"}}
    assert await api.call("mark_as_read", "wamid.IN", typing=True) is True
    assert "typing_indicator" in graph.last_json()


async def test_send_body_validates_and_sends_the_raw_body(api: Api, graph: FakeGraph) -> None:
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234",
            "type": "text", "text": {"body": "raw", "preview_url": False}}
    result = await api.call("send_body", body)
    assert result.wamid == "wamid.TEST1"
    assert graph.last_json() == body


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


@pytest.mark.parametrize(
    ("typed", "region", "sent"),
    [
        ("+52 1 55 1234 5678", None, "+525512345678"),  # Mexico wa_id form: sent without the old 1
        ("5215512345678", None, "+525512345678"),  # straight from a webhook's "from"
        ("+54 9 11 2345-6789", None, "+5491123456789"),
        ("(809) 123 4567", "DO", "+18091234567"),  # the client's default region
        ("18091234567", None, "+18091234567"),
    ],
)
async def test_recipient_is_normalised(api: Api, graph: FakeGraph, typed: str, region: str | None,
                                       sent: str) -> None:
    await api.call("send_text", typed, "hi", client=api.client(default_region=region))
    assert graph.last_json()["to"] == sent


async def test_recipient_as_phone_number_and_group(api: Api, graph: FakeGraph) -> None:
    await api.call("send_text", normalize("+5215512345678"), "hi")
    assert graph.last_json()["to"] == "+525512345678"
    await api.call("send", "120363025246125244@g.us", Text("team"), recipient_type="group")
    body = graph.last_json()
    assert (body["recipient_type"], body["to"]) == ("group", "120363025246125244@g.us")


async def test_phone_number_id_per_call(api: Api, graph: FakeGraph) -> None:
    client = api.client(phone_number_id=None)
    with pytest.raises(errors.ValidationError) as info:
        await api.call("send_text", TO, "hi", client=client)
    assert info.value.field == "phone_number_id"
    assert graph.requests == []
    graph_other = FakeGraph()
    other = api.client(graph_other.handle, phone_number_id=None)
    with pytest.raises(errors.InvalidRequest):  # the fake answers 100 for an unknown phone id
        await api.call("send_text", TO, "hi", client=other, phone_number_id="999")
    assert graph_other.requests[0].url.path == "/v25.0/999/messages"


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
]


@pytest.mark.parametrize(("method", "args", "kwargs", "field"), INVALID,
                         ids=[f"{m}-{f}-{i}" for i, (m, _a, _k, f) in enumerate(INVALID)])
async def test_invalid_calls_never_reach_the_network(api: Api, method: str, args: tuple[Any, ...],
                                                     kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        await api.call(method, *args, client=api.client(no_network), **kwargs)
    assert info.value.field.startswith(field), info.value.field
