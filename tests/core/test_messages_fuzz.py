"""Hypothesis: whatever goes in, a message either validates and serialises, or raises our ValidationError.

Three angles: random strings into the length-limited fields, random counts into the list-shaped
ones, and random JSON (from scratch, and valid bodies with one part mutated) into ``parse()``. Any
other exception type — pydantic's, a KeyError, a TypeError — fails the test.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacloud.errors import ValidationError
from wacloud.limits import LIMITS
from wacloud.messages import (
    ButtonComponent,
    Card,
    Catalog,
    Contact,
    Contacts,
    CtaUrl,
    Document,
    FlowMessage,
    HeaderComponent,
    Image,
    ImageParameter,
    ListMessage,
    Location,
    MarkRead,
    MediaSource,
    ProductList,
    ProductSection,
    Reaction,
    ReplyButtons,
    Row,
    Section,
    SendRequest,
    Template,
    Text,
    Video,
    parse,
    parse_any,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text with the awkward characters: emoji, combining marks, NUL, surrogates are not valid JSON text.
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=80) | st.sampled_from(
    ["", " ", "\n", "x" * 4096, "x" * 4097, "é" * 1024, "😀" * 21, "\x00"]
)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | texts
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def sends_back(request: SendRequest) -> None:
    """A valid request serialises to JSON and parses back to itself."""
    body = request.to_graph()
    json.dumps(body, allow_nan=False)
    assert parse(body) == request


def either_valid_or_ours(build: Any) -> None:
    try:
        message = build()
    except ValidationError as error:
        assert error.field
        return
    sends_back(SendRequest("+16505551234", message))


@FAST
@given(body=texts, preview=st.booleans())
def test_text(body: str, preview: bool) -> None:
    either_valid_or_ours(lambda: Text(body, preview_url=preview))


@FAST
@given(caption=texts, kind=st.sampled_from([Image, Video, Document]), filename=st.none() | texts)
def test_captions(caption: str, kind: Any, filename: str | None) -> None:
    extra = {"filename": filename} if kind is Document else {}
    either_valid_or_ours(lambda: kind(link="https://example.com/f", caption=caption, **extra))


@FAST
@given(buttons=st.lists(st.tuples(texts, texts), max_size=5), body=texts, header=st.none() | texts,
       footer=st.none() | texts)
def test_reply_buttons(buttons: list[tuple[str, str]], body: str, header: str | None,
                       footer: str | None) -> None:
    either_valid_or_ours(lambda: ReplyButtons(body=body, buttons=buttons, header=header, footer=footer))


rows = st.builds(lambda i, t, d: {"id": i, "title": t, "description": d}, texts, texts, st.none() | texts)


@FAST
@given(sections=st.lists(st.tuples(st.none() | texts, st.lists(rows, max_size=6)), max_size=12),
       button=texts)
def test_lists(sections: list[tuple[str | None, list[dict[str, Any]]]], button: str) -> None:
    def build() -> ListMessage:
        parts = [Section(title=title, rows=[Row(**r) for r in rs]) for title, rs in sections]
        return ListMessage(body="Pick", button=button, sections=parts)

    either_valid_or_ours(build)


@FAST
@given(sections=st.lists(st.lists(texts, max_size=12), max_size=12), header=st.none() | texts)
def test_product_lists(sections: list[list[str]], header: str | None) -> None:
    def build() -> ProductList:
        parts = [ProductSection(title=f"s{i}", product_items=items) for i, items in enumerate(sections)]
        return ProductList(header=header, body="b", catalog_id="c", sections=parts)

    either_valid_or_ours(build)


@FAST
@given(names=st.lists(texts, max_size=7))
def test_contacts(names: list[str]) -> None:
    either_valid_or_ours(lambda: Contacts(contacts=[Contact(name=n) for n in names]))


@FAST
@given(lat=st.floats(), lon=st.floats() | st.integers() | texts)
def test_locations(lat: float, lon: Any) -> None:
    either_valid_or_ours(lambda: Location(latitude=lat, longitude=lon))


@FAST
@given(name=texts, params=st.lists(texts, max_size=4), named=st.dictionaries(texts, texts, max_size=3))
def test_templates(name: str, params: list[str], named: dict[str, str]) -> None:
    either_valid_or_ours(lambda: Template(name, "en_US", body=params))
    either_valid_or_ours(lambda: Template("t", "en_US", body=named))


@FAST
@given(url=texts, text=texts)
def test_cta_urls(url: str, text: str) -> None:
    either_valid_or_ours(lambda: CtaUrl(body="b", display_text=text, url="https://" + url))


# --- parse() ---------------------------------------------------------------------------------------


def parse_or_ours(body: Any) -> None:
    try:
        result = parse_any(body)
    except ValidationError as error:
        assert error.field
        return
    if isinstance(result, MarkRead):
        assert parse_any(result.to_graph()) == result
    else:
        sends_back(result)


@FAST
@given(body=json_values)
def test_parse_anything(body: Any) -> None:
    parse_or_ours(body)


ENVELOPE_KEYS = ["messaging_product", "to", "type", "text", "interactive", "template", "context",
                 "recipient_type", "status", "message_id"]


@FAST
@given(body=st.dictionaries(st.sampled_from(ENVELOPE_KEYS), json_values, max_size=6))
def test_parse_envelope_shaped(body: dict[str, Any]) -> None:
    parse_or_ours(body)


VALID = [
    SendRequest("+16505551234", m).to_graph()
    for m in (
        Text("hi", preview_url=True),
        Image(link="https://e.com/i.png", caption="c"),
        Document(id="1", filename="a.pdf"),
        Location(latitude=1.5, longitude=2),
        Contacts(contacts=[Contact(name="Ada", phones=[{"phone": "+1 650", "type": "CELL"}])]),
        ReplyButtons(body="b", buttons=[("a", "A"), ("b", "B")], header="h", footer="f"),
        ListMessage(body="b", button="Menu", sections=[Section(title="s", rows=[Row(id="r", title="R")])]),
        CtaUrl(body="b", display_text="Go", url="https://e.com"),
        ProductList(header="h", body="b", catalog_id="c",
                    sections=[ProductSection(title="s", product_items=["p"])]),
        Template("t", "en_US", body=["x", "y"]),
        Template("t", "en_US", header=ImageParameter(image=MediaSource(link="https://e.com/i.png")),
                 body={"name": "Ada"},
                 buttons=[ButtonComponent.quick_reply(0, "p"), ButtonComponent.url(1, "x"),
                          ButtonComponent.flow(2, flow_token="t", flow_action_data={"a": 1})]),
        Template("t", "en_US", carousel=[Card(card_index=0, components=[
            HeaderComponent(parameters=[ImageParameter(image=MediaSource(id="1"))]),
            ButtonComponent.quick_reply(0, "p")])]),
        FlowMessage(body="b", flow_cta="Go", flow_id="1", screen="S", data={"k": [1, "v"]}, header="h"),
        Reaction(message_id="wamid.1", emoji="👍"),
        Catalog(body="b", thumbnail_product_retailer_id="sku"),
    )
] + [MarkRead("wamid.1", typing=True).to_graph()]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*path, i))
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_parse_mutated_valid_bodies(data: st.DataObject) -> None:
    body = copy.deepcopy(data.draw(st.sampled_from(VALID)))
    path = data.draw(st.sampled_from(_paths(body)[1:]))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = data.draw(json_values)
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(texts)] = data.draw(json_values)
    parse_or_ours(body)


def test_oversized_values_name_their_limits() -> None:
    # A sanity check of the fuzz inputs: the sampled edge strings do hit the limits they aim at.
    top = LIMITS["text.body"].max
    Text("x" * top)
    try:
        Text("x" * (top + 1))
    except ValidationError as error:
        assert (error.field, error.size, error.limit) == ("text.body", top + 1, top)
    else:
        raise AssertionError("expected a ValidationError")
