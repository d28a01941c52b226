"""Gateway HTTP API for the Groups API: create, list, read, change and delete groups, invite links, join
requests, participants, and sending to a group. Included by the gateway app; every route needs an API key.

Group sends go straight to the Cloud API (the outbox paces and windows per customer; a group has neither),
and only the types Meta allows in groups pass (text, media, text/media templates).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from wacloud import errors, messages
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._management import ClientDep, Done, _run
from wacloud.gateway._send_body import json_object
from wacloud.limits import limit

router = APIRouter(prefix="/v1/groups", responses=ERROR_RESPONSES, tags=["groups"])

_GROUP_ID = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:=+\-]+$",
                                description="The group id")]
_SUBJECT = limit("group.subject")
_DESCRIPTION = limit("group.description")
_MEMBERS = limit("group.participants.per_request").max


class GroupIn(BaseModel):
    """A group to create: subject, description, who may join without approval."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=_SUBJECT.min, max_length=_SUBJECT.max)
    description: str | None = Field(None, max_length=_DESCRIPTION.max)
    join_approval_mode: Literal["approval_required", "auto_approve"] | None = None


class GroupUpdate(BaseModel):
    """A new subject and/or description."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(None, min_length=_SUBJECT.min, max_length=_SUBJECT.max)
    description: str | None = Field(None, max_length=_DESCRIPTION.max)


class CreatedGroup(BaseModel):
    """Creation is asynchronous: the request id; the group id comes in a ``group_lifecycle_update``."""

    request_id: str


class GroupOut(BaseModel):
    """A group's subject, description, members and settings."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    subject: str | None = None
    description: str | None = None
    join_approval_mode: str | None = None
    suspended: bool | None = None
    participants: list[dict[str, Any]] = Field(default_factory=list)
    total_participant_count: int | None = None


class GroupPage(BaseModel):
    """One page of the number's active groups."""

    groups: list[dict[str, Any]]
    after: str | None = None


class InviteLink(BaseModel):
    """The group's invite link."""

    invite_link: str


class JoinRequestsOut(BaseModel):
    """The group's open join requests."""

    data: list[dict[str, Any]]


class JoinRequestIds(BaseModel):
    """Join requests to approve or reject."""

    model_config = ConfigDict(extra="forbid")

    join_requests: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(min_length=1, max_length=1000)


class JoinRequestResultOut(BaseModel):
    """Which join requests were handled and which failed (Meta's errors per request)."""

    model_config = ConfigDict(extra="allow")

    approved_join_requests: list[str] = Field(default_factory=list)
    rejected_join_requests: list[str] = Field(default_factory=list)
    failed_join_requests: list[dict[str, Any]] = Field(default_factory=list)


class ParticipantsIn(BaseModel):
    """Participants to remove (phone numbers or WhatsApp ids)."""

    model_config = ConfigDict(extra="forbid")

    participants: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=_MEMBERS)


class GroupSentOut(BaseModel):
    """The sent message's wamid and the group it went to."""

    wamid: str
    group_id: str | None = None


#: A group message: ``{"type": ..., <type>: {...}}`` (text, image, video, audio, document, template).
GroupMessageBody = Annotated[dict[str, Any], PlainValidator(json_object)]
_GROUP_TYPES = ("text", "image", "video", "audio", "document", "template")


@router.post("", response_model=CreatedGroup, status_code=202, summary="Create a group")
async def create_group(_: Authenticated, client: ClientDep, body: GroupIn) -> dict[str, Any]:
    """Ask for a new group; its id arrives in a ``group_lifecycle_update`` webhook."""
    request_id = await _run(client.create_group(body.subject, description=body.description,
                                                join_approval_mode=body.join_approval_mode))
    return {"request_id": request_id}


@router.get("", response_model=GroupPage, summary="List the number's groups")
async def list_groups(
    _: Authenticated,
    client: ClientDep,
    limit_: Annotated[int, Query(alias="limit", ge=1, le=limit("group.list.limit").max)] = 100,
    after: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    """One page of the number's active groups."""
    page = await _run(client.list_groups(limit=limit_, after=after))
    return {"groups": [g.model_dump() for g in page.groups], "after": page.after}


@router.get("/{group_id}", response_model=GroupOut, summary="A group's info")
async def get_group(_: Authenticated, client: ClientDep, group_id: _GROUP_ID) -> dict[str, Any]:
    """Subject, description, participants, approval mode, suspension."""
    return dict((await _run(client.get_group(group_id))).model_dump())


@router.patch("/{group_id}", response_model=Done, summary="Change a group's subject or description")
async def update_group(_: Authenticated, client: ClientDep, group_id: _GROUP_ID, body: GroupUpdate) -> dict[str, Any]:
    """Change the subject and/or description (422 naming ``group`` when neither is given)."""
    return {"success": await _run(client.update_group(group_id, subject=body.subject, description=body.description))}


@router.delete("/{group_id}", response_model=Done, summary="Delete a group")
async def delete_group(_: Authenticated, client: ClientDep, group_id: _GROUP_ID) -> dict[str, Any]:
    """Delete the group, removing every participant."""
    return {"success": await _run(client.delete_group(group_id))}


@router.get("/{group_id}/invite_link", response_model=InviteLink, summary="The group's invite link")
async def get_invite_link(_: Authenticated, client: ClientDep, group_id: _GROUP_ID) -> dict[str, Any]:
    """The current invite link."""
    return {"invite_link": await _run(client.get_group_invite_link(group_id))}


@router.post("/{group_id}/invite_link", response_model=InviteLink, status_code=201, summary="Make a new invite link")
async def create_invite_link(_: Authenticated, client: ClientDep, group_id: _GROUP_ID) -> dict[str, Any]:
    """A new invite link; the previous one stops working."""
    return {"invite_link": await _run(client.create_group_invite_link(group_id))}


@router.delete("/{group_id}/invite_link", response_model=Done, summary="Revoke the invite link")
async def revoke_invite_link(_: Authenticated, client: ClientDep, group_id: _GROUP_ID) -> dict[str, Any]:
    """Revoke the group's invite link."""
    return {"success": await _run(client.revoke_group_invite_link(group_id))}


@router.get("/{group_id}/join_requests", response_model=JoinRequestsOut, summary="Open join requests")
async def join_requests(_: Authenticated, client: ClientDep, group_id: _GROUP_ID) -> dict[str, Any]:
    """The group's open join requests."""
    return {"data": [r.model_dump() for r in await _run(client.list_join_requests(group_id))]}


@router.post("/{group_id}/join_requests/approve", response_model=JoinRequestResultOut, summary="Approve join requests")
async def approve(_: Authenticated, client: ClientDep, group_id: _GROUP_ID, body: JoinRequestIds) -> dict[str, Any]:
    """Let these users in."""
    return dict((await _run(client.approve_join_requests(group_id, body.join_requests))).model_dump())


@router.post("/{group_id}/join_requests/reject", response_model=JoinRequestResultOut, summary="Reject join requests")
async def reject(_: Authenticated, client: ClientDep, group_id: _GROUP_ID, body: JoinRequestIds) -> dict[str, Any]:
    """Turn these join requests down."""
    return dict((await _run(client.reject_join_requests(group_id, body.join_requests))).model_dump())


@router.post("/{group_id}/participants/remove", response_model=Done, summary="Remove participants")
async def remove_participants(
    _: Authenticated, client: ClientDep, group_id: _GROUP_ID, body: ParticipantsIn
) -> dict[str, Any]:
    """Remove 1–8 participants; the outcome also comes by webhook."""
    return {"success": await _run(client.remove_group_participants(group_id, body.participants))}


@router.post("/{group_id}/messages", response_model=GroupSentOut, status_code=201, summary="Send to a group")
async def send_to_group(
    _: Authenticated,
    client: ClientDep,
    group_id: _GROUP_ID,
    body: Annotated[GroupMessageBody, Body(description="{type, <type>: {...}}: text, media or a template")],
) -> dict[str, Any]:
    """Send a text, media or text/media template message to the group (sent at once, not queued)."""
    kind = body.get("type")
    if kind not in _GROUP_TYPES:
        raise ApiError(422, f"a group takes only {', '.join(_GROUP_TYPES)} messages", field="type")
    unknown = sorted(set(body) - {"type", kind, "messaging_product", "recipient_type", "context"})
    if unknown:
        raise ApiError(422, "unexpected field in a group message", field=unknown[0])
    try:
        message = messages.parse_message(str(kind), body.get(str(kind)))
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field=exc.field) from None
    except (TypeError, ValueError) as exc:
        raise ApiError(422, f"invalid {kind} object: {exc}"[:300], field=str(kind)) from None
    context = body.get("context")
    reply_to = context.get("message_id") if isinstance(context, dict) else None
    sent = await _run(client.send_to_group(group_id, message, reply_to=reply_to))
    return {"wamid": sent.wamid, "group_id": sent.group_id or group_id}
