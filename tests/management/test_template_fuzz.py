"""Hypothesis: any JSON thrown at the definition rules or the pre-send check either passes or raises our
typed error — never anything else."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from management.helpers import good_definition
from wacloud.templates import TemplateDefinitionError, TemplateMismatch, check_definition, check_send

_WORDS = [
    "BODY",
    "HEADER",
    "FOOTER",
    "BUTTONS",
    "TEXT",
    "IMAGE",
    "URL",
    "OTP",
    "body",
    "header",
    "button",
    "url",
    "{{1}}",
    "{{name}}",
    "0",
    "1",
    "text",
    "image",
    "APPROVED",
    "en_US",
    "CAROUSEL",
    "LIMITED_TIME_OFFER",
    "NAMED",
    "POSITIONAL",
    "quick_reply",
    "QUICK_REPLY",
    "copy_code",
]
_KEYS = [
    "type",
    "text",
    "format",
    "example",
    "buttons",
    "components",
    "parameters",
    "sub_type",
    "index",
    "name",
    "language",
    "code",
    "status",
    "url",
    "cards",
    "card_index",
    "parameter_name",
    "body_text",
    "header_text",
    "header_handle",
    "image",
    "limited_time_offer",
    "payload",
    "coupon_code",
    "parameter_format",
    "category",
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.text(max_size=30), st.sampled_from(_WORDS))
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.sampled_from(_KEYS), children, max_size=5)
    ),
    max_leaves=25,
)
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def _walk(data: st.DataObject, obj: Any) -> list[Any]:
    """A random path to a node that exists in ``obj`` (so mutations land inside the structure)."""
    path: list[Any] = []
    while isinstance(obj, dict | list) and obj and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(obj) if isinstance(obj, dict) else list(range(len(obj)))))
        path.append(key)
        obj = obj[key]
    return path


def _set(body: Any, path: list[Any], value: Any) -> Any:
    """``body`` with the node at ``path`` replaced by ``value`` (the whole body for an empty path)."""
    if not path:
        return value
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return body


def _mutated(data: st.DataObject, body: Any) -> Any:
    body = copy.deepcopy(body)
    for _ in range(data.draw(st.integers(1, 3))):
        body = _set(body, _walk(data, body), data.draw(json_values))
    return body


@FUZZ
@given(body=json_values)
def test_definition_rules_never_crash_on_random_json(body: Any) -> None:
    with contextlib.suppress(TemplateDefinitionError):
        check_definition(body)


@FUZZ
@given(data=st.data())
def test_definition_rules_never_crash_on_mutated_bodies(data: st.DataObject) -> None:
    with contextlib.suppress(TemplateDefinitionError):
        check_definition(_mutated(data, good_definition()))


DEFINITION = {**good_definition(), "status": "APPROVED", "id": "1"}
SEND = {
    "name": "seasonal_promo",
    "language": {"code": "en_US"},
    "components": [
        {"type": "header", "parameters": [{"type": "text", "text": "Sale"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "May"}, {"type": "text", "text": "X"}]},
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "X"}]},
    ],
}


def test_the_unmutated_send_fits() -> None:
    assert check_send(SEND, [DEFINITION])["id"] == "1"


@FUZZ
@given(data=st.data())
def test_presend_check_never_crashes_on_mutated_sends_and_definitions(data: st.DataObject) -> None:
    send = _mutated(data, SEND) if data.draw(st.booleans()) else SEND
    definition = _mutated(data, DEFINITION) if data.draw(st.booleans()) else DEFINITION
    with contextlib.suppress(TemplateMismatch):
        check_send(send, [definition] if isinstance(definition, dict) else [])


@FUZZ
@given(send=json_values, definition=json_values)
def test_presend_check_never_crashes_on_random_json(send: Any, definition: Any) -> None:
    with contextlib.suppress(TemplateMismatch):
        check_send(send, [definition] if isinstance(definition, dict) else [])


@FUZZ
@given(data=st.data())
def test_typed_parse_never_crashes(data: st.DataObject) -> None:
    from wacloud.templates import TemplateDefinition

    with contextlib.suppress(TemplateDefinitionError):
        TemplateDefinition.from_graph(_mutated(data, good_definition()))
