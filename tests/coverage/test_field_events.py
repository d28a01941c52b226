"""The account-wide, calling and group webhook fields reach the gateway's event log: each example of the field
inventory, signed and POSTed to the gateway's ``/webhook``, comes out of ``GET /v1/events`` as its event."""

from __future__ import annotations

import copy
import json
from typing import Any

import httpx
import pytest

from gateway.conftest import APP_SECRET, LiveGateway, wait_for
from wacloud.webhooks import sign
from webhooks.field_inventory import CASES, Case

#: Field → the event type its updates become (fields of the conversation log and the outbox are tested
#: with those parts: messages, echoes, history, state sync, user preferences).
EVENT_OF: dict[str, str] = {
    "message_template_status_update": "template.status_changed",
    "message_template_quality_update": "template.quality_changed",
    "template_category_update": "template.category_changed",
    "phone_number_quality_update": "number.throughput_changed",  # the inventory's example is THROUGHPUT_UPGRADE
    **dict.fromkeys(("account_update", "account_alerts", "account_review_update", "business_capability_update",
                     "phone_number_name_update", "security", "payment_configuration_update", "partner_solutions"),
                    "account.updated"),
    "calls": "call.updated",
    **dict.fromkeys(("group_lifecycle_update", "group_participants_update", "group_participant_update",
                     "group_settings_update", "group_status_update"), "group.updated"),
}
_CASES = [case for case in CASES if case.field in EVENT_OF]


def _for_this_number(body: dict[str, Any], live: LiveGateway) -> dict[str, Any]:
    """The example as if sent to the gateway's number (per-number fields name it in ``metadata``; number
    quality by its display number)."""
    body = copy.deepcopy(body)
    lane = live.gw.numbers.default
    for entry in body["entry"]:
        for change in entry["changes"]:
            meta = change["value"].get("metadata")
            if isinstance(meta, dict):
                meta["phone_number_id"] = lane.phone_number_id
            if change["field"] == "phone_number_quality_update":
                change["value"]["display_phone_number"] = lane.display
    return body


def _matches(event: dict[str, Any], case: Case, body: dict[str, Any]) -> bool:
    data = event["data"]
    if case.field == "calls":
        first = case.body["entry"][0]["changes"][0]["value"]
        item = (first.get("calls") or first.get("statuses"))[0]
        return bool(data.get("call_id") == item["id"] and data.get("event") == item.get("event", "status"))
    if event["type"] == "group.updated":
        return bool(data.get("field") == case.field)
    return bool(data.get("field") == case.field and data.get("value") == body["entry"][0]["changes"][0]["value"])


def test_the_mapping_covers_every_account_call_and_group_field() -> None:
    assert {case.field for case in _CASES} == set(EVENT_OF)


@pytest.mark.parametrize("case", _CASES, ids=[c.id for c in _CASES])
def test_the_field_becomes_its_event(live: LiveGateway, case: Case) -> None:
    body = _for_this_number(case.body, live)
    raw = json.dumps(body).encode()
    posted = httpx.post(f"{live.url}/webhook", content=raw, timeout=10, headers={
        "content-type": "application/json", "x-hub-signature-256": sign(raw, APP_SECRET)})
    assert posted.status_code == 200, posted.text
    kind = EVENT_OF[case.field]

    def found() -> dict[str, Any] | None:
        page = live.http.get("/v1/events", params={"types": kind, "limit": 1000}).json()
        return next((e for e in page["events"] if _matches(e, case, body)), None)

    event = wait_for(found, 10, f"the {kind} event of {case.id}")
    assert event["type"] == kind
