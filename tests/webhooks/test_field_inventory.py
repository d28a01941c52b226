"""Every webhook field Meta documents parses to its typed update, never to the raw fallback.

Each case of :mod:`field_inventory` goes through ``parse()`` and through a signed POST to the receiver;
Meta's own OpenAPI examples (read from ``../shared/spec`` at run time) go through both too. The table in
docs/webhooks.md is checked against the same inventory.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from wacloud.webhooks import KNOWN_FIELDS, CallUpdate, RawUpdate, Update, parse
from wacloud.webhooks.receiver import WebhookReceiver

from . import payloads as p
from . import payloads_calls_groups as cg
from .field_inventory import CASES, DOCUMENTED_FIELDS, OPENAPI_EXAMPLES, Case, get

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _received(body: dict[str, Any]) -> list[Update]:
    """The updates a receiver hands its handler for a genuine signed POST of ``body``."""
    seen: list[Update] = []
    rec = WebhookReceiver(app_secret=p.SECRET, verify_token=p.VERIFY_TOKEN, on_update=seen.append)
    raw = p.body(body)
    status, answer = rec.handle_post(raw, p.signed_headers(raw))
    assert status == 200, answer
    return seen


def _check(updates: list[Update], cls: type[Update], expect: dict[str, Any]) -> None:
    raw = [u for u in updates if isinstance(u, RawUpdate)]
    assert not raw, [u.reason for u in raw]
    assert updates and type(updates[0]) is cls, updates
    for path, value in expect.items():
        assert get(updates[0], path) == value, path


def test_every_documented_field_is_known_and_in_the_inventory() -> None:
    assert not DOCUMENTED_FIELDS - KNOWN_FIELDS, DOCUMENTED_FIELDS - KNOWN_FIELDS
    assert {case.field for case in CASES} == set(KNOWN_FIELDS) == set(DOCUMENTED_FIELDS)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_field_parses_to_its_typed_update(case: Case) -> None:
    assert case.expect, "a case must check something"
    assert case.body["entry"][0]["changes"][0]["field"] == case.field
    parsed = parse(p.body(case.body))
    _check(parsed, case.cls, case.expect)
    assert all(u.field == case.field for u in parsed)
    # The same through the receiver: signature checked, then the handler gets the same typed updates.
    received = _received(case.body)
    assert [type(u) for u in received] == [type(u) for u in parsed]
    _check(received, case.cls, case.expect)


def test_a_call_status_given_as_a_list_is_read() -> None:
    """Some of Meta's call samples give the terminate status as a one-item list; it is read as the string."""
    body = cg.envelope("calls", cg.calls_value(calls=[{
        "id": cg.CALL_ID, "from": cg.USER, "to": cg.META["display_phone_number"], "event": "terminate",
        "timestamp": "1671644900", "direction": "USER_INITIATED", "status": ["FAILED"]}]))
    _check(parse(p.body(body)), CallUpdate, {"call.status": "FAILED", "call.duration": None})


def test_a_field_meta_adds_later_still_arrives_raw() -> None:
    [update] = parse(p.body(p.envelope(p.change("some_field_from_2027", {"x": 1}))))
    assert isinstance(update, RawUpdate) and update.field == "some_field_from_2027"
    assert "unknown field" in update.reason and update.raw == {"field": "some_field_from_2027", "value": {"x": 1}}


# --- Meta's OpenAPI examples ------------------------------------------------------------------------


def _openapi_examples(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    op = spec["paths"]["/whatsapp/webhooks"]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    return {name: ex["value"] for name, ex in examples.items()}


def test_every_openapi_webhook_example_is_in_the_inventory(openapi_spec: dict[str, Any]) -> None:
    assert set(_openapi_examples(openapi_spec)) == set(OPENAPI_EXAMPLES)


@pytest.mark.parametrize("name", sorted(OPENAPI_EXAMPLES))
def test_the_openapi_example_parses_typed(openapi_spec: dict[str, Any], name: str) -> None:
    body = _openapi_examples(openapi_spec)[name]
    cls, expect = OPENAPI_EXAMPLES[name]
    _check(parse(p.body(body)), cls, expect)
    _check(_received(body), cls, expect)


# --- the docs --------------------------------------------------------------------------------------


def test_the_docs_table_lists_every_field_with_its_class() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+?) \|", text, flags=re.MULTILINE)
    documented: dict[str, str] = {}
    for fld, classes in rows:
        documented[fld] = documented.get(fld, "") + classes
    assert set(documented) >= set(KNOWN_FIELDS), set(KNOWN_FIELDS) - set(documented)
    for case in CASES:
        assert f"`{case.cls.__name__}`" in documented[case.field], (case.field, case.cls.__name__)
