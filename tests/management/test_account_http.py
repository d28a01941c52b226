"""Business profile, phone numbers, registration, PIN, block users, QR codes, subscribed apps and the
management rate limit: the client against the sandbox over real HTTP, local checks and the sandbox's codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wacloud import errors


def test_business_profile_get_and_update(box: Any) -> None:
    client = box.client()
    assert (
        client.update_business_profile(
            about="We bake bread",
            email="hi@bakery.example",
            websites=["https://bakery.example"],
            vertical="RESTAURANT",
            address="1 Main St",
            description="Fresh every morning",
        )
        is True
    )
    profile = client.get_business_profile()
    assert (profile.about, profile.email, profile.websites, profile.vertical) == (
        "We bake bread",
        "hi@bakery.example",
        ["https://bakery.example"],
        "RESTAURANT",
    )
    assert client.get_business_profile(fields=["about"]).about == "We bake bread"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"about": "a" * 140}, "about"),
        ({"about": ""}, "about"),
        ({"address": "a" * 257}, "address"),
        ({"email": "not-an-email"}, "email"),
        ({"websites": ["https://a.example", "https://b.example", "https://c.example"]}, "websites"),
        ({"websites": ["ftp://a.example"]}, "websites[0]"),
        ({"vertical": "BAKERY"}, "vertical"),
        ({}, "profile"),
    ],
)
def test_business_profile_limits_checked_locally(box: Any, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        box.client().update_business_profile(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(
    "body",
    [
        {"messaging_product": "whatsapp", "about": "a" * 140},
        {"messaging_product": "whatsapp", "vertical": "BAKERY"},
        {"messaging_product": "whatsapp", "websites": ["https://a", "https://b", "https://c"]},
        {"messaging_product": "whatsapp", "email": "nope"},
        {"messaging_product": "whatsapp", "favourite_colour": "blue"},
        {"messaging_product": "whatsapp", "profile_picture_handle": "4::unknown"},
    ],
)
def test_sandbox_rejects_bad_profiles_with_100(box: Any, body: dict[str, Any]) -> None:
    resp = box.graph("POST", f"{box.cfg.phone_number_id}/whatsapp_business_profile", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 100
    missing = box.graph("POST", f"{box.cfg.phone_number_id}/whatsapp_business_profile", json={"about": "x"})
    assert missing.json()["error"]["code"] == 131008


def test_profile_picture_from_a_resumable_upload(box: Any) -> None:
    client = box.client()
    handle = client.upload_sample(b"\xff\xd8\xff" + b"\0" * 64, "image/jpeg", filename="logo.jpg")
    assert client.update_business_profile(profile_picture_handle=handle) is True
    assert client.get_business_profile().profile_picture_url
    before = client.get_business_profile().profile_picture_url
    assert client.update_profile_picture(b"\x89PNG\r\n\x1a\n" + b"\0" * 32, "image/png") is True
    assert client.get_business_profile().profile_picture_url not in ("", before)


def test_phone_numbers(box: Any) -> None:
    client = box.client()
    numbers = client.list_phone_numbers()
    assert [n.id for n in numbers] == [box.cfg.phone_number_id]
    number = client.get_phone_number()
    assert number.quality_rating == "GREEN" and number.throughput and number.throughput.level == "STANDARD"
    assert number.whatsapp_business_manager_messaging_limit == "TIER_250"
    assert client.get_phone_number(fields=["quality_rating"]).quality_rating == "GREEN"
    with pytest.raises(errors.InvalidRequest) as info:
        client.get_phone_number(phone_number_id="999999")
    assert info.value.code == 100


def test_register_deregister_pin_and_verification(box: Any) -> None:
    client = box.client()
    assert client.set_two_step_pin("246810") is True
    with pytest.raises(errors.WhatsAppError) as wrong:
        client.register("000000")
    assert wrong.value.code == 133005
    assert client.register("246810") is True
    assert client.deregister() is True
    with pytest.raises(errors.InvalidRequest) as again:
        client.deregister()
    assert again.value.code == 100 and again.value.detail.error_subcode == 2207051
    assert box.mgmt.is_registered(box.cfg.phone_number_id) is False
    assert client.request_code(code_method="VOICE", language="es_ES") is True
    with pytest.raises(errors.InvalidRequest):
        client.verify_code("999999")
    assert client.verify_code(box.mgmt.verification_code) is True
    with pytest.raises(errors.ValidationError):
        client.register("12345")
    with pytest.raises(errors.ValidationError):
        client.set_two_step_pin("abcdef")
    bad = box.graph("POST", f"{box.cfg.phone_number_id}/register", json={"messaging_product": "whatsapp", "pin": "1"})
    assert bad.json()["error"]["code"] == 100


def test_register_rate_limit_133016(box: Any) -> None:
    client = box.client()
    client.set_two_step_pin("135790")
    for _ in range(5):  # ten register/deregister calls in 72 hours are allowed
        client.register("135790")
        client.deregister()
    with pytest.raises(errors.WhatsAppError) as info:
        client.register("135790")
    assert info.value.code == 133016
    box.control.post("/_sandbox/clock/advance", json={"seconds": 72 * 3600}).raise_for_status()
    assert client.register("135790") is True


def test_block_users(box: Any) -> None:
    client = box.client()
    box.open_window("15550001111")
    box.open_window("15550002222")
    result = client.block_users(["+1 555-000-1111", "15550002222", "15550003333"])
    assert sorted(u.wa_id or "" for u in result.added_users) == ["15550001111", "15550002222"]
    assert [u.input for u in result.failed_users] == ["15550003333"]
    assert result.failed_users[0].errors and result.failed_users[0].errors[0]["code"] == 139100
    page = client.list_blocked_users()
    assert sorted(item["wa_id"] for item in page.data) == ["15550001111", "15550002222"]
    first = client.list_blocked_users(limit=1)
    assert len(first.data) == 1 and first.after == "1"
    assert [i["wa_id"] for i in client.list_blocked_users(limit=1, after=first.after).data] != [
        i["wa_id"] for i in first.data
    ]
    # A blocked user cannot be messaged: the send fails with 130403 (a failed status, see the sandbox docs).
    send = box.graph(
        "POST",
        f"{box.cfg.phone_number_id}/messages",
        json={"messaging_product": "whatsapp", "to": "15550001111", "type": "text", "text": {"body": "hi"}},
    )
    assert send.status_code == 200
    assert _final_error(box, "15550001111") == 130403
    removed = client.unblock_users(["15550001111"])
    assert [u.wa_id for u in removed.removed_users] == ["15550001111"]
    assert [i["wa_id"] for i in client.list_blocked_users().data] == ["15550002222"]


def _final_error(box: Any, wa_id: str) -> int | None:
    """The error code of the customer's last message once it has failed (polls the control API)."""
    import time

    for _ in range(200):
        messages = box.control.get(f"/_sandbox/customers/{wa_id}/messages").json()["received"]
        statuses = messages[-1]["statuses"] if messages else []
        failed = [s for s in statuses if s["status"] == "failed"]
        if failed:
            return int(failed[0]["code"])
        time.sleep(0.02)
    return None


def test_block_users_limits(box: Any) -> None:
    client = box.client()
    with pytest.raises(errors.ValidationError) as info:
        client.block_users([f"1555{i:07d}" for i in range(1001)])
    assert info.value.limit == 1000
    with pytest.raises(errors.ValidationError):
        client.block_users([])
    body = {"messaging_product": "whatsapp", "block_users": [{"user": f"1555{i:07d}"} for i in range(1001)]}
    resp = box.graph("POST", f"{box.cfg.phone_number_id}/block_users", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 100


def test_qr_codes(box: Any) -> None:
    client = box.client()
    qr = client.create_qr("Show me today's bread", generate_qr_image="SVG")
    assert len(qr.code) == 14 and qr.deep_link_url == f"https://wa.me/message/{qr.code}" and qr.qr_image_url
    other = client.create_qr("Opening hours?")
    assert {q.code for q in client.list_qr()} == {qr.code, other.code}
    assert client.list_qr(generate_qr_image="PNG")[0].qr_image_url
    assert client.update_qr(qr.code, "Show me today's cakes").prefilled_message == "Show me today's cakes"
    assert client.get_qr(qr.code).prefilled_message == "Show me today's cakes"
    assert client.delete_qr(qr.code) is True
    assert [q.code for q in client.list_qr()] == [other.code]
    with pytest.raises(errors.InvalidRequest):
        client.get_qr(qr.code)
    with pytest.raises(errors.ValidationError) as info:
        client.create_qr("x" * 141)
    assert info.value.limit == 140
    with pytest.raises(errors.ValidationError):
        client.delete_qr("lowercase")
    resp = box.graph("POST", f"{box.cfg.phone_number_id}/message_qrdls", json={"prefilled_message": "x" * 141})
    assert resp.status_code == 400 and "140" in resp.json()["error"]["error_data"]["details"]


def test_subscribed_apps_and_callback_override(box: Any) -> None:
    client = box.client()
    apps = client.list_subscribed_apps()
    assert apps and apps[0].whatsapp_business_api_data["id"]
    assert client.subscribe_app(override_callback_uri="https://hooks.example/wa", verify_token="vt") is True
    assert box.cfg.webhook_url == "https://hooks.example/wa"
    assert client.list_subscribed_apps()[0].override_callback_uri == "https://hooks.example/wa"
    assert client.unsubscribe_app() is True
    assert client.list_subscribed_apps() == [] and box.cfg.webhook_url is None
    assert client.subscribe_app() is True
    assert box.cfg.webhook_url == "https://hooks.example/wa"
    with pytest.raises(errors.ValidationError):
        client.subscribe_app(override_callback_uri="https://hooks.example/wa")
    resp = box.graph(
        "POST",
        f"{box.cfg.waba_id}/subscribed_apps",
        json={"override_callback_uri": "not a url", "verify_token": "x"},
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 100


def test_management_rate_limit_80007_and_usage_header(box: Any) -> None:
    box.mgmt.calls_per_hour = 3
    for i in range(3):
        resp = box.graph("GET", f"{box.cfg.waba_id}/phone_numbers")
        assert resp.status_code == 200
        usage = json.loads(resp.headers["X-Business-Use-Case-Usage"])[box.cfg.waba_id][0]
        assert usage["call_count"] == round(100 * (i + 1) / 3)
    with pytest.raises(errors.RateLimited) as info:
        box.client().list_subscribed_apps()
    assert info.value.code == 80007
    resp = box.graph("GET", f"{box.cfg.waba_id}/phone_numbers")
    usage = json.loads(resp.headers["X-Business-Use-Case-Usage"])[box.cfg.waba_id][0]
    assert resp.status_code == 400 and usage["call_count"] == 100 and usage["estimated_time_to_regain_access"] > 0
    box.control.post("/_sandbox/clock/advance", json={"seconds": 3600}).raise_for_status()
    assert box.graph("GET", f"{box.cfg.waba_id}/phone_numbers").status_code == 200


def test_wrong_token_is_190(box: Any) -> None:
    from wacloud import Client

    client = Client(token="wrong", phone_number_id=box.cfg.phone_number_id, base_url=box.base_url)
    with pytest.raises(errors.AuthError) as info:
        client.get_business_profile()
    assert info.value.code == 190


async def test_async_account_calls(box: Any) -> None:
    async with box.async_client() as client:
        assert await client.update_business_profile(about="Async bakery") is True
        assert (await client.get_business_profile()).about == "Async bakery"
        qr = await client.create_qr("Hi!")
        assert (await client.get_qr(qr.code)).prefilled_message == "Hi!"
        assert [n.id for n in await client.list_phone_numbers()] == [box.cfg.phone_number_id]


def test_phone_number_webhook_override(box: Any) -> None:
    client = box.client()
    assert client.set_webhook_override("https://numbers.example/hook", "vt-1") is True
    assert box.cfg.webhook_url == "https://numbers.example/hook"
    number = client.get_phone_number(fields=["webhook_configuration"])
    assert number.model_extra and number.model_extra["webhook_configuration"]["phone_number"] == (
        "https://numbers.example/hook"
    )
    with pytest.raises(errors.ValidationError):
        client.set_webhook_override("numbers.example", "vt")
    bad = box.graph("POST", box.cfg.phone_number_id, json={"webhook_configuration": {"override_callback_uri": "x"}})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100
    unknown = box.graph("POST", box.cfg.phone_number_id, json={"colour": "red"})
    assert unknown.status_code == 400


def test_budget_override_then_setting_then_meta_default(box: Any) -> None:
    from wacloud import limits

    box.mgmt.calls_per_hour = 7
    assert box.mgmt.budget() == 7
    box.mgmt.calls_per_hour = None
    box.cfg.management_calls_per_hour = 9  # the sandbox setting, read live
    assert box.mgmt.budget() == 9
    box.cfg.management_calls_per_hour = None  # no setting: Meta's defaults
    assert box.mgmt.budget() == limits.MANAGEMENT_CALLS_PER_HOUR_ACTIVE  # the sandbox number is registered
    box.client().deregister()
    assert box.mgmt.budget() == limits.MANAGEMENT_CALLS_PER_HOUR
