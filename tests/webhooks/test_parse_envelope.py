"""parse's read of the usual envelope gives what its general path gives, whatever the envelope.

``parse(bytes)`` reads the decoded envelope (object, entries, their id, time and changes) without the
type checks its decoder makes needless, and hands anything else, whole, to the general path
(``parsing._parse``), which checks every part. Envelopes odd at every level (wrong types, missing
keys, extra keys, numbers as strings, nulls, empty containers, many entries) are parsed both ways and
compared object by object (classes, field order, fields set, extras, RawUpdate reasons).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from benchmarks import corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.webhooks import payloads as p
from tests.webhooks.test_parse_fastpath import same

from wacloud.webhooks import parsing
from wacloud.webhooks.updates import MessageUpdate, RawUpdate, StatusUpdate

_SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.function_scoped_fixture])


def _general(body: bytes) -> list[Any]:
    return parsing._parse(body)


def _agree(body: bytes) -> list[Any]:
    """``parse(body)`` after checking it equals the general path's result on the bytes (and on the dict)."""
    ours = parsing.parse(body)
    same(ours, _general(body))
    decoded = json.loads(body)
    if isinstance(decoded, dict):  # (a decoded str or number would be read as JSON text or refused)
        same(ours, parsing.parse(decoded))
    return ours


class _Counting:
    """Counts the bodies the general path was given."""

    def __init__(self) -> None:
        self.calls = 0
        self.real = parsing._parse

    def __call__(self, body: Any) -> list[Any]:
        self.calls += 1
        return self.real(body)


def test_corpus_bodies_never_need_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    bodies = [*corpus.kind_sample(seed=31).values(), *corpus.kind_sample(seed=32, bsuid=False).values(),
              *corpus.bodies(300, mix="realistic", seed=33)]
    expected = [_general(body) for body in bodies]
    counting = _Counting()
    monkeypatch.setattr(parsing, "_parse", counting)
    for body, general in zip(bodies, expected, strict=True):
        same(parsing.parse(body), general)
    assert counting.calls == 0


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
def test_hypothesis_odd_envelopes_parse_as_the_general_path_parses_them(envelope: Any) -> None:
    _agree(json.dumps(envelope).encode())


@_SETTINGS
@given(st.lists(st.sampled_from([_VALID_MESSAGES, _VALID_STATUSES]), min_size=1, max_size=3),
       st.integers(0, 3), _odd)
def test_hypothesis_one_odd_part_anywhere_sends_the_whole_body_down_the_general_path(
        values: list[dict[str, Any]], where: int, odd: Any) -> None:
    # Good changes around one odd change (or an odd entry key): every update is what the general path gives.
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
    # Over 200 opening brackets: pydantic-core's decoder and the general path; over 200 levels: not JSON.
    many = {"object": parsing.OBJECT, "entry": [
        {"id": p.WABA, "changes": [p.change("messages", _VALID_STATUSES)]} for _ in range(60)]}
    updates = _agree(json.dumps(many).encode())
    assert len(updates) == 60 and all(isinstance(u, StatusUpdate) for u in updates)
    deep = b'{"object": "whatsapp_business_account", "entry": ' + b"[" * 250 + b"]" * 250 + b"}"
    (update,) = parsing.parse(deep)
    assert isinstance(update, RawUpdate) and "not valid JSON" in update.reason
