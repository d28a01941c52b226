"""The control API's coexistence: share a number with the Business app and make the webhooks such a
number gets (``/_sandbox/coexistence/…``); see :mod:`wacloud.sandbox._coexistence`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._coexistence as _coexistence
from wacloud.sandbox._control_http import P, _body, _obj, control_endpoint
from wacloud.sandbox._http import sandbox_of


async def number(request: Request) -> Any:
    """POST /_sandbox/coexistence/number {phone_number_id?, on_biz_app}."""
    return _coexistence.flag_number(sandbox_of(request), _obj(await _body(request)))


async def history(request: Request) -> Any:
    """POST /_sandbox/coexistence/history {wa_id, messages[], …} or {declined: true}."""
    return _coexistence.history(sandbox_of(request), _obj(await _body(request)))


async def echo(request: Request) -> Any:
    """POST /_sandbox/coexistence/echo {to, text}."""
    return _coexistence.echo(sandbox_of(request), _obj(await _body(request)))


async def contacts(request: Request) -> Any:
    """POST /_sandbox/coexistence/contacts {phone_number, full_name?, first_name?, action?}."""
    return _coexistence.contacts(sandbox_of(request), _obj(await _body(request)))


async def edit(request: Request) -> Any:
    """POST /_sandbox/coexistence/edit {from, original_message_id, text}."""
    return _coexistence.change(sandbox_of(request), _obj(await _body(request)), "edit")


async def revoke(request: Request) -> Any:
    """POST /_sandbox/coexistence/revoke {from, original_message_id}."""
    return _coexistence.change(sandbox_of(request), _obj(await _body(request)), "revoke")


ROUTES: list[BaseRoute] = [
    Route(f"{P}/coexistence/{name}", control_endpoint(fn), methods=["POST"])
    for name, fn in (("number", number), ("history", history), ("echo", echo), ("contacts", contacts),
                     ("edit", edit), ("revoke", revoke))
]
