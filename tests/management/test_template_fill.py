"""Filling a template's parameters from flat values (CSV columns) and checking a campaign before queueing."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud.templates import TemplateMismatch
from wacloud.templates.fill import fill, prepare, slots


def definition(*components: dict[str, Any], named: bool = False, status: str = "APPROVED") -> dict[str, Any]:
    d: dict[str, Any] = {"name": "t", "language": "en_US", "status": status, "components": list(components)}
    if named:
        d["parameter_format"] = "NAMED"
    return d


SEND = {"name": "t", "language": {"code": "en_US"}}
BODY = {"type": "BODY", "text": "Hi {{1}}, order {{2}}."}
HEADER = {"type": "HEADER", "format": "TEXT", "text": "For {{1}}"}
BUTTONS = {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop"},
                                          {"type": "URL", "text": "Go", "url": "https://x.example/{{1}}"}]}


def test_slots_name_every_parameter_and_quick_replies_are_optional() -> None:
    names = [(s.name, s.required) for s in slots(definition(HEADER, BODY, BUTTONS))]
    assert names == [("header.1", True), ("1", True), ("2", True), ("button.0", False), ("button.1", True)]
    auth = definition({"type": "BODY", "add_security_recommendation": True},
                      {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE"}]})
    assert [s.name for s in slots(auth)] == ["1", "button.0"]


def test_fill_builds_components_that_pass_the_check() -> None:
    comps = fill(definition(HEADER, BODY, BUTTONS), {"header.1": "Ana", "body.1": "Ana", "2": "A-1",
                                                     "button.1": "trk", "extra": "ignored"})
    assert comps == [
        {"type": "header", "parameters": [{"type": "text", "text": "Ana"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A-1"}]},
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "trk"}]},
    ]
    with pytest.raises(TemplateMismatch, match="is empty") as err:
        fill(definition(BODY), {"1": "a", "2": " "})
    assert err.value.field == "2"


def test_prepare_refuses_missing_columns_warns_on_extra_and_lists_bad_rows() -> None:
    d = definition({"type": "BODY", "text": "Hi {{first_name}}"}, named=True)
    with pytest.raises(TemplateMismatch, match="first_name"):
        prepare(SEND, [d], [{"name": "Ana"}])
    with pytest.raises(TemplateMismatch, match="no template named"):
        prepare({"name": "nope", "language": {"code": "en_US"}}, [d], [{"first_name": "Ana"}])
    with pytest.raises(TemplateMismatch, match="PAUSED"):
        prepare(SEND, [definition(BODY, status="PAUSED")], [{"1": "a", "2": "b"}])
    carousel = definition(BODY, {"type": "CAROUSEL", "cards": []})
    with pytest.raises(TemplateMismatch, match="carousel"):
        prepare(SEND, [carousel], [{"1": "a", "2": "b"}])
    done = prepare(SEND, [d], [{"first_name": "Ana", "email": "a@x"}, {"first_name": ""},
                               {"first_name": "x" * 2000}])
    assert done.warnings == ["'email' is not a parameter of template 't'; ignored"]
    assert done.components[0] == [{"type": "body", "parameters": [
        {"type": "text", "parameter_name": "first_name", "text": "Ana"}]}]
    assert done.components[1:] == [None, None]
    assert [(i, f) for i, f, _ in done.invalid] == [(1, "first_name"), (2, "template.components[0].parameters")]
