"""The Groups API emulation: groups of a business number, invite links, join requests, participants,
settings, the four ``group_*`` webhooks, and sending to a group.

Users join only by invite link (directly, or through a join request the business approves); a group
holds at most ``group.participants`` (8) members besides the business and a number at most
``group.per_number`` (10,000) groups. Groups take text, media and text/media templates; anything else is
refused with 131051. One member's message opens the service window for the whole group.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import wacloud.sandbox._payloads as _payloads
from wacloud import limits
from wacloud.sandbox._errors import ControlError, GraphError, missing, param
from wacloud.sandbox._model import Group, OutboundMessage, invite_link
from wacloud.sandbox._templates import check_send, find_for_send
from wacloud.sandbox._validate import validate_send

if TYPE_CHECKING:
    from wacloud.sandbox._state import SandboxState

#: Message types a group takes (templates are checked further: text and media only).
GROUP_TYPES = frozenset({"text", "image", "video", "audio", "document", "sticker", "template"})
_TEMPLATE_BUTTONS = frozenset({"QUICK_REPLY", "URL", "PHONE_NUMBER"})
_PLACEHOLDER_TO = "10000000000"  # stands in for the group id while the content is validated


# --- lookup and webhooks -------------------------------------------------------------------------


def find(state: SandboxState, group_id: str, pid: str | None = None) -> Group:
    """The group ``group_id`` (of number ``pid`` when given), or 131041."""
    group = state.groups.groups.get(group_id)
    if group is None or (pid is not None and group.phone_number_id != pid):
        raise GraphError(131041, f"Group {group_id} does not exist or this number is not in it.")
    return group


def owns_group(state: SandboxState, node: str) -> bool:
    """True for the id of a live group (the ``/{group-id}`` routes)."""
    return node in state.groups.groups


def _emit(state: SandboxState, group: Group, field: str, item: dict[str, Any]) -> None:
    # An integer, as Meta's OpenAPI ``Groups`` schema has it (the parser takes strings too).
    item = {"timestamp": int(state.clock.now()), "group_id": group.id, **item}
    value = {"messaging_product": "whatsapp", "metadata": _payloads.metadata(state, group.phone_number_id),
             "groups": [item]}
    state.dispatcher.emit(group.id, field, value)


def _request_id(state: SandboxState) -> str:
    return state.ids.token(32)


def _new_code(state: SandboxState) -> str:
    return base64.urlsafe_b64encode(bytes.fromhex(state.ids.token(16))).decode().rstrip("=")


def _text(body: dict[str, Any], key: str, limit_key: str, *, strip: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise param(f"Param {key} must be a string.")
    text = value.strip() if strip else value
    lim = limits.limit(limit_key)
    if not lim.min <= len(text) <= lim.max:
        raise param(f"Param {key} must be {lim.min} to {lim.max} characters long (got {len(text)}).")
    return text


def _whatsapp(body: dict[str, Any]) -> None:
    if body.get("messaging_product") != "whatsapp":
        raise param("The parameter messaging_product is required and must be 'whatsapp'.")


# --- groups --------------------------------------------------------------------------------------


def create(state: SandboxState, pid: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /{phone-number-id}/groups``: answer a request id; the outcome comes by webhook."""
    _whatsapp(body)
    subject = _text(body, "subject", "group.subject", strip=True)
    if subject is None:
        raise missing("subject")
    description = _text(body, "description", "group.description") or ""
    mode = body.get("join_approval_mode", "auto_approve")
    if mode not in ("approval_required", "auto_approve"):
        raise param("Param join_approval_mode must be one of {approval_required, auto_approve}.")
    request_id = _request_id(state)
    now = state.clock.now()
    owned = sum(1 for g in state.groups.groups.values() if g.phone_number_id == pid)
    if owned >= limits.limit("group.per_number").max:
        # Creation is asynchronous: the refusal comes in the lifecycle webhook, without a group id.
        value = {"messaging_product": "whatsapp", "metadata": _payloads.metadata(state, pid), "groups": [{
            "timestamp": int(now), "type": "group_create", "request_id": request_id,
            "errors": [_payloads.error_item(131211)]}]}
        state.dispatcher.emit(pid, "group_lifecycle_update", value)
        return {"messaging_product": "whatsapp", "request_id": request_id}
    display = state.config.numbers.get(pid, pid)
    raw = f"capi_group:{display}:{state.ids.object_id()}{state.ids.token(6)}".encode()
    group = Group(base64.urlsafe_b64encode(raw).decode().rstrip("="), pid, subject, now, description, mode,
                  invite_code=_new_code(state))
    state.groups.groups[group.id] = group
    assert group.invite_code is not None
    _emit(state, group, "group_lifecycle_update", {
        "type": "group_create", "request_id": request_id, "subject": subject, "description": description,
        "invite_link": invite_link(group.invite_code), "join_approval_mode": mode})
    return {"messaging_product": "whatsapp", "request_id": request_id}


def list_groups(state: SandboxState, pid: str, limit: str | None, after: str | None) -> dict[str, Any]:
    """``GET /{phone-number-id}/groups``: one page of the number's groups, oldest first."""
    cap = limits.limit("group.list.limit").max
    try:
        size = int(limit) if limit is not None else 25
    except ValueError:
        raise param("Param limit must be an integer.") from None
    if not 1 <= size <= cap:
        raise param(f"Param limit must be between 1 and {cap}.")
    groups = [g for g in state.groups.groups.values() if g.phone_number_id == pid]
    start = 0
    if after:
        try:
            start = int(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode())
        except ValueError:
            raise GraphError(131059, "The paging cursor is invalid.") from None
    page = groups[start : start + size]
    out: dict[str, Any] = {"data": {"groups": [
        {"id": g.id, "subject": g.subject, "created_at": str(int(g.created_at))} for g in page]}}
    end = start + len(page)
    if end < len(groups):
        cursor = base64.urlsafe_b64encode(str(end).encode()).decode().rstrip("=")
        # Graph gives ``next`` only when there is a next page; clients page on it.
        out["paging"] = {"cursors": {"after": cursor},
                         "next": f"https://graph.facebook.com/{pid}/groups?limit={size}&after={cursor}"}
    return out


_FIELDS = ("subject", "description", "participants", "join_approval_mode", "suspended", "creation_timestamp",
           "total_participant_count")


def info(state: SandboxState, group: Group, wanted: list[str] | None) -> dict[str, Any]:
    """``GET /{group-id}``."""
    view: dict[str, Any] = {
        "subject": group.subject,
        "description": group.description,
        "participants": [{"wa_id": wa_id} for wa_id in group.participants],
        "join_approval_mode": group.join_approval_mode,
        "suspended": group.suspended,
        "creation_timestamp": int(group.created_at),
        "total_participant_count": len(group.participants),
    }
    fields = wanted or ["subject", "description", "participants", "total_participant_count"]
    unknown = [f for f in fields if f not in view and f != "id"]
    if unknown:
        raise param(f"Tried accessing nonexisting field(s) {unknown} on the group.")
    return {"id": group.id, "messaging_product": "whatsapp", **{f: view[f] for f in fields if f in view}}


def update(state: SandboxState, group: Group, body: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    """``POST /{group-id}``: subject, description and/or photo; the settings webhook says what changed."""
    _whatsapp(body)
    subject = _text(body, "subject", "group.subject", strip=True)
    description = _text(body, "description", "group.description")
    photo = files.get("file")
    if subject is None and description is None and photo is None:
        raise param("Give subject, description or a file (the group photo) to update.")
    item: dict[str, Any] = {"type": "group_settings_update", "request_id": _request_id(state)}
    if subject is not None:
        group.subject = subject
        item["group_subject"] = {"text": subject, "update_successful": True}
    if description is not None:
        group.description = description
        item["group_description"] = {"text": description, "update_successful": True}
    if photo is not None:
        if not photo.startswith(b"\xff\xd8\xff"):
            raise GraphError(131009, "Param file is not valid: a group photo must be a JPEG image.")
        if len(photo) > limits.GROUP_PHOTO_MAX_BYTES:
            raise param("Param file must be at most 5 MB.")
        item["profile_picture"] = {"mime_type": "image/jpeg", "update_successful": True}
    _emit(state, group, "group_settings_update", item)
    return {"success": True}


def delete(state: SandboxState, group: Group) -> dict[str, Any]:
    """``DELETE /{group-id}``: everyone is removed and the group is gone."""
    del state.groups.groups[group.id]
    _emit(state, group, "group_lifecycle_update", {"type": "group_delete", "request_id": _request_id(state)})
    return {"success": True}


# --- invite links, join requests, participants ---------------------------------------------------


def get_link(state: SandboxState, group: Group, *, renew: bool = False) -> dict[str, Any]:
    """``GET`` (current, made anew after a revoke) or ``POST`` (a new one) ``/{group-id}/invite_link``."""
    if renew or group.invite_code is None:
        group.invite_code = _new_code(state)
    return {"messaging_product": "whatsapp", "invite_link": invite_link(group.invite_code)}


def revoke_link(group: Group) -> dict[str, Any]:
    """``DELETE /{group-id}/invite_link``: the link stops working."""
    group.invite_code = None
    return {"messaging_product": "whatsapp", "success": "true"}


def join_requests(group: Group) -> dict[str, Any]:
    """``GET /{group-id}/join_requests``."""
    return {"data": [{"join_request_id": jr, "wa_id": wa_id, "creation_timestamp": int(at)}
                     for jr, (wa_id, at) in group.join_requests.items()]}


def _request_ids(body: dict[str, Any]) -> list[str]:
    _whatsapp(body)
    ids = body.get("join_requests")
    if ids is None:
        raise missing("join_requests")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise param("Param join_requests must be a non-empty list of join request ids.")
    return list(ids)


def handle_requests(state: SandboxState, group: Group, body: dict[str, Any], *, approve: bool) -> dict[str, Any]:
    """``POST`` (approve) or ``DELETE`` (reject) ``/{group-id}/join_requests``."""
    done: list[str] = []
    failed: list[dict[str, Any]] = []
    cap = limits.limit("group.participants").max
    for jr in _request_ids(body):
        entry = group.join_requests.get(jr)
        if entry is None:
            failed.append({"join_request_id": jr, "errors": [_payloads.error_item(
                131009, f"{jr} is not an open join request of this group")]})
            continue
        if approve and len(group.participants) >= cap:
            failed.append({"join_request_id": jr, "errors": [_payloads.error_item(131204)]})
            continue
        del group.join_requests[jr]
        done.append(jr)
        if approve:
            _join(state, group, entry[0], reason="join_request")
    out: dict[str, Any] = {"messaging_product": "whatsapp",
                           ("approved_join_requests" if approve else "rejected_join_requests"): done}
    if failed:
        out["failed_join_requests"] = failed
    return out


def remove(state: SandboxState, group: Group, body: dict[str, Any]) -> dict[str, Any]:
    """``DELETE /{group-id}/participants``: 1–8 users; who could not be removed is in the webhook."""
    _whatsapp(body)
    items = body.get("participants")
    if items is None:
        raise missing("participants")
    cap = limits.limit("group.participants.per_request").max
    if not isinstance(items, list) or not 1 <= len(items) <= cap:
        raise param(f"Param participants must list 1 to {cap} users.")
    users: list[str] = []
    for i, entry in enumerate(items):
        user = entry.get("user") if isinstance(entry, dict) else None
        if not isinstance(user, str) or not user.strip():
            raise param(f"Param participants[{i}].user must be a phone number or WhatsApp id.")
        users.append(user)
    if len(set(users)) != len(users):
        raise GraphError(131202, "A participant is listed twice.")
    removed: list[dict[str, str]] = []
    failed: list[dict[str, Any]] = []
    for user in users:
        wa_id = "".join(ch for ch in user if ch.isdigit())
        if wa_id in group.participants:
            del group.participants[wa_id]
            removed.append({"input": user, "wa_id": wa_id})
        else:
            failed.append({"input": user, "errors": [_payloads.error_item(131212)]})
    item: dict[str, Any] = {"type": "group_participants_remove", "request_id": _request_id(state),
                            "initiated_by": "business", "removed_participants": removed}
    if failed:
        item["failed_participants"] = failed
    _emit(state, group, "group_participants_update", item)
    return {"messaging_product": "whatsapp", "success": True}


def _join(state: SandboxState, group: Group, wa_id: str, *, reason: str) -> None:
    group.participants[wa_id] = state.clock.now()
    if wa_id not in state.customers:
        state.add_customer({"wa_id": wa_id})
    _emit(state, group, "group_participants_update", {
        "type": "group_participants_add", "reason": reason, "added_participants": [{"wa_id": wa_id}]})


# --- sending -------------------------------------------------------------------------------------


def send(state: SandboxState, pid: str, body: dict[str, Any], version: tuple[int, int]) -> dict[str, Any]:
    """``POST /{phone-number-id}/messages`` with ``recipient_type: "group"``."""
    group_id = body.get("to")
    if group_id is None:
        raise missing("to")
    if not isinstance(group_id, str) or not group_id:
        raise param("Param to must be a group id.")
    # The content rules are those of any message; only the recipient differs.
    req = validate_send({**body, "recipient_type": "individual", "to": _PLACEHOLDER_TO})
    if req.type not in GROUP_TYPES:
        raise GraphError(131051, f"Message type {req.type!r} cannot be sent to a group; groups take text, "
                         "media and text/media templates.")
    if req.context_id is not None and req.context_id in state.groups.member_messages \
            and state.groups.member_messages[req.context_id] != group_id:
        raise GraphError(131009, "Param context.message_id is not valid: the message is from another group.")
    group = find(state, group_id, pid)
    if group.suspended:
        raise GraphError(131207, f"Group {group_id} is suspended.")
    if not group.participants:
        raise GraphError(131020, f"Group {group_id} has no members besides the business.")
    now = state.clock.now()
    template_id = None
    if req.type == "template":
        assert req.template_name is not None and req.template_language is not None
        template = find_for_send(state, req.template_name, req.template_language)
        _group_template(template)
        check_send(template, req, version)
        template_id = template.id
    elif not group.window_open(now):
        raise GraphError(131047, "More than 24 hours have passed since a member last wrote in the group; "
                         "send a template.")
    wamid = state.ids.wamid(group_id)
    msg = OutboundMessage(id=wamid, phone_number_id=pid, to=group_id, wa_id=group_id, type=str(req.type), body=body,
                      created_at=now, version=version, template_id=template_id)
    state.messages[wamid] = msg
    state.by_customer.setdefault(group_id, []).append(wamid)
    status = {"id": wamid, "status": "sent", "timestamp": str(int(now)), "recipient_id": group_id,
              "recipient_type": "group"}
    msg.statuses.append(status)
    state.dispatcher.emit_status(group_id, status, pid)
    return {"messaging_product": "whatsapp", "contacts": [{"input": group_id}], "messages": [{"id": wamid}]}


def _group_template(template: Any) -> None:
    """Text and media templates only: no authentication, carousel, offer, Flow, catalog or OTP buttons."""
    if str(template.category).upper() == "AUTHENTICATION":
        raise GraphError(131051, f"Template {template.name} is an authentication template; groups do not take them.")
    for component in template.components:
        kind = str(component.get("type", "")).upper()
        if kind in ("CAROUSEL", "LIMITED_TIME_OFFER"):
            raise GraphError(131051, f"Template {template.name} has a {kind.lower()}; groups take text and media.")
    if template.header_format not in (None, "TEXT", "IMAGE", "VIDEO", "DOCUMENT"):
        raise GraphError(131051, f"Template {template.name} has a {template.header_format} header; groups "
                         "take text and media.")
    for button in template.buttons:
        kind = str(button.get("type", "")).upper()
        if kind not in _TEMPLATE_BUTTONS:
            raise GraphError(131051, f"Template {template.name} has a {kind} button; groups take text and media.")


def refuse_read(state: SandboxState, message_id: str) -> None:
    """Read receipts are not available for group messages."""
    if message_id in state.groups.member_messages:
        raise GraphError(131009, "Param message_id is not valid: read receipts are not available in groups.")


# --- the simulated members (control API) ---------------------------------------------------------


def _code_of(link: Any) -> str:
    if not isinstance(link, str) or not link.strip():
        raise ControlError("invite_link must be the group's invite link (or its code)")
    return link.strip().rstrip("/").rsplit("/", 1)[-1]


def join_by_link(state: SandboxState, data: dict[str, Any]) -> dict[str, Any]:
    """A simulated user opens an invite link: joins, or asks to join when approval is required."""
    wa_id = data.get("wa_id")
    if not isinstance(wa_id, str) or not wa_id.isdigit():
        raise ControlError("wa_id must be the user's WhatsApp id (digits)")
    code = _code_of(data.get("invite_link"))
    group = next((g for g in state.groups.groups.values() if g.invite_code == code), None)
    if group is None:
        raise ControlError("this invite link was revoked or never existed", 404)
    if wa_id in group.participants:
        raise ControlError(f"{wa_id} is already in the group")
    if isinstance(data.get("profile_name"), str) and data["profile_name"]:
        (state.customers.get(wa_id) or state.add_customer({"wa_id": wa_id})).profile_name = data["profile_name"]
    if group.join_approval_mode == "approval_required":
        jr = base64.urlsafe_b64encode(f"{state.ids.object_id()}:{group.id[:12]}".encode()).decode().rstrip("=")
        group.join_requests[jr] = (wa_id, state.clock.now())
        _emit(state, group, "group_participants_update",
              {"type": "group_join_request_created", "join_request_id": jr, "wa_id": wa_id})
        return {"group_id": group.id, "joined": False, "join_request_id": jr}
    if len(group.participants) >= limits.limit("group.participants").max:
        raise ControlError(f"the group is full ({limits.limit('group.participants').max} participants)")
    _join(state, group, wa_id, reason="invite_link")
    return {"group_id": group.id, "joined": True}


def member_leaves(state: SandboxState, group_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A member leaves the group."""
    group = _control_group(state, group_id)
    wa_id = data.get("wa_id")
    if wa_id not in group.participants:
        raise ControlError(f"{wa_id!r} is not a member of the group")
    del group.participants[wa_id]
    _emit(state, group, "group_participants_update", {
        "type": "group_participants_remove", "initiated_by": "participant", "removed_participants": [{"wa_id": wa_id}]})
    return {"group_id": group.id, "participants": list(group.participants)}


def member_writes(state: SandboxState, group_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A member writes in the group: the ``messages`` webhook, with ``group_id`` on the message."""
    group = _control_group(state, group_id)
    wa_id = data.get("from")
    if wa_id not in group.participants:
        raise ControlError(f"from {wa_id!r} is not a member of the group")
    assert isinstance(wa_id, str)
    now = state.clock.now()
    wamid = state.ids.wamid(wa_id, inbound=True)
    message: dict[str, Any] = {"from": wa_id, "group_id": group.id, "id": wamid, "timestamp": str(int(now))}
    if isinstance(data.get("text"), str):
        message.update(type="text", text={"body": data["text"]})
    elif isinstance(data.get("image"), dict) or isinstance(data.get("document"), dict):
        kind = "image" if "image" in data else "document"
        spec = data[kind]
        media = {"id": state.ids.object_id(), "mime_type": spec.get("mime_type", "image/jpeg" if kind == "image"
                                                                    else "application/pdf"),
                 "sha256": base64.b64encode(bytes(32)).decode()}
        if isinstance(spec.get("caption"), str):
            media["caption"] = spec["caption"]
        message.update(type=kind, **{kind: media})
    else:
        raise ControlError("say what the member writes: text (a string), image or document (an object)")
    customer = state.customers.get(wa_id) or state.add_customer({"wa_id": wa_id})
    # One member's message opens the service window for the whole group.
    group.last_inbound_at = now
    group.inbound.append(message)
    state.groups.member_messages[wamid] = group.id
    value = {"messaging_product": "whatsapp", "metadata": _payloads.metadata(state, group.phone_number_id),
             "contacts": [{"profile": {"name": customer.profile_name}, "wa_id": wa_id}], "messages": [message]}
    state.dispatcher.emit(group.id, "messages", value)
    return {"id": wamid, "group_id": group.id}


def suspend(state: SandboxState, group_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """WhatsApp suspends the group (or lifts the suspension): the ``group_status_update`` webhook."""
    group = _control_group(state, group_id)
    on = data.get("suspended", True)
    if not isinstance(on, bool):
        raise ControlError("suspended must be true or false")
    group.suspended = on
    _emit(state, group, "group_status_update", {"type": "group_suspend" if on else "group_suspend_cleared"})
    return group.to_dict()


def _control_group(state: SandboxState, group_id: str) -> Group:
    group = state.groups.groups.get(group_id)
    if group is None:
        raise ControlError(f"no group {group_id}", 404)
    return group
