"""Gateway HTTP API for coexistence (a number also used in the WhatsApp Business app): the number's
pacing and the app's contact book as ``smb_app_state_sync`` reported it. Every route needs an API key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from wacloud.gateway._api import gateway
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._calls import call_engine
from wacloud.gateway._coexistence import AppContacts
from wacloud.gateway._numbers_api import NumberQuery, lane_for

router = APIRouter(prefix="/v1/coexistence", responses=ERROR_RESPONSES, tags=["coexistence"])


class PacingOut(BaseModel):
    """The outbox's rate, and whether it is the coexistence rate."""

    phone_number_id: str
    mps: float
    coexistence: bool


class AppContact(BaseModel):
    """A contact of the Business app."""

    phone_number: str
    full_name: str | None = None
    first_name: str | None = None
    removed: bool
    ts: float


class AppContactList(BaseModel):
    """The app's contacts, most recently changed first."""

    contacts: list[AppContact]


@router.get("", response_model=PacingOut, summary="The number's pacing (at most 20 msg/s on a coexistence number)")
async def pacing(request: Request, key: Authenticated, number: NumberQuery = None) -> dict[str, Any]:
    """The outbox's messages per second for the number (``?number=``), and whether the coexistence cap applies."""
    gw = gateway(request)
    outbox = lane_for(gw, key, number).outbox if len(gw.numbers) else gw.outbox
    if outbox is None:
        raise ApiError(503, "the outbox is not available in this process")
    # Set at start by the lifespan, for the first number (the one coexistence is read for).
    shared = getattr(request.app.state, "coexistence", False) is True and outbox is gw.outbox
    return {"phone_number_id": outbox.phone_number_id, "mps": float(outbox.pacing.mps), "coexistence": shared}


@router.get("/contacts", response_model=AppContactList, summary="The Business app's contacts")
async def contacts(
    request: Request, _: Authenticated, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """Contacts added to (or removed from) the Business app, with their names."""
    book = AppContacts(gateway(request).db)
    return {"contacts": await call_engine(book.list, limit=limit)}
