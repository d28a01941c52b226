"""The control API's business identity: decide a display name change request
(``POST /_sandbox/display_name`` with ``phone_number_id`` and ``decision`` APPROVED or DECLINED)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from wacloud.sandbox._business_identity import decide_display_name
from wacloud.sandbox._control_http import P, _body, _obj, control_endpoint
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._http import sandbox_of
from wacloud.sandbox._state import management_state


async def display_name(request: Request) -> Any:
    """Meta's review of the pending display name change of a number."""
    state = sandbox_of(request)
    data = _obj(await _body(request))
    pid = str(data.get("phone_number_id") or state.config.phone_number_id)
    phone = management_state(state).phones.get(pid)
    if phone is None:
        raise ControlError(f"no business number {pid}", 404)
    decision = data.get("decision")
    if decision not in ("APPROVED", "DECLINED"):
        raise ControlError("decision must be APPROVED or DECLINED")
    try:
        decide_display_name(phone, decision)
    except ValueError as exc:
        raise ControlError(str(exc)) from None
    return {"phone_number_id": pid, "verified_name": phone.verified_name, "new_name_status": phone.new_name_status}


ROUTES: list[BaseRoute] = [Route(f"{P}/display_name", control_endpoint(display_name), methods=["POST"])]
