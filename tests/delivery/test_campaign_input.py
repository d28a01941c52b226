"""Campaign input: recipients from iterables and CSV files, per-recipient template parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from wacloud.delivery import Recipient
from wacloud.delivery.campaign import recipients_from, template_object, with_params
from wacloud.errors import ValidationError
from wacloud.messages import Template, Text


def test_recipients_from_every_kind_of_iterable() -> None:
    got = list(recipients_from([
        "+16505550001",
        16505550002,
        ("+16505550003", "Ana", "A-1"),
        ("+16505550004", {"first_name": "Bo"}),
        {"to": "+16505550005", "1": "x", "2": "y", "key": "row-5"},
        Recipient("+16505550006", ["z"]),
    ]))
    assert [r.to for r in got] == ["+16505550001", "16505550002", "+16505550003", "+16505550004",
                                   "+16505550005", "+16505550006"]
    assert got[2].params == ["Ana", "A-1"]
    assert got[3].params == {"first_name": "Bo"}
    assert got[4].params == ["x", "y"] and got[4].key == "row-5"
    with pytest.raises(ValidationError):
        list(recipients_from([object()]))


def test_recipients_from_csv_positional_and_named(tmp_path: Path) -> None:
    positional = tmp_path / "p.csv"
    positional.write_text("\ufeffphone,2,1\n+16505550001,second,first\n", encoding="utf-8")
    assert [r.params for r in recipients_from(positional)] == [["first", "second"]]
    named = tmp_path / "n.csv"
    named.write_text("wa_id,first_name\n16505550001,Ana\n", encoding="utf-8")
    assert [r.params for r in recipients_from(str(named))] == [{"first_name": "Ana"}]
    bad = tmp_path / "b.csv"
    bad.write_text("name,city\nAna,Lima\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="phone column"):
        list(recipients_from(bad))
    with pytest.raises(ValidationError, match="cannot read"):
        list(recipients_from(tmp_path / "missing.csv"))


def test_template_objects_and_parameters() -> None:
    assert template_object("promo", None) == {"name": "promo", "language": {"code": "en_US"}}
    model = template_object(Template("promo", "es_MX"), None)
    assert model["name"] == "promo" and model["language"] == {"code": "es_MX"}
    graph = template_object({"type": "template", "template": {"name": "x", "language": {"code": "en"}}}, "pt_BR")
    assert graph["language"] == {"code": "pt_BR"}
    for bad in ("", 5, {"language": {"code": "en"}}, Text("hi")):
        with pytest.raises(ValidationError):
            template_object(bad, None)
    base = {"name": "x", "language": {"code": "en"},
            "components": [{"type": "body", "parameters": []}, {"type": "button", "index": "0"}]}
    filled = with_params(base, ["a", "b"])
    assert filled["components"][0] == {"type": "body", "parameters": [{"type": "text", "text": "a"},
                                                                      {"type": "text", "text": "b"}]}
    assert filled["components"][1] == {"type": "button", "index": "0"}
    assert base["components"][0] == {"type": "body", "parameters": []}  # the base is not changed
    named = with_params(base, {"first_name": "Ana"})
    assert named["components"][0]["parameters"] == [{"type": "text", "parameter_name": "first_name",
                                                     "text": "Ana"}]
    assert with_params(base, []) == base


def test_strict_broadcast_errors_name_campaign_fields_and_count_recipients_from_0(store_url: str) -> None:
    from wacloud.delivery import Outbox, open_store

    ob = Outbox(open_store(store_url), phone_number_id="106540352242922")
    hello = {"name": "hello_world", "language": {"code": "en_US"}}
    try:
        with pytest.raises(ValidationError) as info:
            ob.broadcast(hello, ["+16505550001", "12", "+16505550003"], strict=True)
        assert info.value.field == "recipients[1].to"  # 0-based, like every other list path
        # Campaign-level settings are the campaign's fault, not the first recipient's.
        for kwargs, field in (({"category": "promo"}, "category"), ({"not_before": "soon"}, "not_before"),
                              ({"priority": 7}, "priority")):
            for strict in (True, False):
                with pytest.raises(ValidationError) as info:
                    ob.broadcast(hello, ["+16505550001", "+16505550002"], strict=strict, **kwargs)
                assert info.value.field == field, (kwargs, strict)
        assert ob.jobs() == []
        # Without strict, bad rows are listed by their (1-based) row number and the rest is queued.
        campaign = ob.broadcast(hello, ["+16505550001", "12"])
        assert campaign.queued == 1 and [row for row, _ in campaign.invalid] == [2]
    finally:
        ob.close()
