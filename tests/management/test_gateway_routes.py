"""The gateway's management API (templates, profile, QR, blocked users) over real HTTP, sandbox mode."""

from __future__ import annotations

from typing import Any

import httpx

from management.helpers import good_definition, mutate
from wacloud.templates import TemplateBuilder


def test_templates_list_create_validate_delete(gateway: Any) -> None:
    http = gateway.http
    created = http.post("/v1/templates", json=good_definition())
    assert created.status_code == 201, created.text
    tpl_id = created.json()["id"]
    page = http.get("/v1/templates", params={"name": "seasonal_promo"}).json()
    assert [t["id"] for t in page["data"]] == [tpl_id]
    bad = http.post("/v1/templates", json=mutate(good_definition(), ["components", 2, "text"], "Bye {{1}}"))
    assert bad.status_code == 422
    assert bad.json()["error"] == {
        "reason": "a footer may not contain variables",
        "field": "components[2].text",
        "code": 100,
        "subcode": 2388073,
    }
    for t in gateway.sandbox_state.templates.values():
        if t.id == tpl_id:
            t.status = "APPROVED"
    send = {
        "name": "seasonal_promo",
        "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "text", "text": "Sale"}]},
            {"type": "body", "parameters": [{"type": "text", "text": "May"}]},
        ],
    }
    mismatch = http.post("/v1/templates/validate", json=send)
    assert mismatch.status_code == 422
    assert mismatch.json()["error"]["code"] == 132000 and mismatch.json()["error"]["kind"] == "param_count"
    send["components"][1]["parameters"].append({"type": "text", "text": "CODE"})
    send["components"].append(
        {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "CODE"}]}
    )
    assert http.post("/v1/templates/validate", json=send).json()["id"] == tpl_id
    assert http.delete("/v1/templates/seasonal_promo").json() == {"success": True}
    assert http.get("/v1/templates", params={"name": "seasonal_promo"}).json()["data"] == []


def test_template_builder_body_through_the_gateway(gateway: Any) -> None:
    body = (
        TemplateBuilder("gw_named", "en_US", "UTILITY", parameter_format="NAMED")
        .body("Hi {{first_name}}, welcome.", first_name="Ana")
        .build()
        .to_graph()
    )
    assert gateway.http.post("/v1/templates", json=body).status_code == 201


def test_profile(gateway: Any) -> None:
    http = gateway.http
    assert http.patch("/v1/profile", json={"about": "Gateway bakery", "vertical": "RETAIL"}).json() == {"success": True}
    profile = http.get("/v1/profile").json()
    assert (profile["about"], profile["vertical"]) == ("Gateway bakery", "RETAIL")
    too_long = http.patch("/v1/profile", json={"about": "a" * 140})
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "about"
    assert http.patch("/v1/profile", json={"vertical": "BAKERY"}).status_code == 422
    assert http.patch("/v1/profile", json={"email": "nope"}).json()["error"]["field"] == "email"


def test_qr_codes(gateway: Any) -> None:
    http = gateway.http
    qr = http.post("/v1/qr", json={"prefilled_message": "Menu please", "generate_qr_image": "PNG"})
    assert qr.status_code == 201 and qr.json()["qr_image_url"]
    code = qr.json()["code"]
    assert code in [q["code"] for q in http.get("/v1/qr").json()["data"]]
    assert http.patch(f"/v1/qr/{code}", json={"prefilled_message": "Menu!"}).json()["prefilled_message"] == "Menu!"
    assert http.delete(f"/v1/qr/{code}").json() == {"success": True}
    gone = http.delete(f"/v1/qr/{code}")
    assert gone.status_code == 400 and gone.json()["error"]["code"] == 100
    assert http.post("/v1/qr", json={"prefilled_message": "x" * 141}).status_code == 422


def test_blocked_users(gateway: Any) -> None:
    http = gateway.http
    resp = http.post("/sandbox/_sandbox/inbound", json={"from": "15550009999", "text": "hi"})
    assert resp.status_code == 200
    result = http.post("/v1/blocked", json={"users": ["+1 555 000 9999", "15550008888"]}).json()
    assert [u["wa_id"] for u in result["added_users"]] == ["15550009999"]
    assert [u["input"] for u in result["failed_users"]] == ["15550008888"]
    assert "15550009999" in [u["wa_id"] for u in http.get("/v1/blocked").json()["data"]]
    removed = http.post("/v1/blocked/remove", json={"users": ["15550009999"]}).json()
    assert [u["wa_id"] for u in removed["removed_users"]] == ["15550009999"]
    assert http.post("/v1/blocked", json={"users": []}).status_code == 422
    assert http.post("/v1/blocked", json={"users": ["x"]}).status_code == 422


def test_management_routes_need_an_api_key(gateway: Any) -> None:
    for method, path in (
        ("GET", "/v1/templates"),
        ("GET", "/v1/profile"),
        ("GET", "/v1/qr"),
        ("GET", "/v1/blocked"),
        ("POST", "/v1/templates"),
    ):
        assert httpx.request(method, f"{gateway.url}{path}").status_code == 401
        assert (
            httpx.request(method, f"{gateway.url}{path}", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
