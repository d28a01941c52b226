"""Business identity: username, display name change requests, conversational components and commerce
settings — the client against the sandbox over real HTTP, limits checked locally, the sandbox's answers."""

from __future__ import annotations

from typing import Any

import pytest

from wacloud import errors
from wacloud.client.business_identity import BotCommand
from wacloud.sandbox.testing import run_sandbox


def test_username_reserve_read_and_release(box: Any) -> None:
    client = box.client()
    assert client.get_username().username is None
    got = client.set_username("bakery_downtown")
    assert (got.username, got.status) == ("bakery_downtown", "approved")
    assert client.get_username().username == "bakery_downtown"
    assert client.get_phone_number().model_extra.get("username") == "bakery_downtown"
    assert client.delete_username() is True
    assert client.get_username().username is None


def test_a_username_belongs_to_one_number() -> None:
    other = "106540352242999"
    with run_sandbox(extra_phone_numbers=[{"phone_number_id": other, "display_phone_number": "15550783999"}]) as sbx:
        _one_username_per_number(sbx.client(), other)


def _one_username_per_number(client: Any, other: str) -> None:
    client.set_username("shared.name")
    with pytest.raises(errors.InvalidRequest):
        client.set_username("Shared.Name", phone_number_id=other)
    client.set_username("shared.name", transfer_action="force_transfer", phone_number_id=other)
    assert client.get_username().username is None
    assert client.get_username(phone_number_id=other).username == "shared.name"


@pytest.mark.parametrize(
    "name", ["ab", "a" * 36, "has space", "1234", ".lead", "trail.", "two..dots", "wwwshop", "shop.com", "x-y"]
)
def test_username_format_checked_locally_and_by_the_sandbox(box: Any, name: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        box.client().set_username(name)
    assert info.value.field == "username"
    raw = box.graph("POST", f"{box.cfg.phone_number_id}/username", json={"username": name})
    assert raw.status_code == 400 and raw.json()["error"]["code"] == 100


def test_display_name_change_request_and_review(box: Any) -> None:
    client = box.client()
    assert client.request_display_name("Downtown Bakery") is True
    pending = client.get_display_name()
    assert (pending.verified_name, pending.new_display_name, pending.new_name_status) == (
        "wacloud sandbox", "Downtown Bakery", "PENDING_REVIEW",
    )
    box.control.post("/_sandbox/display_name", json={"decision": "APPROVED"}).raise_for_status()
    done = client.get_display_name()
    assert (done.verified_name, done.new_name_status) == ("Downtown Bakery", "APPROVED")
    # Nothing left under review: the control API says so instead of deciding again.
    assert box.control.post("/_sandbox/display_name", json={"decision": "DECLINED"}).status_code == 400


@pytest.mark.parametrize("name", ["x", "a" * 76, "  "])
def test_display_name_length_checked(box: Any, name: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        box.client().request_display_name(name)
    assert info.value.field == "new_display_name"


def test_conversational_automation_round_trip(box: Any) -> None:
    client = box.client()
    assert client.set_conversational_automation(
        enable_welcome_message=True,
        prompts=["Track my order", "Opening hours?"],
        commands=[BotCommand(command_name="help", command_description="Get help"), ("status", "Order status")],
    ) is True
    got = client.get_conversational_automation()
    assert got.enable_welcome_message is True
    assert got.prompts == ["Track my order", "Opening hours?"]
    assert [(c.command_name, c.command_description) for c in got.commands] == [
        ("help", "Get help"), ("status", "Order status"),
    ]
    # Only the parts given change; an empty list clears one.
    client.set_conversational_automation(prompts=[])
    got = client.get_conversational_automation()
    assert got.prompts == [] and len(got.commands) == 2 and got.enable_welcome_message is True


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"prompts": ["p"] * 5}, "prompts"),
        ({"prompts": ["x" * 81]}, "prompts[0]"),
        ({"prompts": [""]}, "prompts[0]"),
        ({"commands": [(f"c{i}", "d") for i in range(31)]}, "commands"),
        ({"commands": [("x" * 33, "d")]}, "commands[0].command_name"),
        ({"commands": [("/help", "d")]}, "commands[0].command_name"),
        ({"commands": [("help", "d"), ("HELP", "d")]}, "commands[1].command_name"),
        ({"commands": [("help", "x" * 257)]}, "commands[0].command_description"),
        ({"commands": ["help"]}, "commands[0]"),
        ({"enable_welcome_message": "yes"}, "enable_welcome_message"),
        ({}, "conversational_automation"),
    ],
)
def test_conversational_automation_limits_checked_before_the_call(
    box: Any, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(errors.ValidationError) as info:
        box.client().set_conversational_automation(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize(
    "body",
    [
        {"prompts": ["p"] * 5},
        {"prompts": ["x" * 81]},
        {"commands": [{"command_name": f"c{i}", "command_description": "d"} for i in range(31)]},
        {"commands": [{"command_name": "bad name", "command_description": "d"}]},
        {"commands": [{"command_name": "a"}]},
        {"enable_welcome_message": "yes"},
        {"icebreakers": []},
    ],
)
def test_sandbox_refuses_bad_automation_bodies(box: Any, body: dict[str, Any]) -> None:
    resp = box.graph("POST", f"{box.cfg.phone_number_id}/conversational_automation", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 100


def test_commerce_settings(box: Any) -> None:
    client = box.client()
    assert client.get_commerce_settings().is_cart_enabled is True
    assert client.set_commerce_settings(is_cart_enabled=False) is True
    got = client.get_commerce_settings()
    assert (got.is_cart_enabled, got.is_catalog_visible) == (False, True)
    with pytest.raises(errors.ValidationError):
        client.set_commerce_settings()
    with pytest.raises(errors.ValidationError):
        client.set_commerce_settings(is_cart_enabled="no")  # type: ignore[arg-type]
    bad = box.graph("POST", f"{box.cfg.phone_number_id}/whatsapp_commerce_settings", params={"is_cart_enabled": "x"})
    assert bad.status_code == 400


async def test_async_client_has_the_same_methods(box: Any) -> None:
    async with box.async_client() as client:
        await client.set_username("async_shop")
        assert (await client.get_username()).username == "async_shop"
