"""Gateway HTTP API for the Calling API: place and answer calls, call permissions, calling settings,
call analytics. Included by the gateway app; every route needs an API key.

The SDP offers and answers pass through untouched (the caller's WebRTC stack owns them); the gateway adds
the API key, the error mapping (a 4xx naming the field) and the conversation log for permission requests.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from wacloud import errors
from wacloud.gateway._api import gateway
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._calls import call_engine
from wacloud.gateway._management import ClientDep, Done, _run
from wacloud.limits import limit

router = APIRouter(prefix="/v1/calls", responses=ERROR_RESPONSES, tags=["calling"])

_CALL_ID = Annotated[str, Path(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._:=+/\-]+$",
                               description="The call id (wacid.…)")]
_WA_ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^\+?[0-9A-Za-z.]{1,64}$",
                             description="The user's WhatsApp id or phone number")]
_SDP = Field(min_length=1, max_length=64_000, description="The SDP (RFC 8866), passed through untouched")
_OPAQUE = Field(None, max_length=limit("call.biz_opaque_callback_data").max,
                description="returned in this call's webhooks")


class ConnectIn(BaseModel):
    """A business-initiated call: who, the SDP offer, and whether to check the permission first."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, max_length=64, description="the user's phone number (E.164, + optional)")
    sdp: str = _SDP
    biz_opaque_callback_data: str | None = _OPAQUE
    check_permission: bool = Field(False, strict=True, description="check the permission first (409 if not granted)")


class ConnectOut(BaseModel):
    """The new call's id."""

    call_id: str


class AnswerIn(BaseModel):
    """The SDP answer of a user-initiated call."""

    model_config = ConfigDict(extra="forbid")

    sdp: str = _SDP
    biz_opaque_callback_data: str | None = _OPAQUE


class PreAcceptIn(BaseModel):
    """The SDP answer sent before ``accept`` so media can connect early."""

    model_config = ConfigDict(extra="forbid")

    sdp: str = _SDP


class PermissionRequestIn(BaseModel):
    """The call permission request message: to whom, its body and footer."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=1024)
    footer: str | None = Field(None, min_length=1, max_length=60)


class SentOut(BaseModel):
    """A message sent directly (not queued): its wamid and the user's WhatsApp id."""

    wamid: str
    wa_id: str | None = None


class PermissionOut(BaseModel):
    """The permission state for one user and the calling actions open now."""

    model_config = ConfigDict(extra="allow")

    permission: dict[str, Any]
    actions: list[dict[str, Any]] = Field(default_factory=list)
    can_call: bool


class SettingsIn(BaseModel):
    """Calling settings to change (Meta's names); only the given ones are sent."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ENABLED", "DISABLED"] | None = None
    call_icon_visibility: Literal["DEFAULT", "DISABLE_ALL"] | None = None
    callback_permission_status: Literal["ENABLED", "DISABLED"] | None = None
    call_hours: dict[str, Any] | None = None
    sip: dict[str, Any] | None = None
    srtp_key_exchange_protocol: Literal["DTLS-SRTP", "SDES-SRTP"] | None = None


class SettingsOut(BaseModel):
    """The number's calling settings (unknown keys kept)."""

    model_config = ConfigDict(extra="allow")

    status: str | None = None
    call_icon_visibility: str | None = None
    callback_permission_status: str | None = None
    call_hours: dict[str, Any] | None = None
    sip: dict[str, Any] | None = None


class AnalyticsOut(BaseModel):
    """Meta's ``call_analytics``: ``data[].data_points[]`` (counts, durations by the dimensions asked)."""

    model_config = ConfigDict(extra="allow")

    data: list[dict[str, Any]] = Field(default_factory=list)


async def _permission(coro: Any) -> Any:
    """Await ``coro``; a missing call permission (local check or Meta's 138006) is a 409 naming ``to``."""
    try:
        return await coro
    except errors.CallPermissionRequired as exc:
        raise ApiError(409, exc.detail.details or "the user has not granted call permission", field="to",
                       code=138006) from None


@router.post("", response_model=ConnectOut, status_code=201, summary="Place a business-initiated call")
async def connect(_: Authenticated, client: ClientDep, body: ConnectIn) -> dict[str, Any]:
    """Call a user who granted call permission (409 with code 138006 when they have not)."""
    call_id = await _run(_permission(client.connect_call(
        body.to, body.sdp, biz_opaque_callback_data=body.biz_opaque_callback_data,
        check_permission=body.check_permission,
    )))
    return {"call_id": call_id}


@router.post("/{call_id}/pre_accept", response_model=Done, summary="Pre-accept a user-initiated call")
async def pre_accept(_: Authenticated, client: ClientDep, call_id: _CALL_ID, body: PreAcceptIn) -> dict[str, Any]:
    """Send the SDP answer early so media can connect before ``accept``."""
    return {"success": await _run(client.pre_accept_call(call_id, body.sdp))}


@router.post("/{call_id}/accept", response_model=Done, summary="Accept a user-initiated call")
async def accept(_: Authenticated, client: ClientDep, call_id: _CALL_ID, body: AnswerIn) -> dict[str, Any]:
    """Answer the call with the SDP answer."""
    return {"success": await _run(client.accept_call(call_id, body.sdp,
                                                     biz_opaque_callback_data=body.biz_opaque_callback_data))}


@router.post("/{call_id}/reject", response_model=Done, summary="Reject a user-initiated call")
async def reject(_: Authenticated, client: ClientDep, call_id: _CALL_ID) -> dict[str, Any]:
    """Decline the call."""
    return {"success": await _run(client.reject_call(call_id))}


@router.post("/{call_id}/terminate", response_model=Done, summary="End a call")
async def terminate(_: Authenticated, client: ClientDep, call_id: _CALL_ID) -> dict[str, Any]:
    """Hang up a call in progress (either direction)."""
    return {"success": await _run(client.terminate_call(call_id))}


@router.get("/permissions/{wa_id}", response_model=PermissionOut, summary="A user's call permission")
async def permission(_: Authenticated, client: ClientDep, wa_id: _WA_ID) -> dict[str, Any]:
    """Whether the business may call ``wa_id`` now, and which calling actions are open."""
    state = await _run(client.get_call_permissions(wa_id))
    return {**state.model_dump(), "can_call": state.can_call}


@router.post("/permissions", response_model=SentOut, status_code=201, summary="Ask a user for call permission")
async def request_permission(
    request: Request, _: Authenticated, client: ClientDep, body: PermissionRequestIn
) -> dict[str, Any]:
    """Send the interactive call permission request (directly, not queued); it is logged in the conversation."""
    sent = await _run(client.send_call_permission_request(body.to, body.body, footer=body.footer))
    wa_id = sent.wa_id or body.to.lstrip("+")
    logged = {"type": "interactive", "interactive": {"type": "call_permission_request", "body": {"text": body.body}}}
    await call_engine(gateway(request).history.record_sent, wa_id, sent.wamid, logged)
    return {"wamid": sent.wamid, "wa_id": sent.wa_id}


@router.get("/settings", response_model=SettingsOut, summary="The number's calling settings")
async def get_settings(_: Authenticated, client: ClientDep) -> dict[str, Any]:
    """Status, call icon, call hours, callback permission and SIP settings."""
    return dict((await _run(client.get_calling_settings())).model_dump())


@router.patch("/settings", response_model=Done, summary="Change the number's calling settings")
async def update_settings(_: Authenticated, client: ClientDep, body: SettingsIn) -> dict[str, Any]:
    """Change the given settings (``call_hours`` replaces the whole schedule)."""
    return {"success": await _run(client.update_calling_settings(**body.model_dump(exclude_none=True)))}


@router.get("/analytics", response_model=AnalyticsOut, summary="Call analytics of the WABA")
async def analytics(
    _: Authenticated,
    client: ClientDep,
    start: Annotated[int, Query(ge=0, le=32503680000, description="unix time")],
    end: Annotated[int, Query(ge=0, le=32503680000, description="unix time")],
    granularity: Annotated[Literal["HALF_HOUR", "DAILY", "MONTHLY"], Query()] = "DAILY",
    dimensions: Annotated[list[str] | None, Query(max_length=8)] = None,
) -> dict[str, Any]:
    """Meta's ``call_analytics`` between ``start`` and ``end`` (``data[].data_points[]``)."""
    data: dict[str, Any] = await _run(client.get_call_analytics(start, end, granularity=granularity,
                                                                dimensions=dimensions))
    return data
