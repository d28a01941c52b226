"""The Groups API: create and delete groups, invite links, join requests, participants, group settings.

Users join a group only through its invite link (or a join request the business approves); a group has
at most 8 participants besides the business and a number may own 10,000 groups. Creating a group is
asynchronous: the answer carries a ``request_id`` and the group id arrives in a
``group_lifecycle_update`` webhook. Send to a group with ``send(group_id, message,
recipient_type="group")`` or :meth:`GroupsApi.send_to_group`; only text, media and text/media templates
are accepted (see :mod:`wacloud.messages.groups`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.messaging import MessagingApi
from wacloud.client.models import SentMessage, UnexpectedResponse
from wacloud.client.templates import Page, list_params, parse_answer
from wacloud.limits import GROUP_PHOTO_MAX_BYTES, limit

if TYPE_CHECKING:
    from wacloud.messages import Message

GROUP_FIELDS = ("subject", "description", "participants", "join_approval_mode", "suspended",
                "creation_timestamp", "total_participant_count")
JoinApprovalMode = Literal["approval_required", "auto_approve"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class GroupParticipant(_Model):
    """A member of a group."""

    wa_id: str | None = None


class GroupInfo(_Model):
    """``GET /{group-id}``: subject, description, members, approval mode, suspension."""

    id: str | None = None
    subject: str | None = None
    description: str | None = None
    join_approval_mode: str | None = None
    suspended: bool | None = None
    creation_timestamp: int | None = None
    participants: list[GroupParticipant] = Field(default_factory=list)
    total_participant_count: int | None = None


class GroupSummary(_Model):
    """One group of ``GET /{phone-number-id}/groups``."""

    id: str
    subject: str | None = None
    created_at: str | int | None = None


class GroupList(_Model):
    """One page of the number's active groups, with the cursor to the next page."""

    groups: list[GroupSummary] = Field(default_factory=list)
    paging: dict[str, Any] | None = None

    @property
    def after(self) -> str | None:
        """The cursor of the next page (None on the last page)."""
        return Page(paging=self.paging).after


class JoinRequest(_Model):
    """A user asking to join a group whose ``join_approval_mode`` is ``approval_required``."""

    join_request_id: str
    wa_id: str | None = None
    creation_timestamp: int | None = None


class FailedJoinRequest(_Model):
    """A join request that could not be approved or rejected, with Meta's errors."""

    join_request_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class JoinRequestResult(_Model):
    """Which join requests were handled and which failed."""

    approved_join_requests: list[str] = Field(default_factory=list)
    rejected_join_requests: list[str] = Field(default_factory=list)
    failed_join_requests: list[FailedJoinRequest] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)


def _group(group_id: str) -> str:
    if not isinstance(group_id, str) or not group_id.strip() or "/" in group_id:
        raise errors.ValidationError("group_id", "a group id is required")
    return group_id.strip()


def _text(field: str, key: str, value: str) -> str:
    if not isinstance(value, str):
        raise errors.ValidationError(field, "must be a string")
    text = value.strip() if field == "subject" else value  # Meta trims the subject's whitespace
    lim = limit(key)
    if not lim.min <= len(text) <= lim.max:
        raise errors.ValidationError(field, f"must be {lim.min}–{lim.max} characters", size=len(text),
                                     limit=lim.max if len(text) > lim.max else lim.min)
    return text


def _ids(field: str, values: Sequence[str]) -> list[str]:
    items = [values] if isinstance(values, str) else list(values)
    if not items:
        raise errors.ValidationError(field, "give at least one")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise errors.ValidationError(f"{field}[{i}]", "must be a non-empty string")
    if len(set(items)) != len(items):
        raise errors.ValidationError(field, "lists the same entry twice")
    return [item.strip() for item in items]


def _participants(users: Sequence[str]) -> list[dict[str, str]]:
    items = _ids("participants", users)
    cap = limit("group.participants.per_request").max
    if len(items) > cap:
        raise errors.ValidationError("participants", f"at most {cap} per request", size=len(items), limit=cap)
    return [{"user": item} for item in items]


def _ok(answer: Any) -> bool:
    # The invite-link revoke answer spells success as the string "true".
    value = answer.get("success") if isinstance(answer, Mapping) else None
    return value is True or value == "true"


def _link(answer: Any) -> str:
    link = answer.get("invite_link") if isinstance(answer, Mapping) else None
    if not isinstance(link, str) or not link:
        raise UnexpectedResponse(f"answer without an invite_link: {str(answer)[:200]}")
    return link


def _jpeg(file: Path | bytes) -> bytes:
    data = file.read_bytes() if isinstance(file, Path) else file
    if not isinstance(data, bytes | bytearray) or not data:
        raise errors.ValidationError("file", "an image file is required")
    if not data.startswith(b"\xff\xd8\xff"):
        raise errors.ValidationError("file", "a group photo must be a JPEG image")
    if len(data) > GROUP_PHOTO_MAX_BYTES:
        raise errors.ValidationError("file", "a group photo may be at most 5 MB", size=len(data),
                                     limit=GROUP_PHOTO_MAX_BYTES)
    return bytes(data)


class GroupsApi(ApiConfig):
    """The Groups API: groups, invite links, join requests, participants, settings, group sends."""

    # --- groups ----------------------------------------------------------------------------------
    @operation
    def create_group(self, subject: str, *, description: str | None = None,
                     join_approval_mode: JoinApprovalMode | None = None,
                     phone_number_id: str | None = None) -> Operation[str]:
        """Ask for a new group; returns the request id (the group id comes in a lifecycle webhook)."""
        pid = self.require_phone(phone_number_id)
        body: dict[str, Any] = {"messaging_product": "whatsapp", "subject": _text("subject", "group.subject", subject)}
        if description is not None:
            body["description"] = _text("description", "group.description", description)
        if join_approval_mode is not None:
            if join_approval_mode not in ("approval_required", "auto_approve"):
                raise errors.ValidationError("join_approval_mode", "must be approval_required or auto_approve")
            body["join_approval_mode"] = join_approval_mode
        answer = yield from call(Request("POST", f"{pid}/groups", json=body))
        request_id = answer.get("request_id") if isinstance(answer, Mapping) else None
        if not request_id:
            raise UnexpectedResponse(f"create group answered without a request_id: {str(answer)[:200]}")
        return str(request_id)

    @operation
    def list_groups(self, *, limit: int | None = None, after: str | None = None, before: str | None = None,
                    phone_number_id: str | None = None) -> Operation[GroupList]:
        """One page of the number's active groups (``limit`` 1–1024)."""
        pid = self.require_phone(phone_number_id)
        if limit is not None:
            cap = _limit_cap()
            if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= cap:
                raise errors.ValidationError("limit", f"must be 1–{cap}")
        answer = yield from call(Request("GET", f"{pid}/groups",
                                         params=list_params(limit=limit, after=after, before=before) or None))
        data = answer.get("data") if isinstance(answer, Mapping) else None
        groups = data.get("groups") if isinstance(data, Mapping) else data  # tolerate a flat data list
        paging = answer.get("paging") if isinstance(answer, Mapping) else None
        return parse_answer(GroupList, {"groups": groups or [], "paging": paging})

    @operation
    def get_group(self, group_id: str, *, fields: Sequence[str] = GROUP_FIELDS) -> Operation[GroupInfo]:
        """A group's subject, description, participants and settings."""
        gid = _group(group_id)
        answer = yield from call(Request("GET", gid, params={"fields": ",".join(fields)}))
        return parse_answer(GroupInfo, answer)

    @operation
    def update_group(self, group_id: str, *, subject: str | None = None,
                     description: str | None = None) -> Operation[bool]:
        """Change the group's subject and/or description."""
        gid = _group(group_id)
        body: dict[str, Any] = {"messaging_product": "whatsapp"}
        if subject is not None:
            body["subject"] = _text("subject", "group.subject", subject)
        if description is not None:
            body["description"] = _text("description", "group.description", description)
        if len(body) == 1:
            raise errors.ValidationError("group", "nothing to update")
        answer = yield from call(Request("POST", gid, json=body))
        return _ok(answer)

    @operation
    def set_group_photo(self, group_id: str, file: Path | bytes, *, filename: str = "group.jpg") -> Operation[bool]:
        """Upload a square JPEG (≤ 5 MB, ≥ 192 px a side) as the group's photo."""
        gid = _group(group_id)
        data = _jpeg(file)
        answer = yield from call(Request("POST", gid, data={"messaging_product": "whatsapp"},
                                         files={"file": (filename, data, "image/jpeg")}))
        return _ok(answer)

    @operation
    def delete_group(self, group_id: str) -> Operation[bool]:
        """Delete the group, removing every participant and the business."""
        answer = yield from call(Request("DELETE", _group(group_id)))
        return _ok(answer)

    # --- invite links ----------------------------------------------------------------------------
    @operation
    def get_group_invite_link(self, group_id: str) -> Operation[str]:
        """The group's current invite link (``https://chat.whatsapp.com/…``)."""
        answer = yield from call(Request("GET", f"{_group(group_id)}/invite_link"))
        return _link(answer)

    @operation
    def create_group_invite_link(self, group_id: str) -> Operation[str]:
        """Make a new invite link; the previous one stops working."""
        answer = yield from call(Request("POST", f"{_group(group_id)}/invite_link",
                                         json={"messaging_product": "whatsapp"}))
        return _link(answer)

    @operation
    def revoke_group_invite_link(self, group_id: str) -> Operation[bool]:
        """Revoke the group's invite link."""
        answer = yield from call(Request("DELETE", f"{_group(group_id)}/invite_link",
                                         json={"messaging_product": "whatsapp"}))
        return _ok(answer)

    # --- join requests and participants ----------------------------------------------------------
    @operation
    def list_join_requests(self, group_id: str) -> Operation[list[JoinRequest]]:
        """The group's open join requests."""
        answer = yield from call(Request("GET", f"{_group(group_id)}/join_requests"))
        return [parse_answer(JoinRequest, item) for item in parse_answer(Page, answer or {}).data]

    @operation
    def approve_join_requests(self, group_id: str, join_request_ids: Sequence[str]) -> Operation[JoinRequestResult]:
        """Let these users into the group."""
        body = {"messaging_product": "whatsapp", "join_requests": _ids("join_requests", join_request_ids)}
        answer = yield from call(Request("POST", f"{_group(group_id)}/join_requests", json=body))
        return parse_answer(JoinRequestResult, answer)

    @operation
    def reject_join_requests(self, group_id: str, join_request_ids: Sequence[str]) -> Operation[JoinRequestResult]:
        """Turn these join requests down."""
        body = {"messaging_product": "whatsapp", "join_requests": _ids("join_requests", join_request_ids)}
        answer = yield from call(Request("DELETE", f"{_group(group_id)}/join_requests", json=body))
        return parse_answer(JoinRequestResult, answer)

    @operation
    def remove_group_participants(self, group_id: str, users: Sequence[str]) -> Operation[bool]:
        """Remove 1–8 participants (phone numbers or WhatsApp ids); the outcome also comes by webhook."""
        body = {"messaging_product": "whatsapp", "participants": _participants(users)}
        answer = yield from call(Request("DELETE", f"{_group(group_id)}/participants", json=body))
        return _ok(answer) if isinstance(answer, Mapping) and "success" in answer else True

    # --- sending ---------------------------------------------------------------------------------
    @operation
    def send_to_group(self, group_id: str, message: Message, *, reply_to: str | None = None,
                      biz_opaque_callback_data: str | None = None,
                      phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a text, media or text/media template message to a group (others are refused locally).

        A template whose cached definition (see ``template_cache``) is an AUTHENTICATION template is
        refused too: its button looks like any URL button in the send body.
        """
        _not_authentication(getattr(self, "template_cache", None), message)
        return (yield from MessagingApi.send.flow(self, _group(group_id), message, reply_to=reply_to,
                                                  biz_opaque_callback_data=biz_opaque_callback_data,
                                                  recipient_type="group", phone_number_id=phone_number_id))


def _limit_cap() -> int:
    return limit("group.list.limit").max


def _not_authentication(cache: Any, message: Any) -> None:
    from wacloud.messages import Template

    if cache is None or not isinstance(message, Template):
        return
    for definition in cache.get(message.name) or []:
        if definition.get("language") == message.language.code and \
                str(definition.get("category", "")).upper() == "AUTHENTICATION":
            raise errors.ValidationError("template.category",
                                         "authentication templates cannot be sent to a group")
