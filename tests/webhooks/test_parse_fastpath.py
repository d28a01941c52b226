"""The one-pass path for ``messages`` changes gives exactly what the per-item parser gives.

Every body is parsed twice, with the fast path on and forced off, and the updates are compared
object by object: classes, field order, values (datetimes with their tzinfo type), the fields set,
the extras and, for what did not validate, the RawUpdate and its reason. The decoder change
(msgspec first, pydantic-core for what it refuses) is checked on the edge cases of JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from benchmarks import corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from tests.webhooks import payloads as p
from tests.webhooks import payloads_2026 as p26

from wacloud.webhooks import parsing
from wacloud.webhooks.updates import MessageUpdate, RawUpdate, StatusUpdate, Update


def same(a: Any, b: Any, where: str = "update") -> None:
    """a and b are the same value down to the classes, field order, fields set and extras."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, BaseModel):
        assert a.__pydantic_fields_set__ == b.__pydantic_fields_set__, f"{where}: fields set"
        same(a.__pydantic_extra__, b.__pydantic_extra__, f"{where}.<extra>")
        assert list(a.__dict__) == list(b.__dict__), f"{where}: field order"
        for key, value in a.__dict__.items():
            same(value, b.__dict__[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{where}: length"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys"
        for key, value in a.items():
            same(value, b[key], f"{where}[{key!r}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
        if isinstance(a, datetime):
            assert type(a.tzinfo) is type(b.tzinfo), f"{where}: tzinfo"


class _Counting:
    """Wraps the one-pass parser of ``messages`` changes to count how often it took a change."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.taken = 0

    def __call__(self, *args: Any) -> bool:
        took: bool = self.real(*args)
        self.taken += took
        return took


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counting]:
    counting = _Counting(parsing._ONE_PASS["messages"])
    monkeypatch.setitem(parsing._ONE_PASS, "messages", counting)
    yield counting


def both(fast: _Counting, body: Any) -> tuple[list[Update], list[Update]]:
    """The updates of ``body`` with the one-pass parsers on, then off (every field per item)."""
    on = parsing.parse(body)
    one_pass, parsing._ONE_PASS = parsing._ONE_PASS, {}
    try:
        off = parsing.parse(body)
    finally:
        parsing._ONE_PASS = one_pass
    return on, off


def test_every_corpus_kind_parses_the_same_and_messages_take_the_fast_path(fast: _Counting) -> None:
    bodies = [*corpus.kind_sample(seed=5).values(), *corpus.kind_sample(seed=6, bsuid=False).values(),
              *corpus.bodies(600, mix="uniform", seed=11), corpus.batch_body(10, 5)[0]]
    kinds = {type(u).__name__ for body in bodies for u in parsing.parse(body)}
    fast.taken = 0
    for body in bodies:
        on, off = both(fast, body)
        same(on, off)
    assert {"MessageUpdate", "StatusUpdate", "ErrorUpdate"} <= kinds
    # Every messages-field body of the corpus validates whole, so none of them needed the slow path.
    messages_bodies = sum(1 for b in bodies if b'"field": "messages"' in b or b'"field":"messages"' in b)
    assert messages_bodies > 400 and fast.taken >= messages_bodies


def _fixture_payloads() -> list[Any]:
    found = []
    for module in (p, p26):
        for name in dir(module):
            value = getattr(module, name)
            if isinstance(value, dict) and name.isupper():
                found.append(value if "object" in value else p.envelope(value) if "field" in value else None)
    return [f for f in found if f is not None]


def test_the_test_payloads_parse_the_same(fast: _Counting) -> None:
    payloads = [
        *_fixture_payloads(),
        p.inbound(p.msg("text", {"body": "hi"}), p.msg("image", {"id": "1", "mime_type": "image/jpeg"})),
        p.envelope(p.change("messages", {**p.messages_value(p26.USERNAME_MESSAGE),
                                         "contacts": [p26.USERNAME_CONTACT]})),
        p.statuses(p.status("sent"), p.status("failed", errors=[{"code": 131026, "title": "x"}])),
        p.envelope(p.change("messages", {"metadata": p.METADATA, "errors": [{"code": 1, "title": "t"}]})),
    ]
    for payload in payloads:
        on, off = both(fast, json.dumps(payload).encode())
        same(on, off)


def test_one_bad_item_sends_the_whole_change_down_the_per_item_path(fast: _Counting) -> None:
    good, bad = p.msg("text", {"body": "ok"}), p.msg("text", {"body": {"nested": 1}})
    body = json.dumps(p.inbound(good, bad, p.msg("no_such_type", {}))).encode()
    fast.taken = 0
    on, off = both(fast, body)
    same(on, off)
    assert fast.taken == 0
    assert [type(u) for u in on] == [MessageUpdate, RawUpdate, RawUpdate]
    assert "text.body" in on[1].reason and "unknown message type" in on[2].reason  # type: ignore[attr-defined]


# Hypothesis: messages values whose parts are valid, of a wrong type, missing or unknown.
_str_or_odd = st.one_of(st.text(max_size=6), st.integers(), st.none(), st.just(["x"]), st.just({"a": 1}))
_ts = st.one_of(st.just("1749416383"), st.just(1749416383), st.just("1749416383000"), st.just("soon"),
                st.just(1.5), st.none())
_content = {
    "text": st.fixed_dictionaries({"body": _str_or_odd}),
    "image": st.fixed_dictionaries({"id": _str_or_odd}, optional={"caption": _str_or_odd}),
    "reaction": st.fixed_dictionaries({}, optional={"message_id": _str_or_odd, "emoji": _str_or_odd}),
    "location": st.fixed_dictionaries({"latitude": st.one_of(st.floats(-90, 90), st.integers(-90, 90),
                                                             st.text(max_size=3))}),
}
_message = st.sampled_from(sorted(_content)).flatmap(lambda t: st.fixed_dictionaries(
    {"type": st.one_of(st.just(t), st.just("nope")), t: _content[t]},
    optional={"from": _str_or_odd, "from_user_id": _str_or_odd, "id": _str_or_odd, "timestamp": _ts,
              "context": st.one_of(st.none(), st.fixed_dictionaries({}, optional={"from": _str_or_odd,
                                                                                    "id": _str_or_odd})),
              "extra_key": _str_or_odd},
))
_status = st.fixed_dictionaries(
    {"id": _str_or_odd, "status": st.sampled_from(["sent", "read", "failed"]), "timestamp": _ts},
    optional={"recipient_id": _str_or_odd, "pricing": st.one_of(st.none(), st.fixed_dictionaries(
        {}, optional={"billable": st.one_of(st.booleans(), st.text(max_size=4)), "category": _str_or_odd})),
        "errors": st.lists(st.fixed_dictionaries({"code": st.one_of(st.integers(), st.text(max_size=3))}),
                           max_size=2)},
)
_contact = st.one_of(st.fixed_dictionaries({}, optional={
    "wa_id": _str_or_odd, "user_id": _str_or_odd, "profile": st.one_of(st.none(), st.fixed_dictionaries(
        {}, optional={"name": _str_or_odd}))}), st.text(max_size=3))
_value = st.fixed_dictionaries({}, optional={
    "metadata": st.one_of(st.just(p.METADATA), st.none(), st.just({"phone_number_id": 5}), st.just("x")),
    "contacts": st.one_of(st.lists(_contact, max_size=3), st.just("x")),
    "messages": st.one_of(st.lists(_message, max_size=3), st.just({"a": 1})),
    "statuses": st.lists(_status, max_size=3),
    "errors": st.lists(st.fixed_dictionaries({"code": st.one_of(st.integers(), st.none())}), max_size=2),
})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(_value, st.one_of(st.none(), st.just(1751247548)))
def test_hypothesis_fast_and_per_item_paths_agree(fast: _Counting, value: dict[str, Any], time: int | None) -> None:
    body = json.dumps(p.envelope(p.change("messages", value), time=time)).encode()
    on, off = both(fast, body)
    same(on, off)
    assert all(isinstance(u, Update) for u in on)


def test_statuses_keep_their_own_contact_or_the_values(fast: _Counting) -> None:
    own = {"wa_id": "1555", "user_id": "US.1"}
    value = {"metadata": p.METADATA, "contacts": [{"wa_id": "1666"}, {"wa_id": "1555"}],
             "statuses": [p.status("sent", recipient_id="1555"), p.status("read", recipient_id="1777", contacts=[own])]}
    fast.taken = 0
    on, off = both(fast, json.dumps(p.envelope(p.change("messages", value))).encode())
    same(on, off)
    assert fast.taken == 1
    first, second = on
    assert isinstance(first, StatusUpdate) and isinstance(second, StatusUpdate)
    assert first.contact is not None and first.contact.wa_id == "1555"
    assert second.contact is not None and second.contact.user_id == "US.1"


@pytest.mark.parametrize(("body", "expected"), [
    (b'{"n": 123456789012345678901234567890}', {"n": 123456789012345678901234567890}),  # exact, not a float
    (b'{"a": 1, "a": 2}', {"a": 2}),
    (b'{"x": 1e400}', {"x": float("inf")}),  # what pydantic-core's decoder has always given
])
def test_loads_keeps_what_the_old_decoder_gave(body: bytes, expected: Any) -> None:
    assert parsing.loads(body) == expected
    assert type(parsing.loads(body)) is dict


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": Infinity}', b"[" * 5000 + b"]" * 5000, b"\xff",
                                  b'"\\ud800"', b'{"a": ', b"[" * 260 + b"]" * 260, b"[" * 900 + b"]" * 900])
def test_loads_refuses_what_is_not_json_with_a_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        parsing.loads(body)
    (update,) = parsing.parse(body)
    assert isinstance(update, RawUpdate) and "not valid JSON" in update.reason


def test_loads_takes_bodies_with_many_brackets_but_little_depth() -> None:
    # More than 200 opening brackets sends the body to pydantic-core's decoder: same result.
    many = {"object": "whatsapp_business_account", "entry": [{"id": str(i), "changes": []} for i in range(150)]}
    assert parsing.loads(json.dumps(many)) == many
    assert parsing.loads(b"[" * 200 + b"]" * 200) is not None  # 200 levels: still accepted, as before


# --- fifth pass: echoes, preferences, value fields, the sender check, entry time, filled wrappers ---

_echo = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image", "nope"]), "id": _str_or_odd, "timestamp": _ts},
    optional={"from": _str_or_odd, "from_user_id": _str_or_odd, "to": _str_or_odd,
              "text": st.fixed_dictionaries({"body": _str_or_odd}), "extra_key": _str_or_odd},
)
_preference = st.fixed_dictionaries(
    {"value": st.one_of(st.sampled_from(["stop", "resume"]), st.integers(), st.none())},
    optional={"wa_id": _str_or_odd, "detail": _str_or_odd, "category": _str_or_odd, "timestamp": _ts},
)
_side_value = st.fixed_dictionaries({}, optional={
    "metadata": st.one_of(st.just(p.METADATA), st.none(), st.just({"phone_number_id": 5}), st.just("x")),
    "contacts": st.one_of(st.lists(_contact, max_size=3), st.just("x"), st.none()),
    "message_echoes": st.one_of(st.lists(_echo, max_size=3), st.none(), st.just({"a": 1})),
    "user_preferences": st.one_of(st.lists(_preference, max_size=3), st.none(), st.just("x")),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["smb_message_echoes", "user_preferences"]), _side_value,
       st.one_of(st.none(), st.just(1751247548), st.just(10**20), st.just(True), st.just(1.5)))
def test_hypothesis_echoes_and_preferences_agree(fast: _Counting, field: str, value: dict[str, Any],
                                                 time: Any) -> None:
    body = json.dumps(p.envelope(p.change(field, value), time=time)).encode()
    on, off = both(fast, body)
    same(on, off)


@pytest.mark.parametrize("value", [
    {"event": "APPROVED", "message_template_id": 1, "message_template_name": "x", "message_template_language": "en"},
    {"event": 5},
    {},
])
def test_value_fields_agree_whole_or_not(fast: _Counting, value: dict[str, Any]) -> None:
    for field in ("message_template_status_update", "account_update", "phone_number_quality_update"):
        on, off = both(fast, json.dumps(p.envelope(p.change(field, value), time=1751247548)).encode())
        same(on, off)


@pytest.mark.parametrize("message", [
    {"id": "wamid.1", "timestamp": "1749416383", "type": "text", "text": {"body": "no sender"}},
    {"from": "", "from_user_id": "", "id": "wamid.2", "timestamp": "1749416383", "type": "text",
     "text": {"body": "empty sender"}},
    {"from": "1555", "id": "wamid.3", "timestamp": "1749416383", "type": 5, "text": {"body": "type not a string"}},
    {"from": "1555", "id": "wamid.4", "timestamp": "1749416383", "text": {"body": "no type"}},
])
def test_what_pydantic_core_no_longer_calls_python_for_is_still_refused(fast: _Counting,
                                                                        message: dict[str, Any]) -> None:
    # The sender check runs after the one pass and the type is read by pydantic-core: a message without
    # a sender or a usable type still comes back as a RawUpdate, with the per-item parser's reason.
    ok = p.msg("text", {"body": "fine"})
    fast.taken = 0
    on, off = both(fast, json.dumps(p.inbound(ok, message)).encode())
    same(on, off)
    assert fast.taken == 0
    assert isinstance(on[0], MessageUpdate) and isinstance(on[1], RawUpdate)
    reason = on[1].reason  # type: ignore[attr-defined]
    assert ("neither 'from' nor 'from_user_id'" in reason) if "sender" in message["text"]["body"] else (
        "unknown message type" in reason)


def test_entry_time_memo_gives_what_the_conversion_gives() -> None:
    for time in (1751247548, 1751247548, 10**20, -1, True, 1.5, "1751247548", None):
        # Only ints are memoised: a bool or a float is never a key (True == 1 as a dict key, so look at types).
        assert all(type(key) is int for key in parsing._TIMES)
        payload = p.envelope(p.change("messages", p.messages_value(p.msg("text", {"body": "x"}))), time=time)
        (update,) = parsing.parse(json.dumps(payload).encode())
        expected = parsing._time(time) if time is not None else None
        assert update.time == expected and type(update.time) is type(expected)
        if expected is not None:
            assert update.time.tzinfo is expected.tzinfo
    assert all(type(key) is int for key in parsing._TIMES) and len(parsing._TIMES) <= 64


def test_filled_wrappers_are_what_the_validator_makes_of_the_same_values() -> None:
    bodies = [*corpus.kind_sample(seed=21).values(), *corpus.kind_sample(seed=22, bsuid=False).values()]
    checked = set()
    for body in bodies:
        for update in parsing.parse(body):
            values = {name: getattr(update, name) for name in update.model_fields_set}
            same(update, type(update).__pydantic_validator__.validate_python(values))
            checked.add(type(update).__name__)
    assert {"MessageUpdate", "StatusUpdate", "ErrorUpdate", "MessageEchoUpdate", "UserPreferencesUpdate",
            "TemplateStatusUpdate", "AccountUpdate"} <= checked


def test_filler_falls_back_to_the_validator_for_classes_it_does_not_fit() -> None:
    from pydantic import ConfigDict, Field, PrivateAttr

    from wacloud.webhooks import _fill

    assert _fill._FILLS_LIKE_PYDANTIC  # the installed pydantic builds models as the filler does

    class Extras(BaseModel):
        model_config = ConfigDict(extra="allow")
        a: int = 0

    class Factory(BaseModel):
        a: list[int] = Field(default_factory=list)

    class Private(BaseModel):
        a: int = 0
        _p: int = PrivateAttr(default=3)

    class Fits(BaseModel):
        a: int = 0
        b: str = "b"

    for cls in (Extras, Factory, Private):
        made = _fill.filler(cls, "a")
        assert made.__code__.co_filename != f"<fill {cls.__qualname__}>"
        same(made([1] if cls is Factory else 1), cls.__pydantic_validator__.validate_python(
            {"a": [1] if cls is Factory else 1}))
    assert Private.__pydantic_validator__.validate_python({})._p == 3
    fits = _fill.filler(Fits, "a")
    assert fits.__code__.co_filename == f"<fill {Fits.__qualname__}>"
    same(fits(7), Fits(a=7))
    assert fits(7).model_fields_set == {"a"} and fits(7).b == "b"
    with pytest.raises(Exception, match="validation error"):
        _fill.filler(Factory, "a")("not a list")


def test_every_one_pass_parser_mirrors_the_per_item_parser_of_its_field() -> None:
    # A field parser registered later (calls, groups) must not be shadowed by a one-pass parser.
    from wacloud.webhooks import calls, groups

    assert set(parsing._ONE_PASS) <= set(parsing._FIELDS)
    assert not set(parsing._ONE_PASS) & (set(calls.FIELDS) | set(groups.FIELDS))
