"""Gateway HTTP API for the business identity of the number (username, display name, conversational
components, commerce settings) and for the template library and template operations (archive, unarchive,
unpause, compare, migrate). Included by the gateway app; every route needs an API key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from wacloud.gateway._api_errors import ERROR_RESPONSES
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._management import ClientDep, CreatedOut, Done, TemplatePage, WabaClientDep, _run
from wacloud.limits import limit

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["business identity"])
templates_router = APIRouter(prefix="/v1/templates", responses=ERROR_RESPONSES, tags=["management"])

_ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9]+$", description="A Graph object id")]


# --- schemas ------------------------------------------------------------------------------------


class UsernameIn(BaseModel):
    """A business username to reserve (checked against Meta's format)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=limit("username").max)
    transfer_action: Literal["none", "force_transfer"] | None = None


class UsernameOut(BaseModel):
    """The username and its status (``reserved``, ``approved``); null when none."""

    model_config = ConfigDict(extra="allow")

    username: str | None = None
    status: str | None = None


class DisplayNameIn(BaseModel):
    """The display name to request."""

    model_config = ConfigDict(extra="forbid")

    new_display_name: str = Field(min_length=1, max_length=limit("phone.new_display_name").max)


class DisplayNameOut(BaseModel):
    """The display name, its status, and a pending change request with its review status."""

    model_config = ConfigDict(extra="allow")

    verified_name: str | None = None
    name_status: str | None = None
    new_display_name: str | None = None
    new_name_status: str | None = None


class Command(BaseModel):
    """A ``/command``: its name (no slash) and description."""

    model_config = ConfigDict(extra="forbid")

    command_name: str
    command_description: str


class AutomationIn(BaseModel):
    """Ice breakers (``prompts``), commands and the welcome message toggle; an empty list clears a part."""

    model_config = ConfigDict(extra="forbid")

    enable_welcome_message: bool | None = Field(None, strict=True)
    prompts: list[str] | None = Field(None, max_length=limit("automation.prompts").max)
    commands: list[Command] | None = Field(None, max_length=limit("automation.commands").max)


class AutomationOut(BaseModel):
    """The number's conversational components."""

    model_config = ConfigDict(extra="allow")

    enable_welcome_message: bool | None = None
    prompts: list[str] = Field(default_factory=list)
    commands: list[dict[str, Any]] = Field(default_factory=list)


class CommerceIn(BaseModel):
    """Turn the cart and the catalog's visibility on or off."""

    model_config = ConfigDict(extra="forbid")

    is_cart_enabled: bool | None = Field(None, strict=True)
    is_catalog_visible: bool | None = Field(None, strict=True)


class CommerceOut(BaseModel):
    """The number's commerce settings."""

    model_config = ConfigDict(extra="allow")

    is_cart_enabled: bool | None = None
    is_catalog_visible: bool | None = None


class LibraryCreateIn(BaseModel):
    """A template made from a library template (its category is fixed by the library)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")
    library_template_name: str = Field(min_length=1, max_length=512)
    category: Literal["UTILITY", "AUTHENTICATION", "MARKETING"]
    language: str = Field(min_length=2, max_length=15)
    library_template_button_inputs: list[dict[str, Any]] | None = Field(None, max_length=10)


class CompareOut(BaseModel):
    """One entry per metric (``BLOCK_RATE``, ``MESSAGE_SENDS``, ``TOP_BLOCK_REASON``)."""

    data: list[dict[str, Any]]


class MigrateIn(BaseModel):
    """Copy the templates of another WABA into this one."""

    model_config = ConfigDict(extra="forbid")

    source_waba_id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+$")
    page_number: int | None = Field(None, ge=0)


class MigrateOut(BaseModel):
    """Templates copied, and those that failed with Meta's reason per id."""

    migrated_templates: list[str] = Field(default_factory=list)
    failed_templates: dict[str, str] = Field(default_factory=dict)


# --- business identity --------------------------------------------------------------------------


@router.get("/username", response_model=UsernameOut, summary="The business username")
async def get_username(_: Authenticated, client: ClientDep) -> dict[str, Any]:
    """The number's business username and its status."""
    return dict((await _run(client.get_username())).model_dump())


@router.post("/username", response_model=UsernameOut, summary="Reserve a business username")
async def set_username(_: Authenticated, client: ClientDep, body: UsernameIn) -> dict[str, Any]:
    """Reserve (or change) the username; a name breaking Meta's format is a 422 naming ``username``."""
    return dict((await _run(client.set_username(body.username, transfer_action=body.transfer_action))).model_dump())


@router.delete("/username", response_model=Done, summary="Release the business username")
async def delete_username(_: Authenticated, client: ClientDep) -> dict[str, Any]:
    """Release the number's username."""
    return {"success": await _run(client.delete_username())}


@router.get("/display_name", response_model=DisplayNameOut, summary="The display name and a pending change")
async def get_display_name(_: Authenticated, client: ClientDep) -> dict[str, Any]:
    """The display name, its status and a requested change with its review status."""
    return dict((await _run(client.get_display_name())).model_dump())


@router.post("/display_name", response_model=Done, status_code=202, summary="Request a display name change")
async def request_display_name(_: Authenticated, client: ClientDep, body: DisplayNameIn) -> dict[str, Any]:
    """Ask Meta to review a new display name; follow it with ``GET /v1/display_name``."""
    return {"success": await _run(client.request_display_name(body.new_display_name))}


@router.get("/conversational_automation", response_model=AutomationOut, summary="Ice breakers and commands")
async def get_automation(_: Authenticated, client: ClientDep) -> dict[str, Any]:
    """The ice breakers, commands and welcome message setting."""
    return dict((await _run(client.get_conversational_automation())).model_dump())


@router.put("/conversational_automation", response_model=Done, summary="Set ice breakers and commands")
async def set_automation(_: Authenticated, client: ClientDep, body: AutomationIn) -> dict[str, Any]:
    """Set the given parts (≤ 4 ice breakers of ≤ 80 characters, ≤ 30 commands)."""
    commands = None if body.commands is None else [c.model_dump() for c in body.commands]
    return {"success": await _run(client.set_conversational_automation(
        enable_welcome_message=body.enable_welcome_message, prompts=body.prompts, commands=commands))}


@router.get("/commerce_settings", response_model=CommerceOut, summary="Commerce settings")
async def get_commerce(_: Authenticated, client: ClientDep) -> dict[str, Any]:
    """Whether the cart is enabled and the catalog visible."""
    return dict((await _run(client.get_commerce_settings())).model_dump())


@router.patch("/commerce_settings", response_model=Done, summary="Change commerce settings")
async def set_commerce(_: Authenticated, client: ClientDep, body: CommerceIn) -> dict[str, Any]:
    """Turn the cart and/or the catalog's visibility on or off."""
    return {"success": await _run(client.set_commerce_settings(is_cart_enabled=body.is_cart_enabled,
                                                               is_catalog_visible=body.is_catalog_visible))}


# --- template library and operations ------------------------------------------------------------


@templates_router.get("/library", response_model=TemplatePage, summary="Browse Meta's template library")
async def library(
    _: Authenticated,
    client: WabaClientDep,
    search: Annotated[str | None, Query(max_length=200)] = None,
    topic: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z_]+$")] = None,
    usecase: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z_]+$")] = None,
    industry: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z_]+$")] = None,
    language: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z_]+$")] = None,
    limit_: Annotated[int, Query(alias="limit", ge=1, le=500)] = 100,
    after: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    """One page of library templates (Meta's filters)."""
    page = await _run(client.list_library_templates(search=search, topic=topic, usecase=usecase, industry=industry,
                                                    language=language, limit=limit_, after=after))
    return {"data": page.data, "after": page.after}


@templates_router.post("/library", response_model=CreatedOut, status_code=201, summary="Create from the library")
async def create_from_library(_: Authenticated, client: WabaClientDep, body: LibraryCreateIn) -> dict[str, Any]:
    """Create a template from a library template; URL and phone buttons take ``library_template_button_inputs``."""
    created = await _run(client.create_from_library(
        body.name, body.library_template_name, category=body.category, language=body.language,
        button_inputs=body.library_template_button_inputs,
    ))
    return dict(created.model_dump())


@templates_router.post("/{template_id}/archive", response_model=Done, summary="Archive a template")
async def archive(_: Authenticated, client: WabaClientDep, template_id: _ID) -> dict[str, Any]:
    """Archive a template (it stops being sendable)."""
    return {"success": await _run(client.archive_template(template_id))}


@templates_router.post("/{template_id}/unarchive", response_model=Done, summary="Unarchive a template")
async def unarchive(_: Authenticated, client: WabaClientDep, template_id: _ID) -> dict[str, Any]:
    """Bring an archived template back."""
    return {"success": await _run(client.unarchive_template(template_id))}


@templates_router.post("/{template_id}/unpause", response_model=Done, summary="Unpause a template")
async def unpause(_: Authenticated, client: WabaClientDep, template_id: _ID) -> dict[str, Any]:
    """Unpause a template Meta paused for low quality."""
    return {"success": await _run(client.unpause_template(template_id))}


@templates_router.get("/{template_id}/compare", response_model=CompareOut, summary="Compare two templates")
async def compare(
    _: Authenticated,
    client: WabaClientDep,
    template_id: _ID,
    other: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[0-9]+$", description="the other template id")],
    start: Annotated[int, Query(ge=0, le=32503680000)],
    end: Annotated[int, Query(ge=0, le=32503680000)],
) -> dict[str, Any]:
    """Compare over a 7, 30, 60 or 90 day window (unix seconds; another window is a 422 naming ``start``)."""
    return dict((await _run(client.compare_templates(template_id, other, start=start, end=end))).model_dump())


@templates_router.post("/migrate", response_model=MigrateOut, summary="Copy templates from another WABA")
async def migrate(_: Authenticated, client: WabaClientDep, body: MigrateIn) -> dict[str, Any]:
    """Copy the templates of ``source_waba_id`` into the gateway's WABA (``page_number`` pages a large one)."""
    return dict((await _run(client.migrate_templates(body.source_waba_id, page_number=body.page_number))).model_dump())
