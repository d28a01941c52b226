"""The gateway's business identity, template library and template operation routes against the embedded
sandbox over HTTP, with bad input answered by a 4xx naming the field."""

from __future__ import annotations

import time

from coverage.conftest import control
from gateway.conftest import LiveGateway

DAY = 86400


def test_username_reserve_status_and_release(live: LiveGateway) -> None:
    http = live.http
    assert http.get("/v1/username").json()["username"] is None
    got = http.post("/v1/username", json={"username": "bakery_downtown"}).json()
    assert (got["username"], got["status"]) == ("bakery_downtown", "approved")
    assert http.get("/v1/username").json()["username"] == "bakery_downtown"
    bad = http.post("/v1/username", json={"username": "ab"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "username"
    assert http.delete("/v1/username").json() == {"success": True}
    assert http.get("/v1/username").json()["username"] is None


def test_display_name_change_request(live: LiveGateway) -> None:
    http = live.http
    asked = http.post("/v1/display_name", json={"new_display_name": "Downtown Bakery"})
    assert asked.status_code == 202 and asked.json() == {"success": True}
    pending = http.get("/v1/display_name").json()
    assert pending["new_display_name"] == "Downtown Bakery" and pending["new_name_status"] == "PENDING_REVIEW"
    control(live, "/display_name", decision="APPROVED")
    assert http.get("/v1/display_name").json()["verified_name"] == "Downtown Bakery"
    blank = http.post("/v1/display_name", json={"new_display_name": "   "})
    assert blank.status_code == 422 and blank.json()["error"]["field"] == "new_display_name"


def test_conversational_components(live: LiveGateway) -> None:
    http = live.http
    body = {"enable_welcome_message": True, "prompts": ["Opening hours?", "Order status"],
            "commands": [{"command_name": "menu", "command_description": "See the menu"}]}
    assert http.put("/v1/conversational_automation", json=body).json() == {"success": True}
    got = http.get("/v1/conversational_automation").json()
    assert got["enable_welcome_message"] is True and got["prompts"] == body["prompts"]
    assert got["commands"] == body["commands"]
    too_many = http.put("/v1/conversational_automation", json={"prompts": ["a", "b", "c", "d", "e"]})
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "prompts"
    slash = http.put("/v1/conversational_automation",
                     json={"commands": [{"command_name": "/menu", "command_description": "x"}]})
    assert slash.status_code == 422 and slash.json()["error"]["field"] == "commands[0].command_name"
    assert http.put("/v1/conversational_automation", json={}).json()["error"]["field"] == "conversational_automation"


def test_commerce_settings(live: LiveGateway) -> None:
    http = live.http
    assert http.patch("/v1/commerce_settings", json={"is_cart_enabled": False, "is_catalog_visible": True}).json() \
        == {"success": True}
    got = http.get("/v1/commerce_settings").json()
    assert (got["is_cart_enabled"], got["is_catalog_visible"]) == (False, True)
    assert http.patch("/v1/commerce_settings", json={}).json()["error"]["field"] == "commerce_settings"
    assert http.patch("/v1/commerce_settings", json={"is_cart_enabled": "yes"}).json()["error"]["field"] \
        == "is_cart_enabled"


def test_template_library_browse_and_create(live: LiveGateway) -> None:
    http = live.http
    found = http.get("/v1/templates/library", params={"search": "order", "topic": "ORDER_MANAGEMENT"}).json()
    assert [t["name"] for t in found["data"]] == ["delivery_update_1"]
    made = http.post("/v1/templates/library", json={
        "name": "gw_delivery", "library_template_name": "delivery_update_1", "category": "UTILITY",
        "language": "en_US",
        "library_template_button_inputs": [{"type": "URL", "url": {"base_url": "https://shop.example/track"}}],
    })
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "APPROVED"
    assert [t["id"] for t in http.get("/v1/templates", params={"name": "gw_delivery"}).json()["data"]] \
        == [made.json()["id"]]
    no_url = http.post("/v1/templates/library", json={
        "name": "gw_nourl", "library_template_name": "delivery_update_1", "category": "UTILITY", "language": "en_US"})
    assert no_url.status_code == 400, no_url.text  # Meta's (the sandbox's) refusal, with its code
    bad = http.post("/v1/templates/library", json={
        "name": "ok", "library_template_name": "delivery_update_1", "category": "UTILITY", "language": "en_US",
        "library_template_button_inputs": [{"type": "URL", "url": {"base_url": "ftp://x"}}]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "library_template_button_inputs[0].url.base_url"


def _approved(live: LiveGateway, name: str) -> str:
    created = live.http.post("/v1/templates", json={
        "name": name, "language": "en_US", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Order {{1}} shipped.", "example": {"body_text": [["A1"]]}}]})
    assert created.status_code == 201, created.text
    tid: str = created.json()["id"]
    control(live, f"/templates/{tid}/status", status="APPROVED")
    return tid


def _status(live: LiveGateway, name: str) -> str:
    status: str = live.http.get("/v1/templates", params={"name": name}).json()["data"][0]["status"]
    return status


def test_archive_unarchive_unpause(live: LiveGateway) -> None:
    http = live.http
    tid = _approved(live, "gw_ops")
    assert http.post(f"/v1/templates/{tid}/archive").json() == {"success": True}
    assert _status(live, "gw_ops") == "ARCHIVED"
    assert http.post(f"/v1/templates/{tid}/archive").status_code == 400
    assert http.post(f"/v1/templates/{tid}/unarchive").json() == {"success": True}
    assert _status(live, "gw_ops") == "APPROVED"
    assert http.post(f"/v1/templates/{tid}/unpause").status_code == 400  # not paused
    control(live, f"/templates/{tid}/status", status="PAUSED")
    assert http.post(f"/v1/templates/{tid}/unpause").json() == {"success": True}
    assert _status(live, "gw_ops") == "APPROVED"
    assert http.post("/v1/templates/abc/archive").json()["error"]["field"] == "template_id"


def test_compare_and_migrate(live: LiveGateway) -> None:
    http = live.http
    one, two = _approved(live, "gw_cmp_one"), _approved(live, "gw_cmp_two")
    end = int(time.time())
    got = http.get(f"/v1/templates/{one}/compare", params={"other": two, "start": end - 30 * DAY, "end": end}).json()
    assert {m["metric"] for m in got["data"]} >= {"BLOCK_RATE", "MESSAGE_SENDS"}
    odd = http.get(f"/v1/templates/{one}/compare", params={"other": two, "start": end - 10 * DAY, "end": end})
    assert odd.status_code == 422 and odd.json()["error"]["field"] == "start"
    self_compare = http.get(f"/v1/templates/{one}/compare", params={"other": one, "start": end - 7 * DAY, "end": end})
    assert self_compare.json()["error"]["field"] == "other_template_id"
    waba = live.gw.settings.waba_id
    same = http.post("/v1/templates/migrate", json={"source_waba_id": waba})
    assert same.status_code == 422 and same.json()["error"]["field"] == "source_waba_id"
    unknown = http.post("/v1/templates/migrate", json={"source_waba_id": "999"})
    assert unknown.status_code == 400, unknown.text
    assert http.post("/v1/templates/migrate", json={"source_waba_id": "x"}).json()["error"]["field"] \
        == "source_waba_id"
