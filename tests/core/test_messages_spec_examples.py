"""Every ``sendMessage`` request example in Meta's OpenAPI spec, parsed and built with our models.

The spec's examples are rough in places, so each is first made honest by :func:`clean`, which records
what it changed and why:

- ``to`` placeholders (``{{Recipient-Phone-Number}}``, ``{{Recipient-WA-Phone-Number}}``) become a real
  number;
- media ``link`` placeholders (``<http(s)://audio-url>``, ``http(s)://image-url``) become an https URL;
- template names that break Meta's own rule ``^[a-z0-9_]+$`` (``template-name``, ``<TEMPLATE_NAME>``)
  are lower-cased with other characters turned into ``_``;
- the multi-product header type placeholder ``<HEADER_TYPE>`` becomes ``text`` (the only type allowed);
- "Send Sample Issue Resolution Template" sends JSON booleans as text parameters; they become the
  strings ``"true"``/``"false"`` (a text parameter is a string in the spec).

The raw example must fail ``parse`` exactly at one of the changed fields, which shows that the
cleaning is needed and that nothing else in the example is refused.

``to_graph()`` is then compared with the cleaned body after :func:`normalise`, which only adds what
our output always states: ``recipient_type`` ("individual", Meta's default), the ``type`` of two
examples that leave it out ("Send Text Message with Preview URL"; "Send Reply to List Message", where
Meta would assume ``text``), and template button ``index`` as a string / ``sub_type`` lower-case (two
examples send ``0`` and ``"CATALOG"``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest

from wacloud.errors import ValidationError
from wacloud.messages import (
    Address,
    Amount,
    Audio,
    Body,
    ButtonComponent,
    Catalog,
    Contact,
    Contacts,
    Currency,
    CurrencyParameter,
    DateTime,
    DateTimeParameter,
    Document,
    Email,
    FlowMessage,
    Footer,
    Header,
    Image,
    ImageParameter,
    Language,
    ListMessage,
    Location,
    MarkRead,
    MediaSource,
    Name,
    OrderDetails,
    OrderStatus,
    Org,
    Phone,
    Product,
    ProductList,
    ProductSection,
    Reaction,
    ReplyButtons,
    Row,
    Section,
    SendRequest,
    Sticker,
    Template,
    Text,
    TextParameter,
    Url,
    Video,
    parse,
    parse_any,
    parse_mark_read,
)
from wacloud.messages.commerce import (
    OrderDetailsAction,
    OrderDetailsParameters,
    OrderStatusAction,
    OrderStatusParameters,
)

TO = "+16505551234"
LINK = "https://example.com/media"
PREV = "<MSGID_OF_PREV_MSG>"
REPLYING = "<MSGID_OF_MSG_YOU_ARE_REPLYING_TO>"
TO_PLACEHOLDERS = {"{{Recipient-Phone-Number}}", "{{Recipient-WA-Phone-Number}}"}
MARK_READ_EXAMPLE = "Send typing indicator and read receipt"
KINDS = ("text", "image", "video", "audio", "document", "sticker", "location", "contacts", "reaction",
         "interactive", "template")


def _path(*parts: str | int) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def clean(example: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The example with its placeholders replaced, and the paths (as our errors name them) changed."""
    body = copy.deepcopy(example)
    changed: set[str] = set()
    if body.get("to") in TO_PLACEHOLDERS:
        body["to"] = TO
        changed.add("to")

    def walk(node: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                here = (*path, key)
                if key == "link" and isinstance(value, str) and not re.match(r"^https?://", value):
                    node[key] = LINK
                    changed.add(_path(*here))
                elif key == "type" and value == "<HEADER_TYPE>":
                    node[key] = "text"
                    changed.add(_path(*here))
                elif key == "text" and isinstance(value, bool):
                    node[key] = "true" if value else "false"
                    changed.add(_path(*here))
                else:
                    walk(value, here)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*path, i))

    walk({k: v for k, v in body.items() if k in KINDS}, ())
    template = body.get("template")
    if isinstance(template, dict) and not re.match(r"^[a-z0-9_]+$", template["name"]):
        template["name"] = re.sub(r"[^a-z0-9_]", "_", template["name"].lower()).strip("_")
        changed.add("template.name")
    return body, changed


def normalise(body: dict[str, Any]) -> dict[str, Any]:
    """The cleaned body with what our output always states added (see the module docstring)."""
    out = copy.deepcopy(body)
    out.setdefault("recipient_type", "individual")
    if "type" not in out:
        out["type"] = next(k for k in KINDS if k in out)
    if out["type"] == "template":
        for component in out["template"].get("components", []):
            if component["type"] == "button":
                component["index"] = str(component["index"])
                component["sub_type"] = component["sub_type"].lower()
    return out


# --- The same messages built with the models ------------------------------------------------------


def card() -> Contact:
    return Contact(
        name=Name(formatted_name="John Smith", first_name="John", last_name="Smith", middle_name="D.",
                  prefix="Dr", suffix="Jr"),
        addresses=[
            Address(street="1 Hacker Way", city="Menlo Park", state="CA", zip="94025",
                    country="United States", country_code="us", type="HOME"),
            Address(street="200 Jefferson Dr", city="Menlo Park", state="CA", zip="94025",
                    country="United States", country_code="us", type="WORK"),
        ],
        birthday="2012-08-18",
        emails=[Email(email="test@fb.com", type="WORK"), Email(email="test@whatsapp.com", type="HOME")],
        org=Org(company="WhatsApp", department="Design", title="Manager"),
        phones=[Phone(phone="+1 (940) 555-1234", type="HOME"),
                Phone(phone="+1 (650) 555-1234", type="WORK", wa_id="16505551234")],
        urls=[Url(url="https://www.facebook.com", type="WORK"),
              Url(url="https://www.whatsapp.com", type="HOME")],
    )


def spec_list() -> ListMessage:
    sections = [
        Section(title=f"<LIST_SECTION_{s}_TITLE>", rows=[
            Row(id=f"<LIST_SECTION_{s}_ROW_{r}_ID>", title=f"<SECTION_{s}_ROW_{r}_TITLE>",
                description=f"<SECTION_{s}_ROW_{r}_DESC>")
            for r in (1, 2)
        ])
        for s in (1, 2)
    ]
    return ListMessage(header="<HEADER_TEXT>", body="<BODY_TEXT>", footer="<FOOTER_TEXT>",
                       button="<BUTTON_TEXT>", sections=sections)


def rich_body() -> list[Any]:
    return [
        "text-string",
        CurrencyParameter(currency=Currency(fallback_value="$100.99", code="USD", amount_1000=100990)),
        DateTimeParameter(date_time=DateTime(fallback_value="February 25, 1977", calendar="GREGORIAN",
                                             year=1977, month=2, day_of_month=25, day_of_week=5, hour=15,
                                             minute=33)),
    ]


def flow(*, draft: bool, by_name: bool) -> FlowMessage:
    text = "Not shown in draft mode"
    ids = {"flow_name": "{{Flow-Name}}"} if by_name else {"flow_id": "{{Flow-ID}}"}
    return FlowMessage(
        header=text if draft else "<HEADER_TEXT>", body=text if draft else "<BODY_TEXT>",
        footer=text if draft else "<FOOTER_TEXT>", flow_cta=text if draft else "Open Flow!",
        flow_token="<FLOW_TOKEN>", mode="draft" if draft else None, flow_action="navigate",
        screen="<SCREEN_ID>", data={"<CUSTOM_KEY>": "<CUSTOM_VALUE>"}, **ids,
    )


def meta_hq() -> Location:
    return Location(latitude=37.758056, longitude=-122.425332, name="META HQ",
                    address="1 Hacker Way, Menlo Park, CA 94025")


def send(message: Any, *, to: str = TO, reply_to: str | None = None) -> SendRequest:
    return SendRequest(to, message, context_message_id=reply_to)


BUILDERS: dict[str, Callable[[], SendRequest]] = {
    "Send Audio Message by ID": lambda: send(Audio(id="<AUDIO_OBJECT_ID>")),
    "Send Audio Message by URL": lambda: send(Audio(link=LINK)),
    "Send Catalog Message": lambda: send(Catalog(
        body="Hello! Thanks for your interest. Ordering is easy. "
             "Just visit our catalog and add items to purchase.",
        footer="Best grocery deals on WhatsApp!", thumbnail_product_retailer_id="2lc20305pt")),
    "Send Catalog Template Message": lambda: send(Template(
        "intro_catalog_offer", "en_US", body=["100", "400", "3"],
        buttons=[ButtonComponent.catalog(0, thumbnail_product_retailer_id="2lc20305pt")])),
    "Send Contact Message": lambda: send(Contacts(contacts=[card()])),
    "Send Document Message by ID": lambda: send(Document(
        id="<DOCUMENT_OBJECT_ID>", caption="<DOCUMENT_CAPTION_TO_SEND>", filename="<DOCUMENT_FILENAME>")),
    "Send Document Message by URL": lambda: send(Document(link=LINK, caption="<DOCUMENT-CAPTION-TEXT>")),
    "Send Draft Flow by ID": lambda: send(flow(draft=True, by_name=False)),
    "Send Draft Flow by Name": lambda: send(flow(draft=True, by_name=True)),
    "Send Flow Template Message": lambda: send(Template(
        "template_name", "en_US",
        buttons=[ButtonComponent.flow(0, flow_token="<FLOW_TOKEN>",
                                      flow_action_data={"<CUSTOM_KEY>": "<CUSTOM_VALUE>"})])),
    "Send Image Message by ID": lambda: send(Image(id="<IMAGE_OBJECT_ID>")),
    "Send Image Message by URL": lambda: send(Image(link=LINK)),
    "Send List Message": lambda: send(spec_list()),
    "Send Location Message": lambda: send(meta_hq()),
    "Send Message Template Interactive": lambda: send(Template(
        "template_name", "language-and-locale-code",
        header=ImageParameter(image=MediaSource(link=LINK)), body=rich_body(),
        buttons=[ButtonComponent.quick_reply(0, "aGlzIHRoaXMgaXMgY29v"),
                 ButtonComponent.quick_reply(1, "9rwnB8RbYmPF5t2Mn09x4h")])),
    "Send Message Template Media": lambda: send(Template(
        "template_name", "language-and-locale-code", header=ImageParameter(image=MediaSource(link=LINK)),
        body=rich_body())),
    "Send Message Template Text": lambda: send(Template(
        "template_name", "language-and-locale-code", body=rich_body())),
    "Send Multi-Product Message": lambda: send(ProductList(
        header="<YOUR_TEXT_HEADER_CONTENT>", body="<YOUR_TEXT_BODY_CONTENT>",
        footer="<YOUR_TEXT_FOOTER_CONTENT>",
        catalog_id="146265584024623",
        sections=[ProductSection(title=f"<SECTION{n}_TITLE>",
                                 product_items=[f"<YOUR_PRODUCT{n}_SKU_IN_CATALOG>",
                                                f"<YOUR_SECOND_PRODUCT{n}_SKU_IN_CATALOG>"])
                  for n in (1, 2)])),
    "Send Order Details Message": lambda: send(OrderDetails(
        header=Header.media("image", link="https://upload.wikimedia.org/wikipedia/commons/thumb/3/3b/"
                                          "Home_made_sour_dough_bread.jpg/640px-Home_made_sour_dough_bread.jpg"),
        body=Body(text="your-text-body-content"), footer=Footer(text="your-text-footer-content"),
        action=OrderDetailsAction(parameters=OrderDetailsParameters(
            reference_id="unique-reference-id", type="digital-goods", payment_type="upi",
            payment_configuration="my-payment-config-name", currency="INR",
            total_amount=Amount(value=1100, offset=100),
            order={
                "status": "pending",
                "items": [{"retailer_id": "1234567", "name": "bread", "quantity": 1,
                           "amount": {"value": 1500, "offset": 100},
                           "sale_amount": {"value": 1000, "offset": 100}}],
                "subtotal": {"value": 1000, "offset": 100},
                "tax": {"value": 100, "offset": 100, "description": "optional_text"},
                "shipping": {"value": 100, "offset": 100, "description": "optional_text"},
                "discount": {"value": 100, "offset": 100, "description": "optional_text",
                             "discount_program_name": "optional_text"},
            })))),
    "Send Order Status Message": lambda: send(OrderStatus(
        body=Body(text="your-text-body-content"),
        action=OrderStatusAction(parameters=OrderStatusParameters(
            reference_id="unique-reference-id-from-order-details-msg",
            order={"status": "processing", "description": "optional-text"})))),
    "Send Published Flow by ID": lambda: send(flow(draft=False, by_name=False)),
    "Send Published Flow by Name": lambda: send(flow(draft=False, by_name=True)),
    "Send Reply Button": lambda: send(ReplyButtons(
        body="<BUTTON_TEXT>",
        buttons=[("<UNIQUE_BUTTON_ID_1>", "<BUTTON_TITLE_1>"),
                 ("<UNIQUE_BUTTON_ID_2>", "<BUTTON_TITLE_2>")])),
    "Send Reply to Audio Message by ID": lambda: send(Audio(id="<AUDIO_OBJECT_ID>"), reply_to=REPLYING),
    "Send Reply to Audio Message by URL": lambda: send(Audio(link=LINK), reply_to=REPLYING),
    "Send Reply to Contact Message": lambda: send(Contacts(contacts=[card()]), reply_to=PREV),
    "Send Reply to Document Message by ID": lambda: send(Document(
        id="<DOCUMENT_OBJECT_ID>", caption="<DOCUMENT_CAPTION_TO_SEND>", filename="<DOCUMENT_FILENAME>"),
        reply_to=REPLYING),
    "Send Reply to Document Message by URL": lambda: send(
        Document(link=LINK, caption="<DOCUMENT_CAPTION_TEXT>"), reply_to=REPLYING),
    "Send Reply to Image Message by ID": lambda: send(Image(id="<IMAGE_OBJECT_ID>"), reply_to=PREV),
    "Send Reply to Image Message by URL": lambda: send(Image(link=LINK), reply_to=PREV),
    "Send Reply to List Message": lambda: send(spec_list(), reply_to=PREV),
    "Send Reply to Location Message": lambda: send(meta_hq(), reply_to=PREV),
    "Send Reply to Sticker Message by ID": lambda: send(Sticker(id="<MEDIA_OBJECT_ID>"), reply_to=REPLYING),
    "Send Reply to Sticker Message by URL": lambda: send(Sticker(link=LINK), reply_to=REPLYING),
    "Send Reply to Text Message": lambda: send(Text("<TEXT_MSG_CONTENT>", preview_url=False), reply_to=PREV),
    "Send Reply to Video Message by ID": lambda: send(
        Video(id="<VIDEO_OBJECT_ID>", caption="<VIDEO_CAPTION_TEXT>"), reply_to=REPLYING),
    "Send Reply to Video Message by URL": lambda: send(
        Video(link=LINK, caption="<VIDEO_CAPTION_TEXT>"), reply_to=REPLYING),
    "Send Reply with Reaction Message": lambda: send(Reaction(message_id="wamid.HBgLM...", emoji="😀")),
    "Send Sample Issue Resolution Template": lambda: send(Template(
        "sample_issue_resolution", Language(code="en_US", policy="deterministic"), body=["*Mr. Jones*"],
        buttons=[ButtonComponent(sub_type="quick_reply", index=str(i), parameters=[TextParameter(text=text)])
                 for i, text in enumerate(("true", "false"))])),
    "Send Sample Shipping Confirmation Template": lambda: send(Template(
        "template_name", "language-and-locale-code", body=rich_body()), to="16315555555"),
    "Send Sample Text Message": lambda: send(Template(
        "template_name", "language-and-locale-code", body=rich_body()), to="16315555555"),
    "Send Single Product Message": lambda: send(Product(
        catalog_id="367025965434465", product_retailer_id="<ID_TEST_ITEM_1>", body="<OPTIONAL_BODY_TEXT>",
        footer="<OPTIONAL_FOOTER_TEXT>")),
    "Send Sticker Message by ID": lambda: send(Sticker(id="<MEDIA_OBJECT_ID>")),
    "Send Sticker Message by URL": lambda: send(Sticker(link=LINK)),
    "Send Test Message": lambda: send(Template("hello_world", "en_US")),
    "Send Text Message": lambda: send(Text("text-message-content", preview_url=False)),
    "Send Text Message with Preview URL": lambda: send(
        Text("Please visit https://youtu.be/hpltvTEiRrY.", preview_url=True)),
    "Send Video Message by ID": lambda: send(Video(id="<VIDEO_OBJECT_ID>", caption="<VIDEO_CAPTION_TEXT>")),
    "Send Video Message by URL": lambda: send(Video(link=LINK, caption="<VIDEO_CAPTION_TEXT>")),
}


@pytest.fixture(scope="module")
def examples(openapi_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    operation = openapi_spec["paths"]["/{Version}/{Phone-Number-ID}/messages"]["post"]  # type: ignore[index]
    assert operation["operationId"] == "sendMessage"
    found = operation["requestBody"]["content"]["application/json"]["examples"]
    return {name: example["value"] for name, example in found.items()}


def test_every_example_is_covered(examples: dict[str, dict[str, Any]]) -> None:
    assert len(examples) == 50
    assert set(examples) == set(BUILDERS) | {MARK_READ_EXAMPLE}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_example_parses_and_is_built_by_the_models(examples: dict[str, dict[str, Any]], name: str) -> None:
    body, _ = clean(examples[name])
    expected = normalise(body)

    parsed = parse(copy.deepcopy(body))
    assert parsed.to_graph() == expected

    built = BUILDERS[name]()
    assert built.to_graph() == expected
    assert built == parsed
    # Our own output parses back to the same thing.
    assert parse(built.to_graph()) == built


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_raw_example_fails_only_where_cleaned(examples: dict[str, dict[str, Any]], name: str) -> None:
    raw = examples[name]
    _, changed = clean(raw)
    if not changed:
        assert parse(raw).to_graph() == normalise(raw)
        return
    with pytest.raises(ValidationError) as info:
        parse(raw)
    assert info.value.field in changed


def test_mark_read_with_typing_example(examples: dict[str, dict[str, Any]]) -> None:
    raw = examples[MARK_READ_EXAMPLE]
    built = MarkRead("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA=", typing=True)
    assert parse_mark_read(raw) == built
    assert parse_any(raw) == built
    assert built.to_graph() == raw
    with pytest.raises(ValidationError) as info:
        parse(raw)
    assert info.value.field == "status"
