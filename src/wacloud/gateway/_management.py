"""Gateway HTTP API for management: templates (list, create, delete, pre-send check), business profile,
QR codes and blocked users. Included by the gateway app; every route needs an API key.

The Cloud API client comes from :func:`get_client`: the client of the number the call names with
``?number=`` (its own token; the key's number limits apply), optional when the gateway serves one number;
templates take :func:`get_waba_client` (the number's WABA). Tests and other apps may override them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, PlainValidator

from wacloud import errors
from wacloud.client import AsyncClient
from wacloud.gateway._api import gateway
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError, whatsapp_error
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._numbers_api import NumberQuery, lane_for
from wacloud.gateway._send_body import json_object
from wacloud.limits import PROFILE_VERTICALS, limit
from wacloud.messages import Template
from wacloud.templates import TemplateDefinition, TemplateDefinitionError, TemplateMismatch

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["management"])

_QR = Annotated[str, Path(pattern=r"^[A-Z2-7]{14}$", description="The 14-character QR code id")]
_TEMPLATE_NAME = Annotated[str, Path(min_length=1, max_length=limit("template.name").max, pattern=r"^[a-z0-9_]+$")]
_PHONE = r"^\+?[0-9][0-9 ()\-]{4,24}$"


def get_client(request: Request, key: Authenticated, number: NumberQuery = None) -> AsyncClient:
    """The Cloud API client of the number the call is for (``?number=``; optional with one number or a key
    for one number), with its own token; 403 when the key may not use it, 503 when this process has none."""
    gw = gateway(request)
    if len(gw.numbers):
        return lane_for(gw, key, number).client
    if gw.client is None:
        raise ApiError(503, "the Cloud API client is not available in this process")
    return gw.client


def get_waba_client(request: Request, key: Authenticated, number: NumberQuery = None) -> AsyncClient:
    """The client for a WABA-wide call (templates): the number's (``?number=``) WABA, optional when every
    number the key may use is in one WABA."""
    gw = gateway(request)
    if len(gw.numbers):
        return lane_for(gw, key, number, waba=True).client
    return get_client(request, key, number)


ClientDep = Annotated[AsyncClient, Depends(get_client)]
#: Templates belong to the number's WABA.
WabaClientDep = Annotated[AsyncClient, Depends(get_waba_client)]


def _local(exc: errors.ValidationError) -> ApiError:
    extra: dict[str, Any] = {}
    if isinstance(exc, TemplateDefinitionError):
        extra = {"code": exc.code, "subcode": exc.subcode}
    elif isinstance(exc, TemplateMismatch):
        extra = {"code": exc.code, "kind": exc.kind.value}
    return ApiError(422, exc.reason, field=exc.field, **extra)


async def _run(coro: Any) -> Any:
    """Await a client call, turning our and Meta's errors into API answers."""
    try:
        return await coro
    except errors.ValidationError as exc:
        raise _local(exc) from None
    except errors.WhatsAppError as exc:
        raise whatsapp_error(exc) from None
    except errors.TransportError as exc:
        raise ApiError(502, f"the Cloud API could not be reached: {exc}") from None
    except errors.WacloudError as exc:  # e.g. an unexpected 2xx answer: Meta's side, not the caller's
        raise ApiError(502, f"unexpected answer from the Cloud API: {exc}"[:500]) from None


# --- schemas ------------------------------------------------------------------------------------


class TemplateOut(BaseModel):
    """A template as Meta returns it (``id``, ``status`` and the definition; Meta adds fields often)."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str
    language: str | None = None
    status: str | None = None
    category: str | None = None
    parameter_format: str | None = None
    components: list[dict[str, Any]] = Field(default_factory=list)


class TemplatePage(BaseModel):
    """A page of templates as Meta returns them, with the cursor of the next page."""

    data: list[TemplateOut]
    after: str | None = None


#: A template create body: documented as Meta's definition, checked by the client against Meta's rules.
TemplateCreateBody = Annotated[dict[str, Any], PlainValidator(json_object, json_schema_input_type=TemplateDefinition)]
#: The template object of a send body, documented as its model and checked against the definition.
TemplateSendObject = Annotated[dict[str, Any], PlainValidator(json_object, json_schema_input_type=Template)]


class CreatedOut(BaseModel):
    """A created template: ``id``, ``status``, ``category``."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: str | None = None
    category: str | None = None


class Done(BaseModel):
    """``{"success": true}``."""

    success: bool


class ProfileIn(BaseModel):
    """Business profile fields to change (Meta's names and limits)."""

    model_config = ConfigDict(extra="forbid")

    about: str | None = Field(None, min_length=1, max_length=limit("profile.about").max)
    address: str | None = Field(None, max_length=limit("profile.address").max)
    description: str | None = Field(None, max_length=limit("profile.description").max)
    email: str | None = Field(None, max_length=limit("profile.email").max)
    websites: list[Annotated[str, Field(max_length=limit("profile.website").max)]] | None = Field(
        None, max_length=limit("profile.websites").max
    )
    vertical: Literal[tuple(sorted(PROFILE_VERTICALS))] | None = None  # type: ignore[valid-type]
    profile_picture_handle: str | None = Field(None, min_length=1, max_length=1024)


class ProfileOut(BaseModel):
    """The business profile."""

    model_config = ConfigDict(extra="allow")

    about: str | None = None
    address: str | None = None
    description: str | None = None
    email: str | None = None
    websites: list[str] = Field(default_factory=list)
    vertical: str | None = None
    profile_picture_url: str | None = None


class QrIn(BaseModel):
    """A QR code to create: the prefilled message and the image format wanted, if any."""

    model_config = ConfigDict(extra="forbid")

    prefilled_message: str = Field(min_length=1, max_length=limit("qr.prefilled_message").max)
    generate_qr_image: Literal["SVG", "PNG"] | None = None


class QrUpdate(BaseModel):
    """A QR code's new prefilled message."""

    model_config = ConfigDict(extra="forbid")

    prefilled_message: str = Field(min_length=1, max_length=limit("qr.prefilled_message").max)


class QrOut(BaseModel):
    """A QR code / short link."""

    model_config = ConfigDict(extra="allow")

    code: str
    prefilled_message: str | None = None
    deep_link_url: str | None = None
    qr_image_url: str | None = None


class QrList(BaseModel):
    """The number's QR codes."""

    data: list[QrOut]


class UsersIn(BaseModel):
    """Users to block or unblock (phone numbers or wa_ids), up to 1,000 per call."""

    model_config = ConfigDict(extra="forbid")

    users: list[Annotated[str, Field(pattern=_PHONE)]] = Field(
        min_length=1, max_length=limit("block_users.per_request").max
    )


class BlockOut(BaseModel):
    """Who was (un)blocked, and who failed with Meta's per-user errors."""

    added_users: list[dict[str, Any]] = Field(default_factory=list)
    removed_users: list[dict[str, Any]] = Field(default_factory=list)
    failed_users: list[dict[str, Any]] = Field(default_factory=list)


class BlockedList(BaseModel):
    """A page of blocked users (``wa_id``) and the cursor of the next page."""

    data: list[dict[str, Any]]
    after: str | None = None


# --- templates ----------------------------------------------------------------------------------


@router.get("/templates", response_model=TemplatePage, summary="List message templates")
async def list_templates(
    _: Authenticated,
    client: WabaClientDep,
    name: Annotated[str | None, Query(max_length=512, pattern=r"^[a-z0-9_]+$")] = None,
    status: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z_,]+$")] = None,
    category: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z_,]+$")] = None,
    language: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z_]+$")] = None,
    limit_: Annotated[int, Query(alias="limit", ge=1, le=500)] = 100,
    after: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    """One page of the WABA's templates (Meta's filters)."""
    page = await _run(
        client.list_templates(name=name, status=status, category=category, language=language, limit=limit_, after=after)
    )
    return {"data": page.data, "after": page.after}


@router.post("/templates", response_model=CreatedOut, status_code=201, summary="Create a template")
async def create_template(
    _: Authenticated,
    client: WabaClientDep,
    body: Annotated[
        TemplateCreateBody,
        Body(
            description="The create body Meta takes: name, language, category, "
            "components (checked against Meta's rules first)"
        ),
    ],
) -> dict[str, Any]:
    """Create a template; a body Meta would refuse gets a 422 naming the field, the code and subcode."""
    created = await _run(client.create_template(body))
    return dict(created.model_dump())


@router.delete("/templates/{name}", response_model=Done, summary="Delete a template")
async def delete_template(
    _: Authenticated,
    client: WabaClientDep,
    name: _TEMPLATE_NAME,
    template_id: Annotated[str | None, Query(max_length=64, pattern=r"^[0-9]+$")] = None,
) -> dict[str, Any]:
    """Delete every language of ``name``, or one language with ``template_id``."""
    return {"success": await _run(client.delete_template(name, template_id=template_id))}


@router.post("/templates/validate", response_model=TemplateOut, summary="Check a template send against its definition")
async def validate_template(
    _: Authenticated,
    client: WabaClientDep,
    template: Annotated[TemplateSendObject, Body(description="The template object of a send body")],
) -> dict[str, Any]:
    """The template's definition when the send fits it; a 422 naming the mismatch (and Meta's code) if not."""
    definition = await _run(client.validate_template_send(template))
    return dict(definition)


# --- business profile ---------------------------------------------------------------------------


@router.get("/profile", response_model=ProfileOut, summary="The business profile")
async def get_profile(_: Authenticated, client: ClientDep) -> dict[str, Any]:
    """The business profile of the gateway's number."""
    profile = await _run(client.get_business_profile())
    return dict(profile.model_dump())


@router.patch("/profile", response_model=Done, summary="Update the business profile")
async def update_profile(_: Authenticated, client: ClientDep, body: ProfileIn) -> dict[str, Any]:
    """Change the given profile fields."""
    return {"success": await _run(client.update_business_profile(**body.model_dump(exclude_none=True)))}


# --- QR codes -----------------------------------------------------------------------------------


@router.get("/qr", response_model=QrList, summary="List QR codes")
async def list_qr(_: Authenticated, client: ClientDep) -> dict[str, Any]:
    """The number's QR codes."""
    return {"data": [q.model_dump() for q in await _run(client.list_qr())]}


@router.post("/qr", response_model=QrOut, status_code=201, summary="Create a QR code")
async def create_qr(_: Authenticated, client: ClientDep, body: QrIn) -> dict[str, Any]:
    """Create a QR code / short link with a prefilled message."""
    qr = await _run(client.create_qr(body.prefilled_message, generate_qr_image=body.generate_qr_image))
    return dict(qr.model_dump())


@router.patch("/qr/{code}", response_model=QrOut, summary="Change a QR code's message")
async def update_qr(_: Authenticated, client: ClientDep, code: _QR, body: QrUpdate) -> dict[str, Any]:
    """Change the prefilled message."""
    return dict((await _run(client.update_qr(code, body.prefilled_message))).model_dump())


@router.delete("/qr/{code}", response_model=Done, summary="Delete a QR code")
async def delete_qr(_: Authenticated, client: ClientDep, code: _QR) -> dict[str, Any]:
    """Delete the QR code."""
    return {"success": await _run(client.delete_qr(code))}


# --- blocked users ------------------------------------------------------------------------------


@router.get("/blocked", response_model=BlockedList, summary="List blocked users")
async def list_blocked(
    _: Authenticated,
    client: ClientDep,
    limit_: Annotated[int, Query(alias="limit", ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    """One page of blocked users."""
    page = await _run(client.list_blocked_users(limit=limit_, after=after))
    return {"data": page.data, "after": page.after}


@router.post("/blocked", response_model=BlockOut, summary="Block users")
async def block(_: Authenticated, client: ClientDep, body: UsersIn) -> dict[str, Any]:
    """Block users who messaged in the last 24 hours; the others come back in ``failed_users``."""
    return dict((await _run(client.block_users(body.users))).model_dump())


@router.post("/blocked/remove", response_model=BlockOut, summary="Unblock users")
async def unblock(_: Authenticated, client: ClientDep, body: UsersIn) -> dict[str, Any]:
    """Unblock users."""
    return dict((await _run(client.unblock_users(body.users))).model_dump())
