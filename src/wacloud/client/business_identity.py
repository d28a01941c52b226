"""Business identity of a phone number: business username, display name change requests, the
conversational components (ice breakers, commands, welcome message) and commerce settings.

Limits are checked before any request (``wacloud.limits``): a username breaking Meta's format, a fifth
ice breaker or a 31st command raise :class:`~wacloud.errors.ValidationError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.templates import parse_answer, success
from wacloud.limits import COMMAND_NAME_CHARS, limit, username_problem

#: Fields of the phone number that describe its display name and the pending change request.
DISPLAY_NAME_FIELDS = ("verified_name", "name_status", "new_display_name", "new_name_status")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class BusinessUsername(_Model):
    """The number's business username and its ``status`` (``approved``, ``reserved``); None when unset."""

    username: str | None = None
    status: str | None = None


class DisplayName(_Model):
    """The display name (``verified_name``, ``name_status``) and a requested change with its review status."""

    id: str | None = None
    verified_name: str | None = None
    name_status: str | None = None
    new_display_name: str | None = None
    new_name_status: str | None = None


class BotCommand(_Model):
    """A command users pick by typing ``/``: ``command_name`` (no slash) and its description."""

    command_name: str
    command_description: str


class ConversationalAutomation(_Model):
    """The conversational components: ice breakers (``prompts``), ``commands``, the welcome message toggle."""

    enable_welcome_message: bool | None = None
    prompts: list[str] = Field(default_factory=list)
    commands: list[BotCommand] = Field(default_factory=list)


class CommerceSettings(_Model):
    """Commerce settings of the number: is the cart on, is the catalog shown."""

    id: str | None = None
    is_cart_enabled: bool | None = None
    is_catalog_visible: bool | None = None


def _length(field: str, key: str, value: object) -> str:
    lim = limit(key)
    if not isinstance(value, str):
        raise errors.ValidationError(field, "must be a string")
    if not lim.min <= len(value) <= lim.max:
        raise errors.ValidationError(
            field, f"must be {lim.min}–{lim.max} characters", size=len(value),
            limit=lim.max if len(value) > lim.max else lim.min,
        )
    return value


def _count(field: str, key: str, items: Sequence[Any]) -> None:
    cap = limit(key).max
    if len(items) > cap:
        raise errors.ValidationError(field, f"at most {cap} {limit(key).unit}", size=len(items), limit=cap)


def automation_body(
    *,
    enable_welcome_message: bool | None = None,
    prompts: Sequence[str] | None = None,
    commands: Sequence[BotCommand | Mapping[str, str] | tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The ``POST conversational_automation`` body, checked against Meta's limits."""
    body: dict[str, Any] = {}
    if enable_welcome_message is not None:
        if not isinstance(enable_welcome_message, bool):
            raise errors.ValidationError("enable_welcome_message", "must be true or false")
        body["enable_welcome_message"] = enable_welcome_message
    if prompts is not None:
        if isinstance(prompts, str):
            raise errors.ValidationError("prompts", "must be a list of strings")
        _count("prompts", "automation.prompts", prompts)
        body["prompts"] = [_length(f"prompts[{i}]", "automation.prompt", p) for i, p in enumerate(prompts)]
    if commands is not None:
        _count("commands", "automation.commands", commands)
        out: list[dict[str, str]] = []
        seen: set[str] = set()
        for i, cmd in enumerate(commands):
            name: object
            desc: object
            if isinstance(cmd, BotCommand):
                name, desc = cmd.command_name, cmd.command_description
            elif isinstance(cmd, Mapping):
                name, desc = cmd.get("command_name"), cmd.get("command_description")
            elif isinstance(cmd, tuple) and len(cmd) == 2:
                name, desc = cmd
            else:
                raise errors.ValidationError(f"commands[{i}]", "must be a BotCommand, a mapping or (name, description)")
            cname = _length(f"commands[{i}].command_name", "automation.command.name", name)
            if not set(cname) <= COMMAND_NAME_CHARS:
                raise errors.ValidationError(
                    f"commands[{i}].command_name", "may contain only letters, digits and '_' (no leading '/')"
                )
            if cname.lower() in seen:
                raise errors.ValidationError(f"commands[{i}].command_name", f"{cname!r} is given twice")
            seen.add(cname.lower())
            cdesc = _length(f"commands[{i}].command_description", "automation.command.description", desc)
            out.append({"command_name": cname, "command_description": cdesc})
        body["commands"] = out
    if not body:
        raise errors.ValidationError("conversational_automation", "nothing to set")
    return body


class BusinessIdentityApi(ApiConfig):
    """Business username, display name change requests, conversational components, commerce settings."""

    # --- business username -----------------------------------------------------------------------
    @operation
    def get_username(self, *, phone_number_id: str | None = None) -> Operation[BusinessUsername]:
        """The number's business username and its status (``username`` is None when there is none)."""
        pid = self.require_phone(phone_number_id)
        body = yield from call(Request("GET", f"{pid}/username"))
        return parse_answer(BusinessUsername, body)

    @operation
    def set_username(
        self,
        username: str,
        *,
        transfer_action: Literal["none", "force_transfer"] | None = None,
        phone_number_id: str | None = None,
    ) -> Operation[BusinessUsername]:
        """Reserve (or change) the number's business username, checked against Meta's format first.

        ``transfer_action="force_transfer"`` moves a username held by another number of the portfolio.
        """
        pid = self.require_phone(phone_number_id)
        if not isinstance(username, str):
            raise errors.ValidationError("username", "must be a string")
        problem = username_problem(username)
        if problem is not None:
            raise errors.ValidationError("username", problem, size=len(username), limit=limit("username").max)
        body: dict[str, Any] = {"username": username}
        if transfer_action is not None:
            if transfer_action not in ("none", "force_transfer"):
                raise errors.ValidationError("transfer_action", "must be 'none' or 'force_transfer'")
            body["transfer_action"] = transfer_action
        answer = yield from call(Request("POST", f"{pid}/username", json=body))
        result = parse_answer(BusinessUsername, answer or {})
        return result if result.username else result.model_copy(update={"username": username})

    @operation
    def delete_username(self, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Release the number's business username."""
        pid = self.require_phone(phone_number_id)
        answer = yield from call(Request("DELETE", f"{pid}/username"))
        return success(answer)

    # --- display name ----------------------------------------------------------------------------
    @operation
    def request_display_name(self, new_display_name: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Ask Meta to change the number's display name; follow the review with :meth:`get_display_name`."""
        pid = self.require_phone(phone_number_id)
        name = _length("new_display_name", "phone.new_display_name", new_display_name)
        if not name.strip():
            raise errors.ValidationError("new_display_name", "must not be blank")
        answer = yield from call(Request("POST", pid, json={"new_display_name": name}))
        return success(answer)

    @operation
    def get_display_name(self, *, phone_number_id: str | None = None) -> Operation[DisplayName]:
        """The display name, its status, and a pending change request with its review status."""
        pid = self.require_phone(phone_number_id)
        body = yield from call(Request("GET", pid, params={"fields": ",".join(DISPLAY_NAME_FIELDS)}))
        return parse_answer(DisplayName, body)

    # --- conversational components ---------------------------------------------------------------
    @operation
    def get_conversational_automation(
        self, *, phone_number_id: str | None = None
    ) -> Operation[ConversationalAutomation]:
        """The number's ice breakers, commands and welcome message setting."""
        pid = self.require_phone(phone_number_id)
        body = yield from call(Request("GET", pid, params={"fields": "conversational_automation"}))
        inner = body.get("conversational_automation") if isinstance(body, Mapping) else None
        return parse_answer(ConversationalAutomation, inner if isinstance(inner, Mapping) else {})

    @operation
    def set_conversational_automation(
        self,
        *,
        enable_welcome_message: bool | None = None,
        prompts: Sequence[str] | None = None,
        commands: Sequence[BotCommand | Mapping[str, str] | tuple[str, str]] | None = None,
        phone_number_id: str | None = None,
    ) -> Operation[bool]:
        """Set ice breakers (≤4, 80 characters each), commands (≤30) and the welcome message toggle.

        Only the parts given are sent; an empty list clears that part.
        """
        pid = self.require_phone(phone_number_id)
        body = automation_body(enable_welcome_message=enable_welcome_message, prompts=prompts, commands=commands)
        answer = yield from call(Request("POST", f"{pid}/conversational_automation", json=body))
        return success(answer)

    # --- commerce settings -----------------------------------------------------------------------
    @operation
    def get_commerce_settings(self, *, phone_number_id: str | None = None) -> Operation[CommerceSettings]:
        """Whether the cart is enabled and the catalog visible on this number."""
        pid = self.require_phone(phone_number_id)
        body = yield from call(Request("GET", f"{pid}/whatsapp_commerce_settings"))
        data = body.get("data") if isinstance(body, Mapping) else None
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], Mapping) else {}
        return parse_answer(CommerceSettings, first)

    @operation
    def set_commerce_settings(
        self,
        *,
        is_cart_enabled: bool | None = None,
        is_catalog_visible: bool | None = None,
        phone_number_id: str | None = None,
    ) -> Operation[bool]:
        """Turn the cart and the catalog's visibility on or off (Meta takes them as query parameters)."""
        pid = self.require_phone(phone_number_id)
        params: dict[str, str | int] = {}
        for key, value in (("is_cart_enabled", is_cart_enabled), ("is_catalog_visible", is_catalog_visible)):
            if value is None:
                continue
            if not isinstance(value, bool):
                raise errors.ValidationError(key, "must be true or false")
            params[key] = "true" if value else "false"
        if not params:
            raise errors.ValidationError("commerce_settings", "give is_cart_enabled and/or is_catalog_visible")
        answer = yield from call(Request("POST", f"{pid}/whatsapp_commerce_settings", params=params))
        return success(answer)
