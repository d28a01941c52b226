"""Templates: management endpoints, the PENDING → APPROVED/REJECTED lifecycle with its webhooks, and the
send-time checks with Meta's codes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.helpers import WA_ID, error_code, send
from wacloud.sandbox.testing import SandboxHandle, WebhookSink

DEFINITION = {
    "name": "shipping_update",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{1}}, your parcel {{2}} ships today.",
            "example": {"body_text": [["Ana", "ZX81"]]},
        }
    ],
}


def _create(sandbox: SandboxHandle, body: dict[str, Any]) -> httpx.Response:
    return sandbox.http.post(f"/{sandbox.waba_id}/message_templates", json=body)


def _send_tpl(
    sandbox: SandboxHandle,
    name: str,
    components: list[dict[str, Any]] | None = None,
    language: str = "en_US",
    version: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "to": WA_ID,
        "type": "template",
        "template": {"name": name, "language": {"code": language}},
    }
    if components is not None:
        body["template"]["components"] = components
    if version is None:
        return send(sandbox, body, raw=True)
    return httpx.post(
        f"{sandbox.base_url}/{version}/{sandbox.phone_number_id}/messages",
        json=body,
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )


def _body(*texts: str, named: list[str] | None = None) -> list[dict[str, Any]]:
    params = [{"type": "text", "text": t} for t in texts]
    if named is not None:
        for p, n in zip(params, named, strict=True):
            p["parameter_name"] = n
    return [{"type": "body", "parameters": params}]


def test_lifecycle_pending_approved_with_webhooks(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    sandbox.configure(template_review_s=None)
    created = _create(sandbox, DEFINITION).json()
    assert created["status"] == "PENDING" and created["category"] == "UTILITY"
    assert error_code(_send_tpl(sandbox, "shipping_update", _body("Ana", "ZX81"))) == 132001
    sandbox.set_template_status(created["id"], "APPROVED")
    assert _send_tpl(sandbox, "shipping_update", _body("Ana", "ZX81")).status_code == 200
    webhook_sink.wait_for(lambda s: bool(s.changes("message_template_status_update")))
    [update] = webhook_sink.changes("message_template_status_update")
    assert update == {
        "event": "APPROVED",
        "message_template_id": int(created["id"]),
        "message_template_name": "shipping_update",
        "message_template_language": "en_US",
        "reason": "NONE",
        "message_template_category": "UTILITY",
    }
    entry = next(
        d.json
        for d in webhook_sink.deliveries
        if d.json["entry"][0]["changes"][0]["field"] == "message_template_status_update"
    )["entry"][0]
    assert entry["id"] == sandbox.waba_id and isinstance(entry["time"], int)


def test_review_delay_approves_automatically(sandbox: SandboxHandle) -> None:
    sandbox.freeze()
    sandbox.configure(template_review_s=60)
    created = _create(sandbox, DEFINITION).json()
    sandbox.advance(59)
    assert sandbox.http.get(f"/{created['id']}").json()["status"] == "PENDING"
    sandbox.advance(1)
    assert sandbox.http.get(f"/{created['id']}").json()["status"] == "APPROVED"


def test_rejection_pause_disable(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    sandbox.configure(template_review_s=None)
    created = _create(sandbox, DEFINITION).json()
    sandbox.set_template_status(created["id"], "REJECTED", "INVALID_FORMAT")
    got = sandbox.http.get(f"/{created['id']}").json()
    assert got["status"] == "REJECTED" and got["rejected_reason"] == "INVALID_FORMAT"
    assert error_code(_send_tpl(sandbox, "shipping_update", _body("Ana", "ZX81"))) == 132001
    sandbox.set_template_status(created["id"], "PAUSED")
    assert error_code(_send_tpl(sandbox, "shipping_update", _body("Ana", "ZX81"))) == 132015
    sandbox.set_template_status(created["id"], "DISABLED")
    assert error_code(_send_tpl(sandbox, "shipping_update", _body("Ana", "ZX81"))) == 132016
    webhook_sink.wait_for(lambda s: len(s.changes("message_template_status_update")) == 3)
    events = [c["event"] for c in webhook_sink.changes("message_template_status_update")]
    assert events == ["REJECTED", "PAUSED", "DISABLED"]
    rejected = webhook_sink.changes("message_template_status_update")[0]
    assert rejected["rejection_info"]["reason"] == "INVALID_FORMAT"
    assert "other_info" in webhook_sink.changes("message_template_status_update")[1]
    assert "disable_info" in webhook_sink.changes("message_template_status_update")[2]


def test_list_get_edit_delete(sandbox: SandboxHandle) -> None:
    sandbox.configure(template_review_s=None)
    created = _create(sandbox, DEFINITION).json()
    listing = sandbox.http.get(f"/{sandbox.waba_id}/message_templates", params={"name": "shipping_update"}).json()
    assert [t["id"] for t in listing["data"]] == [created["id"]]
    assert listing["data"][0]["parameter_format"] == "POSITIONAL"
    page = sandbox.http.get(f"/{sandbox.waba_id}/message_templates", params={"limit": 2}).json()
    assert len(page["data"]) == 2 and "next" in page["paging"]
    rest = sandbox.http.get(
        f"/{sandbox.waba_id}/message_templates", params={"limit": 100, "after": page["paging"]["cursors"]["after"]}
    ).json()
    assert len(page["data"]) + len(rest["data"]) == len(sandbox.control.get("/templates").json()["templates"])
    approved = sandbox.http.get(f"/{sandbox.waba_id}/message_templates", params={"status": "APPROVED"}).json()
    assert created["id"] not in {t["id"] for t in approved["data"]}
    fields = sandbox.http.get(f"/{sandbox.waba_id}/message_templates", params={"fields": "name,status"}).json()
    assert set(fields["data"][0]) == {"name", "status", "id"}
    # PENDING can't be edited; APPROVED can, and goes back to review.
    new = {
        "components": [
            {
                "type": "BODY",
                "text": "Hello {{1}}, parcel {{2}} is on its way.",
                "example": {"body_text": [["Ana", "ZX81"]]},
            }
        ]
    }
    assert error_code(sandbox.http.post(f"/{created['id']}", json=new)) == 100
    sandbox.set_template_status(created["id"], "APPROVED")
    assert sandbox.http.post(f"/{created['id']}", json=new).json() == {"success": True}
    got = sandbox.http.get(f"/{created['id']}").json()
    assert got["components"] == new["components"] and got["status"] == "PENDING"
    sandbox.set_template_status(created["id"], "APPROVED")
    r = sandbox.http.post(f"/{created['id']}", json={"category": "MARKETING"})
    assert error_code(r) == 100  # an approved template keeps its category
    r = sandbox.http.delete(f"/{sandbox.waba_id}/message_templates", params={"name": "shipping_update"})
    assert r.json() == {"success": True}
    assert error_code(sandbox.http.get(f"/{created['id']}")) == 100
    assert error_code(sandbox.http.delete(f"/{sandbox.waba_id}/message_templates", params={"name": "nope"})) == 100


def test_delete_by_ids(sandbox: SandboxHandle) -> None:
    a = _create(sandbox, DEFINITION).json()["id"]
    b = _create(sandbox, {**DEFINITION, "language": "es"}).json()["id"]
    r = sandbox.http.delete(f"/{sandbox.waba_id}/message_templates", params={"hsm_ids": f'["{a}","{b}"]'})
    assert r.json() == {"success": True}
    assert (
        error_code(sandbox.http.delete(f"/{sandbox.waba_id}/message_templates", params={"hsm_ids": f'["{a}"]'})) == 100
    )


@pytest.mark.parametrize(
    ("change", "subcode"),
    [
        ({"name": "Bad Name"}, None),
        ({"category": "PROMO"}, None),
        ({"components": []}, 2388039),
        ({"components": [{"type": "BODY", "text": "{{1}} starts the body"}]}, 2388299),
        ({"components": [{"type": "BODY", "text": "Hi {{1}} and {{3}} now"}]}, 2388072),
        ({"components": [{"type": "BODY", "text": "x" * 1025}]}, 2388040),
        ({"components": [{"type": "HEADER", "format": "GIF"}, {"type": "BODY", "text": "hi"}]}, 2388047),
        ({"components": [{"type": "BODY", "text": "hi"}, {"type": "FOOTER", "text": "f {{1}}"}]}, 2388073),
    ],
)
def test_creation_rules(sandbox: SandboxHandle, change: dict[str, Any], subcode: int | None) -> None:
    r = _create(sandbox, {**DEFINITION, **change})
    assert error_code(r) == 100
    assert r.json()["error"].get("error_subcode") == subcode


def test_duplicate_and_foreign_waba(sandbox: SandboxHandle) -> None:
    assert _create(sandbox, DEFINITION).status_code == 200
    r = _create(sandbox, DEFINITION)
    assert error_code(r) == 100 and r.json()["error"]["error_subcode"] == 2388024
    assert error_code(sandbox.http.get("/123/message_templates")) == 100


def test_authentication_templates_are_approved_at_once(sandbox: SandboxHandle) -> None:
    r = _create(
        sandbox,
        {
            "name": "login_code",
            "language": "en_US",
            "category": "AUTHENTICATION",
            "components": [
                {"type": "BODY", "add_security_recommendation": True},
                {"type": "FOOTER", "code_expiration_minutes": 10},
                {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy"}]},
            ],
        },
    )
    assert r.json()["status"] == "APPROVED"
    ok = _send_tpl(
        sandbox,
        "login_code",
        [
            *_body("123456"),
            {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "123456"}]},
        ],
    )
    assert ok.status_code == 200, ok.text


# --- send-time checks against the seeded templates -------------------------------------------------


PROMO_HEADER = {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/p.jpg"}}]}


def test_seeded_templates_send(sandbox: SandboxHandle) -> None:
    assert _send_tpl(sandbox, "hello_world").status_code == 200
    assert _send_tpl(sandbox, "order_shipped", _body("Ana", "A-1", named=["first_name", "order_id"])).status_code == 200
    assert _send_tpl(sandbox, "seasonal_promotion", [PROMO_HEADER, *_body("spring", "S10", "10%")]).status_code == 200
    url = {"type": "button", "sub_type": "url", "index": 2, "parameters": [{"type": "text", "text": "123"}]}
    r = _send_tpl(sandbox, "appointment_reminder", [*_body("Ana", "May 3"), url])
    assert r.status_code == 200 and r.json()["messages"][0]["message_status"] == "accepted"


@pytest.mark.parametrize(
    ("label", "name", "components", "code"),
    [
        ("unknown name", "no_such", None, 132001),
        ("wrong language", "hello_world", None, 132001),
        ("too few params", "appointment_reminder", _body("Ana"), 132000),
        ("too many params", "hello_world", _body("x"), 132000),
        ("named params missing names", "order_shipped", _body("Ana", "A-1"), 132012),
        ("wrong names", "order_shipped", _body("Ana", "A-1", named=["first_name", "nope"]), 132000),
        ("names on positional", "appointment_reminder", _body("Ana", "May", named=["a", "b"]), 132012),
        ("missing media header", "seasonal_promotion", _body("a", "b", "c"), 132012),
        (
            "text header for image",
            "seasonal_promotion",
            [{"type": "header", "parameters": [{"type": "text", "text": "x"}]}, *_body("a", "b", "c")],
            132012,
        ),
        (
            "image in body",
            "appointment_reminder",
            [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "image", "image": {"link": "https://e.x/a.jpg"}},
                        {"type": "text", "text": "x"},
                    ],
                }
            ],
            132012,
        ),
        (
            "hydrated too long",
            "appointment_reminder",
            [
                *_body("x" * 600, "y" * 600),
                {"type": "button", "sub_type": "url", "index": "2", "parameters": [{"type": "text", "text": "1"}]},
            ],
            132005,
        ),
        ("newline in param", "appointment_reminder", _body("Ana\nLima", "May"), 132018),
        ("missing url param", "appointment_reminder", _body("Ana", "May"), 132000),
        (
            "button index out of range",
            "appointment_reminder",
            [*_body("Ana", "May"), {"type": "button", "sub_type": "quick_reply", "index": "7", "parameters": []}],
            131009,
        ),
        (
            "sub_type mismatch",
            "appointment_reminder",
            [
                *_body("Ana", "May"),
                {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "1"}]},
            ],
            132012,
        ),
    ],
)
def test_send_checks(
    sandbox: SandboxHandle, label: str, name: str, components: list[dict[str, Any]] | None, code: int
) -> None:
    language = "fr" if label == "wrong language" else "en_US"
    r = _send_tpl(sandbox, name, components, language=language)
    assert error_code(r) == code, r.text


def test_newline_is_132007_before_v23(sandbox: SandboxHandle) -> None:
    url = {"type": "button", "sub_type": "url", "index": "2", "parameters": [{"type": "text", "text": "1"}]}
    r = _send_tpl(sandbox, "appointment_reminder", [*_body("Ana\tLima", "May"), url], version="v22.0")
    assert error_code(r) == 132007
    r = _send_tpl(sandbox, "appointment_reminder", [*_body("Ana     Lima", "May"), url], version="v23.0")
    assert error_code(r) == 132018
