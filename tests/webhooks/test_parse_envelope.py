"""parse gives the same updates for an envelope however odd it is, by every path it can take.

An envelope odd at any level (wrong types, missing keys, extra keys, numbers as strings, nulls, empty
containers, many entries) is parsed from its bytes with the one-pass parsers on, with them off (every
change per item) and from the decoded dict, and the three results are compared object by object
(classes, field order, fields set, extras, RawUpdate reasons). A faster read of the usual envelope
(docs/benchmarks.md, "seventh pass") must keep these equal.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.webhooks import payloads as p
from tests.webhooks.test_parse_fastpath import same

from wacloud.webhooks import parsing
from wacloud.webhooks.updates import MessageUpdate, RawUpdate, StatusUpdate

_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _agree(body: bytes) -> list[Any]:
    """``parse(body)`` after checking it equals the per-item path's result and the decoded dict's."""
    ours = parsing.parse(body)
    one_pass, parsing._ONE_PASS = parsing._ONE_PASS, {}
    try:
        same(ours, parsing.parse(body))
    finally:
        parsing._ONE_PASS = one_pass
    decoded = json.loads(body)
    if isinstance(decoded, dict):
        same(ours, parsing.parse(decoded))
    else:  # (parse would read a str as JSON text): the decoded value itself, refused
        (update,) = ours
        assert isinstance(update, RawUpdate) and update.reason == "body is not a JSON object"
        same(update.raw, decoded)
    return ours


_VALID_MESSAGES = p.messages_value(p.msg("text", {"body": "hi"}))
_VALID_STATUSES = {"messaging_product": "whatsapp", "metadata": p.METADATA,
                   "statuses": [p.status("delivered")]}
_TEMPLATE = {"event": "APPROVED", "message_template_id": 1, "message_template_name": "x",
             "message_template_language": "en"}
_odd = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.just(1.5), st.just(""), st.just("x"),
                 st.just("1751247548"), st.just([]), st.just({}), st.just([1]), st.just({"a": None}))
_field = st.one_of(st.sampled_from(["messages", "message_template_status_update", "smb_message_echoes",
                                    "user_preferences", "no_such_field", "calls"]), _odd)
_value = st.one_of(st.sampled_from([_VALID_MESSAGES, _VALID_STATUSES, _TEMPLATE, {}]),
                   st.just({**_VALID_STATUSES, "statuses": [p.status("read", timestamp=None)]}),
                   st.just({**_VALID_MESSAGES, "unknown": {"nested": [1]}}), _odd)
_change = st.one_of(st.fixed_dictionaries({}, optional={"field": _field, "value": _value, "extra": _odd}), _odd)
_time = st.one_of(st.none(), st.sampled_from([1751247548, 1751247549, 10**20, -1, 0]), _odd)
_waba = st.one_of(st.sampled_from([p.WABA, "", "419561257915477.0"]), st.integers(0, 10**16), _odd)
_entry = st.one_of(st.fixed_dictionaries({}, optional={
    "id": _waba, "time": _time, "changes": st.one_of(st.lists(_change, max_size=3), _odd), "extra": _odd}), _odd)
_envelope = st.one_of(st.fixed_dictionaries({}, optional={
    "object": st.one_of(st.just(parsing.OBJECT), st.just("page"), _odd),
    "entry": st.one_of(st.lists(_entry, max_size=3), _odd), "extra": _odd}), _odd)


@_SETTINGS
@given(_envelope)
def test_hypothesis_odd_envelopes_parse_alike_by_every_path(envelope: Any) -> None:
    _agree(json.dumps(envelope).encode())


@_SETTINGS
@given(st.lists(st.sampled_from([_VALID_MESSAGES, _VALID_STATUSES]), min_size=1, max_size=3),
       st.integers(0, 3), _odd)
def test_hypothesis_one_odd_change_among_good_ones_parses_alike_by_every_path(
        values: list[dict[str, Any]], where: int, odd: Any) -> None:
    # Good changes around one odd one, in two entries: what the one-pass parsers take and what they leave.
    changes: list[Any] = [p.change("messages", value) for value in values]
    changes.insert(min(where, len(changes)), odd)
    body = json.dumps({"object": parsing.OBJECT, "entry": [
        {"id": p.WABA, "time": 1751247548, "changes": changes}, {"id": p.WABA, "changes": changes[:1]}]}).encode()
    updates = _agree(body)
    assert isinstance(updates[0], MessageUpdate | StatusUpdate | RawUpdate)


@pytest.mark.parametrize("body", [
    b'{"object": "whatsapp_business_account", "entry": {}}',  # an empty dict iterates like an empty list
    b'{"object": "whatsapp_business_account", "entry": ""}',
    b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": {}}]}',
    b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": ""}]}',
    b'{"object": "whatsapp_business_account", "entry": [{"id": 1, "changes": []}]}',
    b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "time": true, "changes": []}]}',
    b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "time": "5", "changes": []}]}',
    b'{"object": "whatsapp_business_account", "entry": [{"changes": []}]}',
    b'{"object": "whatsapp_business_account", "entry": []}',
    b'{"entry": []}',
    b"[]",
    b'"whatsapp_business_account"',
    b"null",
    b"{}",
])
def test_envelopes_of_the_wrong_shape_are_what_they_were(body: bytes) -> None:
    _agree(body)


def test_many_entries_and_deep_bodies_still_take_the_decoder_paths_they_took() -> None:
    # Over 200 opening brackets: pydantic-core's decoder, the same updates; over 200 levels: not JSON.
    many = {"object": parsing.OBJECT, "entry": [
        {"id": p.WABA, "changes": [p.change("messages", _VALID_STATUSES)]} for _ in range(60)]}
    updates = _agree(json.dumps(many).encode())
    assert len(updates) == 60 and all(isinstance(u, StatusUpdate) for u in updates)
    deep = b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 250 + b"]" * 250 + b"}"
    (update,) = parsing.parse(deep)
    assert isinstance(update, RawUpdate) and "not valid JSON" in update.reason
