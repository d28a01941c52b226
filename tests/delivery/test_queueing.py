"""Campaign queueing's shortcuts give the answers of the long way: body checks, phone numbers, inserts, people."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacloud.delivery import Outbox, Store, open_store
from wacloud.delivery._bodies import validate_body
from wacloud.delivery._body_check import BodyCheck
from wacloud.delivery.model import NewJob
from wacloud.errors import ValidationError
from wacloud.events import EventLog
from wacloud.gateway._db import Database
from wacloud.identity import CustomerIds
from wacloud.phone import normalize, wa_id

P = "106540352242922"
BSUID = "US.13491208655302741918"

# --- body checks ------------------------------------------------------------------------------------


def _outcome(check: Any, body: dict[str, Any]) -> tuple[str, str] | None:
    try:
        check(copy.deepcopy(body))
    except ValidationError as exc:
        return (exc.field, exc.reason)
    return None


def _text(value: Any) -> dict[str, Any]:
    return {"type": "text", "text": value}


def _body(address: tuple[str, Any], components: Any, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "type": "template",
                            "template": {"name": "order_update", "language": {"code": "en_US"},
                                         "components": components}}
    body[address[0]] = address[1]
    body.update(extra)
    return body


#: Texts a parameter may hold, mostly fine, the refused ones too: NUL, a lone surrogate, over the limit,
#: not a string.
TEXTS = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=6),  # surrogates and controls too
    st.sampled_from(["", "\x00", "a\ud800b", "x" * 32768, "x" * 32769, "é" * 40]),
    st.integers(), st.none(), st.lists(st.text(max_size=2), max_size=2),
)
ADDRESSES = st.one_of(
    st.tuples(st.just("to"), st.text(alphabet="0123456789", min_size=5, max_size=15)),
    st.tuples(st.just("to"), st.text(alphabet="0123456789", min_size=5, max_size=15)),
    st.tuples(st.just("to"), st.text(alphabet="0123456789", max_size=18)),
    st.tuples(st.just("to"), st.sampled_from(["+16505551234", "1650 555", BSUID, "١٢٣٤٥٦٧"])),
    st.tuples(st.just("recipient"), st.sampled_from([BSUID, "US.ENT.11815799212886844830", "16505551234"])),
)


@st.composite
def template_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Bodies of a few shapes, the texts drawn; now and then a change that is no text (another shape)."""
    texts = [draw(TEXTS) if draw(st.booleans()) else f"Customer {draw(st.integers(0, 99))}" for _ in range(3)]
    shape = draw(st.sampled_from(["body", "named", "header_button", "flow", "odd"]))
    if shape == "body":
        components: Any = [{"type": "body", "parameters": [_text(texts[0]), _text(texts[1])]}]
    elif shape == "named":
        components = [{"type": "body", "parameters": [{**_text(texts[0]), "parameter_name": "first_name"}]}]
    elif shape == "header_button":
        components = [{"type": "header", "parameters": [_text(texts[0])]},
                      {"type": "body", "parameters": [_text(texts[1])]},
                      {"type": "button", "sub_type": "url", "index": "0", "parameters": [_text(texts[2])]}]
    elif shape == "flow":
        components = [{"type": "button", "sub_type": "flow", "index": 0, "parameters": [
            {"type": "action", "action": {"flow_token": "t", "flow_action_data": {"type": "text",
                                                                                   "text": texts[0]}}}]}]
    else:
        components = draw(st.sampled_from([
            [{"type": "body", "parameters": [{"type": "text", "text": "a", "extra": 1}]}],
            [{"type": "body", "parameters": [{"type": "currency", "text": texts[0]}]}],
            [{"type": "body", "parameters": [_text(texts[0])]}, {"type": "body", "parameters": []}],
            ({"type": "body", "parameters": [_text("a")]},),  # a tuple: not JSON's own type
            [{"type": "body", "parameters": [_text("a")], "index": True}],
            [{"type": "body", "parameters": [_text("a")], "index": 1.5}],
        ]))
    extra = draw(st.sampled_from([{}, {}, {}, {}, {"recipient_type": "group"},
                                  {"biz_opaque_callback_data": "x" * 600}]))
    return _body(draw(ADDRESSES), components, **extra)


#: One checker for every example: shapes it has seen stay known, as within a campaign.
SHARED = BodyCheck()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template_bodies())
def test_a_campaigns_body_check_answers_as_the_full_validation(body: dict[str, Any]) -> None:
    assert _outcome(SHARED, body) == _outcome(validate_body, body)


def test_the_body_check_validates_a_shape_once_and_each_rows_values_every_time(monkeypatch: Any) -> None:
    import wacloud.delivery._body_check as module

    calls: list[dict[str, Any]] = []

    def counting(body: dict[str, Any]) -> None:
        calls.append(body)
        validate_body(body)

    monkeypatch.setattr(module, "validate_body", counting)
    check = BodyCheck()
    for i in range(50):
        check(_body(("to", f"165055500{i:02d}"), [{"type": "body", "parameters": [_text(f"Customer {i}")]}]))
    assert len(calls) == 1
    with pytest.raises(ValidationError) as info:  # a value the rules refuse is validated in full: its own error
        check(_body(("to", "16505550000"), [{"type": "body", "parameters": [_text("a\x00b")]}]))
    assert info.value.field == "template.components[0].parameters[0].text" and len(calls) == 2
    check(_body(("recipient", BSUID), [{"type": "body", "parameters": [_text("x")]}]))  # another shape
    assert len(calls) == 3


# --- phone numbers ----------------------------------------------------------------------------------

PHONES = ["+52 1 55 1234 5678", "5215512345678", "+525512345678", "+5491123456789", "0054 9 11 2345 6789",
          "00442079460000", "+44 020 7946 0000", "442079460000", "16505551234", "+1 (650) 555-1234",
          "0016505551234", "+0000", "12", "+999999999999999999", "", "  ", "abc", "+1 650 555 1234 ext 5",
          "0" * 70, "+8613800138000", "8613800138000", "+4915112345678", "+31 6 12345678"]


def _wa_id_or_error(f: Any, value: str) -> str:
    try:
        return str(f(value))
    except ValidationError as exc:
        return f"error {exc.field}: {exc.reason}"


@pytest.mark.parametrize("value", PHONES)
def test_the_wa_id_shortcut_is_normalize_wa_id(value: str) -> None:
    assert _wa_id_or_error(wa_id, value) == _wa_id_or_error(lambda v: normalize(v).wa_id, value)


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A\+?[0-9 ()\-]{0,20}\Z"))
def test_the_wa_id_shortcut_is_normalize_wa_id_for_typed_numbers(value: str) -> None:
    assert _wa_id_or_error(wa_id, value) == _wa_id_or_error(lambda v: normalize(v).wa_id, value)


# --- inserts ----------------------------------------------------------------------------------------

TEXT = {"messaging_product": "whatsapp", "to": "15550001111", "type": "text", "text": {"body": "hi"}}


def _job(to: str, key: str | None, campaign: str | None = "c1") -> NewJob:
    return NewJob(P, to, {**TEXT, "to": to}, False, key=key, campaign=campaign)


def test_add_keeps_the_order_the_keys_and_the_events_of_one_row_at_a_time(store_url: str) -> None:
    store = open_store(store_url)
    db = Database(store_url)
    log = EventLog(db.run)
    try:
        now = time.time()
        ((old_id, _),) = store.add([_job("15550000000", "k-old")], now)
        jobs = [_job("15550000001", "k1"), _job("15550000002", None), _job("15550000003", "k-old"),
                _job("15550000004", "k1"), _job("15550000005", "k5"), _job("15550000006", None, campaign=None)]
        out = store.add(jobs, now)
        created = [c for _, c in out]
        assert created == [True, True, False, False, True, True]
        assert out[2][0] == old_id and out[3][0] == out[0][0]  # a key taken before / earlier in this call
        new_ids = [int(i) for i, c in out if c]
        assert new_ids == sorted(new_ids) and len(set(new_ids)) == 4  # ids follow the jobs' order
        for (job_id, made), job in zip(out, jobs, strict=True):
            stored = store.get(job_id)
            assert stored is not None and stored.key == job.key
            if made:
                assert stored.to == job.to and stored.body == job.body and stored.campaign == job.campaign
        events = [e for e in log.read(0, 100, types=["job.state_changed"]) if e.data["job_id"] in map(str, new_ids)]
        assert [(e.data["job_id"], e.data["to"], e.data.get("campaign")) for e in events] == [
            (str(i), store.get(str(i)).to, store.get(str(i)).campaign) for i in new_ids]  # type: ignore[union-attr]
        steps = [e.data for e in log.read(0, 100, types=["campaign.progress"])]
        assert steps[-1] == {"campaign": "c1", "step": "queued", "jobs": 3}
        assert all(len(store.history(str(i))) == 1 for i in new_ids)
    finally:
        store.close()
        db.close()


def test_a_campaign_larger_than_one_insert_statement_is_stored_whole(store: Store) -> None:
    jobs = [_job(f"1555{i:07d}", f"big:{i}") for i in range(640)]
    out = store.add(jobs, time.time())
    assert all(c for _, c in out) and len({i for i, _ in out}) == 640
    assert [store.get(i).to for i, _ in out[::97]] == [j.to for j in jobs[::97]]  # type: ignore[union-attr]
    again = store.add(jobs[::-1], time.time())  # every key known: the same ids, none created
    assert [i for i, _ in again] == [i for i, _ in out][::-1] and not any(c for _, c in again)


# --- people -----------------------------------------------------------------------------------------


def test_people_gives_what_find_contact_gives_for_every_address(store: Store) -> None:
    ob = Outbox(store, phone_number_id=P)
    ob.learn(CustomerIds(wa_id="16505550001", bsuid="US.1111111111111111"))
    ob.learn(CustomerIds(bsuid="US.2222222222222222", username="anna"))
    ob.learn(CustomerIds(wa_id="16505550003"))
    ob.learn(CustomerIds(wa_id="16505550004", bsuid="US.4444444444444444"))
    ob.learn(CustomerIds(bsuid="US.4444444444444444", parent_bsuid="US.ENT.4444444444444444"))
    other = Outbox(store, phone_number_id="999")
    other.learn(CustomerIds(wa_id="16505550009"))
    addresses = ["16505550001", "US.1111111111111111", "US.2222222222222222", "16505550003", "16505550004",
                 "US.ENT.4444444444444444", "16505550009", "16505550010", "US.9999999999999999"]
    found = store.people(P, addresses)
    for address in addresses:
        record = store.find_contact(P, address)
        assert found.get(address) == (record.ids if record is not None else None), address


def test_broadcast_lists_and_raises_the_first_bad_row_in_row_order(store: Store) -> None:
    ob = Outbox(store, phone_number_id=P)
    # Row 2's text is refused when its body is checked, row 3's number when it is read: row 2 comes first.
    rows = [("+16505550001", ["a"]), ("+16505550002", ["bad\x00"]), ("12", ["c"]), ("+16505550001", ["d"]),
            (f"{BSUID}", ["e"])]
    with pytest.raises(ValidationError) as info:
        ob.broadcast("order_update", rows, strict=True, chunk=500)
    assert info.value.field == "recipients[1].template.components[0].parameters[0].text"
    campaign = ob.broadcast("order_update", rows, chunk=2)
    assert [row for row, _ in campaign.invalid] == [2, 3]
    assert campaign.queued == 2 and campaign.duplicates == 1  # row 4 is row 1's customer again
