"""Every limit the message models enforce, at its boundary: fine at the limit, refused one past it.

Each case builds a message whose measured value is ``n`` and names the ``LIMITS`` key and the error
field; the refusal must carry that field, the measured size and the limit. The numbers come from
``wacloud.limits.LIMITS``, so the tests follow the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from wacloud.errors import ValidationError
from wacloud.limits import LIMITS
from wacloud.messages import (
    BodyComponent,
    ButtonComponent,
    Card,
    Contact,
    Contacts,
    CtaUrl,
    Document,
    FlowMessage,
    Header,
    Image,
    ListMessage,
    ProductList,
    ProductSection,
    ReplyButton,
    ReplyButtons,
    Row,
    Section,
    SendRequest,
    Template,
    Text,
    TextParameter,
    Video,
)


def s(n: int) -> str:
    return "x" * n


def buttons(n: int) -> list[tuple[str, str]]:
    return [(f"id{i}", f"title {i}") for i in range(n)]


def rows(n: int, prefix: str = "r") -> list[Row]:
    return [Row(id=f"{prefix}{i}", title=f"row {i}") for i in range(n)]


def a_list(**kw: Any) -> ListMessage:
    args: dict[str, Any] = {"body": "Pick", "button": "Menu", "sections": [Section(rows=rows(2))]}
    args.update(kw)
    return ListMessage(**args)


def a_product_list(sections: list[ProductSection]) -> ProductList:
    return ProductList(header="Shop", body="Our picks", catalog_id="cat1", sections=sections)


def flow(**kw: Any) -> FlowMessage:
    return FlowMessage(**{"body": "Sign up", "flow_cta": "Open", "flow_id": "123", **kw})


@dataclass(frozen=True)
class Case:
    name: str
    key: str  # the LIMITS key
    field: str  # the error's field
    build: Callable[[int], object]  # a message whose measured value is n
    side: str = "max"  # "max": n = max ok, max+1 fails; "min": n = min ok, min-1 fails


CASES = [
    Case("text body", "text.body", "text.body", lambda n: Text(s(n))),
    Case("text body empty", "text.body", "text.body", lambda n: Text(s(n)), "min"),
    Case("image caption", "caption", "image.caption", lambda n: Image(id="1", caption=s(n))),
    Case("video caption", "caption", "video.caption",
         lambda n: Video(link="https://e.com/v.mp4", caption=s(n))),
    Case("document caption", "caption", "document.caption", lambda n: Document(id="1", caption=s(n))),
    Case("document filename", "document.filename", "document.filename",
         lambda n: Document(id="1", filename=s(n))),
    Case("biz_opaque_callback_data", "biz_opaque_callback_data", "biz_opaque_callback_data",
         lambda n: SendRequest("+16505551234", Text("hi"), biz_opaque_callback_data=s(n))),
    Case("to digits", "to.digits", "to", lambda n: SendRequest("+" + "1" * n, Text("hi"))),
    Case("to digits short", "to.digits", "to", lambda n: SendRequest("1" * n, Text("hi")), "min"),
    Case("header text", "interactive.header.text", "interactive.header.text",
         lambda n: ReplyButtons(body="b", buttons=buttons(1), header=s(n))),
    Case("header sub_text", "interactive.header.text", "interactive.header.sub_text",
         lambda n: ReplyButtons(body="b", buttons=buttons(1),
                                header={"type": "text", "text": "h", "sub_text": s(n)})),
    Case("body text", "interactive.body.text", "interactive.body.text",
         lambda n: ReplyButtons(body=s(n), buttons=buttons(1))),
    Case("body text empty", "interactive.body.text", "interactive.body.text",
         lambda n: CtaUrl(body=s(n), display_text="Go", url="https://e.com"), "min"),
    Case("footer text", "interactive.footer.text", "interactive.footer.text",
         lambda n: ReplyButtons(body="b", buttons=buttons(1), footer=s(n))),
    Case("reply buttons", "interactive.button.buttons", "interactive.action.buttons",
         lambda n: ReplyButtons(body="b", buttons=buttons(n))),
    Case("no reply buttons", "interactive.button.buttons", "interactive.action.buttons",
         lambda n: ReplyButtons(body="b", buttons=buttons(n)), "min"),
    Case("button title", "interactive.button.title", "interactive.action.buttons[0].reply.title",
         lambda n: ReplyButtons(body="b", buttons=[("a", s(n))])),
    Case("button title empty", "interactive.button.title", "interactive.action.buttons[0].reply.title",
         lambda n: ReplyButtons(body="b", buttons=[("a", s(n))]), "min"),
    Case("button id", "interactive.button.id", "interactive.action.buttons[0].reply.id",
         lambda n: ReplyButtons(body="b", buttons=[(s(n), "A")])),
    Case("button id empty", "interactive.button.id", "interactive.action.buttons[0].reply.id",
         lambda n: ReplyButtons(body="b", buttons=[(s(n), "A")]), "min"),
    Case("list button", "interactive.list.button", "interactive.action.button",
         lambda n: a_list(button=s(n))),
    Case("list sections", "interactive.list.sections", "interactive.action.sections",
         lambda n: a_list(sections=[Section(title=f"s{i}", rows=[Row(id=f"r{i}", title="t")])
                                    for i in range(n)])),
    Case("list no sections", "interactive.list.sections", "interactive.action.sections",
         lambda n: a_list(sections=[Section(title=f"s{i}", rows=rows(1, f"s{i}")) for i in range(n)]), "min"),
    Case("list rows total", "interactive.list.rows_total", "interactive.action.sections",
         lambda n: a_list(sections=[Section(title="a", rows=rows(n - n // 2, "a")),
                                    Section(title="b", rows=rows(n // 2, "b"))])),
    Case("section title", "interactive.list.section.title", "interactive.action.sections[0].title",
         lambda n: a_list(sections=[{"title": s(n), "rows": [{"id": "a", "title": "t"}]}])),
    # A part built on its own is checked there, and names the field inside that part.
    Case("section title (own part)", "interactive.list.section.title", "title",
         lambda n: Section(title=s(n), rows=rows(1))),
    Case("row id", "interactive.list.row.id", "interactive.action.sections[0].rows[0].id",
         lambda n: a_list(sections=[{"rows": [{"id": s(n), "title": "t"}]}])),
    Case("row id (own part)", "interactive.list.row.id", "id", lambda n: Row(id=s(n), title="t")),
    Case("row title", "interactive.list.row.title", "title", lambda n: Row(id="a", title=s(n))),
    Case("row description", "interactive.list.row.description", "description",
         lambda n: Row(id="a", title="t", description=s(n))),
    Case("cta display_text", "interactive.cta_url.display_text", "interactive.action.parameters.display_text",
         lambda n: CtaUrl(body="b", display_text=s(n), url="https://e.com")),
    Case("flow_cta", "interactive.flow.flow_cta", "interactive.action.parameters.flow_cta",
         lambda n: flow(flow_cta=s(n))),
    Case("product list sections", "interactive.product_list.sections", "interactive.action.sections",
         lambda n: a_product_list([ProductSection(title=f"s{i}", product_items=[f"p{i}"])
                                   for i in range(n)])),
    Case("product list items", "interactive.product_list.items_total", "interactive.action.sections",
         lambda n: a_product_list([ProductSection(title="a", product_items=[f"a{i}" for i in range(n - 1)]),
                                   ProductSection(title="b", product_items=["b"])])),
    Case("contacts", "contacts", "contacts",
         lambda n: Contacts(contacts=[Contact(name=f"c{i}") for i in range(n)])),
    Case("no contacts", "contacts", "contacts",
         lambda n: Contacts(contacts=[Contact(name=f"c{i}") for i in range(n)]), "min"),
    Case("template name", "template.name", "template.name", lambda n: Template(s(n), "en_US")),
    Case("template text parameter", "template.parameter.text", "template.components[0].parameters[0].text",
         lambda n: Template("t", "en_US", body=[s(n)])),
    Case("carousel cards", "template.carousel.cards", "template.components[0].cards",
         lambda n: Template("t", "en_US", carousel=[
             Card(card_index=i % 10, components=[BodyComponent(parameters=[TextParameter(text="x")])])
             for i in range(n)])),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_limit_boundary(case: Case) -> None:
    bound = LIMITS[case.key]
    at, past = (bound.max, bound.max + 1) if case.side == "max" else (bound.min, bound.min - 1)
    case.build(at)  # fine at the limit
    with pytest.raises(ValidationError) as info:
        case.build(past)
    error = info.value
    assert error.field == case.field
    assert error.size == past
    assert error.limit == at
    assert str(at) in str(error) and case.field in str(error)


def test_every_limit_the_messages_read_has_a_case() -> None:
    import re
    from pathlib import Path

    import wacloud.messages

    source = "".join(p.read_text() for p in Path(wacloud.messages.__file__).parent.glob("*.py"))
    used = {k for k in re.findall(r'"([a-z_.]+)"', source) if k in LIMITS}
    covered = {c.key for c in CASES} | {"location.latitude", "location.longitude", "template.button.index"}
    assert used == covered


@pytest.mark.parametrize(("key", "field", "coordinate"), [
    ("location.latitude", "location.latitude", "latitude"),
    ("location.longitude", "location.longitude", "longitude"),
])
def test_location_ranges(key: str, field: str, coordinate: str) -> None:
    from wacloud.messages import Location

    bound = LIMITS[key]
    other = "longitude" if coordinate == "latitude" else "latitude"
    for ok in (bound.max, bound.min, 0.0):
        Location(**{coordinate: ok, other: 0})
    for bad, lim in ((bound.max + 1e-6, bound.max), (bound.min - 1e-6, bound.min)):
        with pytest.raises(ValidationError) as info:
            Location(**{coordinate: bad, other: 0})
        assert (info.value.field, info.value.limit) == (field, lim)
    with pytest.raises(ValidationError) as info:
        Location(**{coordinate: float("nan"), other: 0})
    assert info.value.field == f"location.{coordinate}"


def test_template_button_index_is_0_to_9() -> None:
    top = LIMITS["template.button.index"].max
    ButtonComponent.quick_reply(0, "p")
    ButtonComponent.quick_reply(top, "p")
    for bad in (top + 1, -1):
        with pytest.raises(ValidationError) as info:
            ButtonComponent.quick_reply(bad, "p")
        assert (info.value.field, info.value.limit) == ("index", top)


def test_carousel_card_index_is_below_the_card_limit() -> None:
    top = LIMITS["template.carousel.cards"].max - 1
    Card(card_index=top, components=[])
    with pytest.raises(ValidationError) as info:
        Card(card_index=top + 1, components=[])
    assert (info.value.field, info.value.limit) == ("card_index", top)


# --- Rules without a number ----------------------------------------------------------------------


def refused(build: Callable[[], object], field: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.field == field, str(info.value)
    return info.value


def test_reply_buttons_titles_and_ids_unique_and_trimmed() -> None:
    refused(lambda: ReplyButtons(body="b", buttons=[("a", "Same"), ("b", "Same")]),
            "interactive.action.buttons[1].reply.title")
    refused(lambda: ReplyButtons(body="b", buttons=[("a", "One"), ("a", "Two")]),
            "interactive.action.buttons[1].reply.id")
    refused(lambda: ReplyButtons(body="b", buttons=[(" a", "One")]), "interactive.action.buttons[0].reply.id")
    refused(lambda: ReplyButtons(body="b", buttons=[("a ", "One")]), "interactive.action.buttons[0].reply.id")
    refused(lambda: ReplyButton(id="a", title="   "), "reply.title")


def test_list_rules() -> None:
    refused(lambda: a_list(sections=[Section(rows=rows(1, "a")), Section(title="b", rows=rows(1, "b"))]),
            "interactive.action.sections[0].title")
    a_list(sections=[Section(rows=rows(3))])  # one section needs no title
    refused(lambda: a_list(sections=[Section(title="a", rows=rows(1)), Section(title="b", rows=rows(1))]),
            "interactive.action.sections[1].rows[0].id")
    refused(lambda: a_list(sections=[{"title": "a", "rows": []}]), "interactive.action.sections[0].rows")
    refused(lambda: a_list(header=Header.media("image", link="https://e.com/i.png")),
            "interactive.header.type")


def test_cta_url_needs_http_url() -> None:
    CtaUrl(body="b", display_text="Go", url="http://example.com/x?y=1")
    for bad in ("ftp://example.com", "example.com", "https://", "javascript:alert(1)", "https://a b.com"):
        refused(lambda bad=bad: CtaUrl(body="b", display_text="Go", url=bad),
                "interactive.action.parameters.url")


def test_product_list_and_product_headers() -> None:
    from wacloud.messages import Product

    refused(lambda: ProductList(body="b", catalog_id="c", sections=[ProductSection(product_items=["p"])]),
            "interactive.header")
    refused(lambda: ProductList(header=Header.media("image", id="1"), body="b", catalog_id="c",
                                sections=[ProductSection(product_items=["p"])]), "interactive.header.type")
    refused(lambda: Product(catalog_id="c", product_retailer_id="p", header="h"), "interactive.header")
    assert Product(catalog_id="c", product_retailer_id="p").to_graph()["interactive"] == {
        "type": "product", "action": {"catalog_id": "c", "product_retailer_id": "p"}}


def test_contacts_need_formatted_name() -> None:
    refused(lambda: Contacts.from_graph([{"name": {"first_name": "Ada"}}]), "contacts[0].name.formatted_name")
    refused(lambda: Contacts(contacts=[{"name": "  "}]), "contacts[0].name.formatted_name")
    refused(lambda: Contact(name="  "), "name.formatted_name")


def test_template_name_pattern() -> None:
    Template("order_ready_2", "en_US")
    for bad in ("Order", "order-ready", "order ready", "ordér"):
        refused(lambda bad=bad: Template(bad, "en_US"), "template.name")


def test_media_needs_exactly_one_http_source() -> None:
    from wacloud.messages import Audio, Sticker

    refused(lambda: Image(), "image.id")
    refused(lambda: Image(id="1", link="https://e.com/a.png"), "image.id")
    refused(lambda: Image(link="ftp://e.com/a.png"), "image.link")
    refused(lambda: Video(link="/local/file.mp4"), "video.link")
    refused(lambda: Audio(id="1", caption="hi"), "audio.caption")
    refused(lambda: Sticker(link="https://e.com/s.webp", caption="hi"), "sticker.caption")
    assert Audio(link="HTTPS://E.COM/a.ogg").to_graph() == {"type": "audio", "audio": {"link": "HTTPS://E.COM/a.ogg"}}


def test_flow_needs_exactly_one_of_id_or_name() -> None:
    refused(lambda: flow(flow_id=None), "interactive.action.parameters.flow_id")
    refused(lambda: flow(flow_name="n"), "interactive.action.parameters.flow_id")
    assert flow(flow_id=None, flow_name="signup").action.parameters.flow_name == "signup"
