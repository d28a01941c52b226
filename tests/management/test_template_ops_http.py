"""Template library (browse, create from it), archive/unarchive, unpause, compare and migrate: the client
against the sandbox over real HTTP, with the local checks and the sandbox's refusals."""

from __future__ import annotations

import time
from typing import Any

import pytest

from wacloud import errors
from wacloud.sandbox.testing import run_sandbox
from wacloud.templates import TemplateBuilder

DAY = 86400


def test_browse_the_library_with_filters(box: Any) -> None:
    client = box.client()
    everything = client.list_library_templates()
    assert {t["name"] for t in everything.data} >= {"delivery_update_1", "appointment_reminder_1"}
    found = client.list_library_templates(search="order", topic="ORDER_MANAGEMENT", language="en_US")
    assert [t["name"] for t in found.data] == ["delivery_update_1"]
    assert client.list_library_templates(industry="HEALTH").data[0]["usecase"] == "APPOINTMENT_REMINDER"
    assert client.list_library_templates(usecase="NOPE").data == []


def test_create_from_a_library_template(box: Any) -> None:
    client = box.client()
    made = client.create_from_library(
        "my_delivery", "delivery_update_1", category="UTILITY", language="en_US",
        button_inputs=[{"type": "URL", "url": {"base_url": "https://shop.example/track", "url_suffix_example": "A1"}}],
    )
    assert made.status == "APPROVED"
    tpl = client.get_template(made.id)
    assert tpl["name"] == "my_delivery"
    assert tpl["components"][-1]["buttons"][0]["url"] == "https://shop.example/track/{{1}}"
    # The library fixes the category; its URL button needs a base_url.
    with pytest.raises(errors.InvalidRequest):
        client.create_from_library("x_mkt", "delivery_update_1", category="MARKETING", language="en_US")
    with pytest.raises(errors.InvalidRequest):
        client.create_from_library("x_nourl", "delivery_update_1", category="UTILITY", language="en_US")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"library_template_name": ""}, "library_template_name"),
        ({"category": "OTHER"}, "category"),
        ({"language": "english"}, "language"),
        ({"button_inputs": [{"type": "URL", "url": {"base_url": "ftp://x"}}]},
         "library_template_button_inputs[0].url.base_url"),
        ({"button_inputs": [{"type": "PHONE_NUMBER"}]}, "library_template_button_inputs[0].phone_number"),
        ({"button_inputs": [{"type": "SPACESHIP"}]}, "library_template_button_inputs[0].type"),
    ],
)
def test_create_from_library_checked_locally(box: Any, kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"name": "ok_name", "library_template_name": "delivery_update_1",
                            "category": "UTILITY", "language": "en_US", **kwargs}
    with pytest.raises(errors.ValidationError) as info:
        box.client().create_from_library(args.pop("name"), args.pop("library_template_name"), **args)
    assert info.value.field == field


def _approved(box: Any, name: str) -> str:
    client = box.client()
    made = client.create_template(TemplateBuilder(name, "en_US", "UTILITY").body("Order {{1}} shipped.", "A1").build())
    box.control.post(f"/_sandbox/templates/{made.id}/status", json={"status": "APPROVED"}).raise_for_status()
    return made.id


def test_archive_unarchive_and_unpause(box: Any) -> None:
    client = box.client()
    tid = _approved(box, "ops_one")
    assert client.archive_template(tid) is True
    assert client.get_template(tid)["status"] == "ARCHIVED"
    with pytest.raises(errors.InvalidRequest):
        client.archive_template(tid)
    assert client.unarchive_template(tid) is True
    assert client.get_template(tid)["status"] == "APPROVED"
    with pytest.raises(errors.InvalidRequest):
        client.unpause_template(tid)  # not paused
    box.control.post(f"/_sandbox/templates/{tid}/status", json={"status": "PAUSED"}).raise_for_status()
    assert client.get_template(tid)["status"] == "PAUSED"
    assert client.unpause_template(tid) is True
    assert client.get_template(tid)["status"] == "APPROVED"
    with pytest.raises(errors.InvalidRequest):
        client.unpause_template("999999999")
    with pytest.raises(errors.ValidationError):
        client.archive_template("a/b")


def test_compare_two_templates(box: Any) -> None:
    client = box.client()
    one, two = _approved(box, "cmp_one"), _approved(box, "cmp_two")
    end = int(time.time())
    got = client.compare_templates(one, two, start=end - 30 * DAY, end=end)
    block = got.metric("BLOCK_RATE")
    assert block is not None and set(block["order_by_relative_metric"]) == {one, two}
    assert got.metric("MESSAGE_SENDS") is not None
    with pytest.raises(errors.ValidationError) as info:
        client.compare_templates(one, two, start=end - 10 * DAY, end=end)
    assert info.value.field == "start"
    with pytest.raises(errors.ValidationError):
        client.compare_templates(one, one, start=end - 7 * DAY, end=end)
    raw = box.graph("GET", f"{one}/compare", params={"template_ids": f'["{two}", "{one}"]', "start": 0, "end": 7 * DAY})
    assert raw.status_code == 400


def test_migrate_between_wabas() -> None:
    second = {"phone_number_id": "106540352242999", "display_phone_number": "15550783999", "waba_id": "200000000000002"}
    with run_sandbox(extra_phone_numbers=[second]) as sbx:
        client = sbx.client()
        result = client.migrate_templates(sbx.app.state.config.waba_id, waba_id="200000000000002", page_number=0)
        assert result.migrated_templates and all(isinstance(i, str) for i in result.migrated_templates)
        with pytest.raises(errors.ValidationError):
            client.migrate_templates("200000000000002", waba_id="200000000000002")
        with pytest.raises(errors.InvalidRequest):
            client.migrate_templates("999", waba_id="200000000000002")
        with pytest.raises(errors.ValidationError):
            client.migrate_templates("999", page_number=-1)
