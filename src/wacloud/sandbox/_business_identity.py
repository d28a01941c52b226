"""Business identity of a sandbox number: the username, display name change requests, the
conversational components and the commerce settings, checked against the same limits as the client
(``wacloud.limits``) so a request the client would refuse is refused here too, in Meta's shape."""

from __future__ import annotations

from typing import Any

from wacloud import limits
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._model import PhoneState

#: ``new_name_status`` while Meta reviews a display name change request.
PENDING_REVIEW = "PENDING_REVIEW"


def _param(details: str) -> GraphError:
    return GraphError(100, details, message=f"(#100) {details}")


def identity_view(phone: PhoneState) -> dict[str, Any]:
    """The phone number fields this module owns (added to ``GET /{phone-number-id}``)."""
    view: dict[str, Any] = {"conversational_automation": dict(phone.automation)}
    if phone.new_display_name is not None:
        view["new_display_name"] = phone.new_display_name
    if phone.username is not None:
        view["username"] = phone.username
    return view


def _length(key: str, limit_key: str, value: object) -> str:
    lim = limits.limit(limit_key)
    if not isinstance(value, str):
        raise _param(f"Param {key} must be a string.")
    if not lim.min <= len(value) <= lim.max:
        raise _param(f"Param {key} must be {lim.min} to {lim.max} characters long (got {len(value)}).")
    return value


def request_display_name(phone: PhoneState, value: object) -> None:
    """Record a display name change request; it waits in review (the control API decides it)."""
    name = _length("new_display_name", "phone.new_display_name", value)
    if not name.strip():
        raise _param("Param new_display_name must not be blank.")
    phone.new_display_name = name
    phone.new_name_status = PENDING_REVIEW


def decide_display_name(phone: PhoneState, decision: str) -> None:
    """Meta's review outcome: APPROVED makes the new name the verified name; DECLINED keeps the old."""
    if phone.new_display_name is None or phone.new_name_status != PENDING_REVIEW:
        raise ValueError("no display name change request is under review")
    if decision == "APPROVED":
        phone.verified_name = phone.new_display_name
    phone.new_name_status = decision


def set_username(phones: dict[str, PhoneState], pid: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /{phone-number-id}/username``: the format rules, and one number per username."""
    username = body.get("username")
    if not isinstance(username, str):
        raise GraphError(131008, "The parameter username is required.")
    problem = limits.username_problem(username)
    if problem is not None:
        raise _param(f"Param username {problem}.")
    action = body.get("transfer_action", "none")
    if action not in ("none", "force_transfer"):
        raise _param("Param transfer_action must be one of none, force_transfer.")
    for other_id, other in phones.items():
        if other_id != pid and other.username is not None and other.username.lower() == username.lower():
            if action != "force_transfer":
                raise _param(f"The username {username!r} belongs to another phone number of this business.")
            other.username = other.username_status = None
    phone = phones[pid]
    phone.username, phone.username_status = username, "approved"
    return {"username": username, "status": phone.username_status}


def set_automation(phone: PhoneState, body: dict[str, Any]) -> None:
    """``POST /{phone-number-id}/conversational_automation`` with Meta's bounds."""
    unknown = set(body) - {"enable_welcome_message", "prompts", "commands"}
    if unknown or not body:
        raise _param(f"Param(s) {sorted(unknown) or '(none)'} are not valid; use enable_welcome_message, "
                     "prompts or commands.")
    update: dict[str, Any] = {}
    if "enable_welcome_message" in body:
        if not isinstance(body["enable_welcome_message"], bool):
            raise _param("Param enable_welcome_message must be a boolean.")
        update["enable_welcome_message"] = body["enable_welcome_message"]
    if "prompts" in body:
        prompts = body["prompts"]
        if not isinstance(prompts, list):
            raise _param("Param prompts must be an array.")
        cap = limits.limit("automation.prompts").max
        if len(prompts) > cap:
            raise _param(f"Too many prompts provided. Maximum allowed is {cap}")
        update["prompts"] = [_length(f"prompts[{i}]", "automation.prompt", p) for i, p in enumerate(prompts)]
    if "commands" in body:
        update["commands"] = _commands(body["commands"])
    phone.automation.update(update)


def _commands(commands: object) -> list[dict[str, str]]:
    if not isinstance(commands, list):
        raise _param("Param commands must be an array.")
    cap = limits.limit("automation.commands").max
    if len(commands) > cap:
        raise _param(f"Too many commands provided. Maximum allowed is {cap}")
    out: list[dict[str, str]] = []
    names: set[str] = set()
    for i, cmd in enumerate(commands):
        if not isinstance(cmd, dict):
            raise _param(f"Param commands[{i}] must be an object.")
        name = _length(f"commands[{i}].command_name", "automation.command.name", cmd.get("command_name"))
        if not set(name) <= limits.COMMAND_NAME_CHARS:
            raise _param("Invalid command name format. Command names must contain only alphanumeric characters "
                         "and underscores")
        if name.lower() in names:
            raise _param(f"Command name {name!r} is not unique.")
        names.add(name.lower())
        desc = _length(f"commands[{i}].command_description", "automation.command.description",
                       cmd.get("command_description"))
        out.append({"command_name": name, "command_description": desc})
    return out


def set_commerce(phone: PhoneState, values: dict[str, str]) -> None:
    """``POST /{phone-number-id}/whatsapp_commerce_settings`` (query parameters ``true``/``false``)."""
    given = {k: v for k, v in values.items() if k in ("is_cart_enabled", "is_catalog_visible")}
    if not given:
        raise _param("Give is_cart_enabled and/or is_catalog_visible.")
    for key, raw in given.items():
        if str(raw).lower() not in ("true", "false"):
            raise _param(f"Param {key} must be a boolean.")
        phone.commerce[key] = str(raw).lower() == "true"
