"""``GET /v1/contacts/{id}``: a customer found by any id they are known by, with all of them.

A customer may reach the business by phone number, by business-scoped user id (BSUID) or by username
only; the outbox links the ids it sees in webhooks and send answers to one contact. This route finds
the person by any of them (a phone number, a BSUID or parent BSUID, ``@username``, or the contact id)
and answers every id, the address to send to, their 24-hour window and their marketing opt-out.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from wacloud import errors
from wacloud.delivery import ContactRecord
from wacloud.gateway._api import gateway
from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._calls import call_engine
from wacloud.limits import SERVICE_WINDOW_S

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["contacts"])

#: A phone number, a BSUID (``US.1349…``, ``US.ENT.1181…``), ``@username`` or a contact id (``ct_…``).
AnyId = Annotated[str, Path(min_length=1, max_length=140, pattern=r"^[@+]?[A-Za-z0-9_.\-() ]+$")]


class ContactOut(BaseModel):
    """One customer: all their ids, where to send, their window and opt-out."""

    contact_id: str
    wa_id: str | None = Field(None, description="phone number (absent for a username-only customer)")
    bsuid: str | None = Field(None, description="business-scoped user id")
    parent_bsuid: str | None = None
    username: str | None = None
    address: str = Field(description="what to send to: the phone number, else the BSUID")
    last_inbound: float | None = Field(None, description="unix time of the customer's last message")
    window_open: bool = Field(description="inside the 24-hour customer service window now")
    marketing_opt_out: bool


def contact_dict(found: ContactRecord, now: float) -> dict[str, Any]:
    """The API's ContactOut shape of a contact record."""
    ids = found.ids
    assert ids is not None and found.contact_id is not None  # find_contact always fills them
    last = found.last_inbound
    return {
        "contact_id": found.contact_id,
        "wa_id": ids.wa_id,
        "bsuid": ids.bsuid,
        "parent_bsuid": ids.parent_bsuid,
        "username": ids.username,
        "address": ids.wa_id or ids.bsuid or ids.parent_bsuid or "",
        "last_inbound": last,
        "window_open": last is not None and now - last <= SERVICE_WINDOW_S,
        "marketing_opt_out": found.marketing_opt_out,
    }


@router.get("/contacts/{any_id}", response_model=ContactOut, summary="A customer by any of their ids")
async def get_contact(request: Request, _: Authenticated, any_id: AnyId) -> dict[str, Any]:
    """Find a customer by phone number, BSUID, parent BSUID, ``@username`` or contact id."""
    outbox = gateway(request).outbox
    if outbox is None:
        raise ApiError(503, "the outbox is not available in this process")
    try:
        found = await call_engine(outbox.contact, any_id)
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field="any_id") from None
    if found is None:
        raise ApiError(404, f"no customer known by {any_id!r}", field="any_id")
    return contact_dict(found, time.time())
