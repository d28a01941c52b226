"""The control API's calls: a simulated customer calls the business, answers or declines a business call,
hangs up, and answers a call permission request (``/_sandbox/calls…``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._calls as _calls
from wacloud.sandbox._control_http import P, _body, _obj, control_endpoint
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._http import sandbox_of


async def calls(request: Request) -> Any:
    """GET (every call) / POST (the customer ``from`` calls the business number ``to``) /_sandbox/calls."""
    state = sandbox_of(request)
    if request.method == "POST":
        return _calls.user_calls(state, _obj(await _body(request))).to_dict()
    return {"calls": [c.to_dict() for c in state.calling.calls.values()]}


async def one_call(request: Request) -> Any:
    """GET /_sandbox/calls/{call_id}: the call's state."""
    state = sandbox_of(request)
    call = state.calling.calls.get(request.path_params["call_id"])
    if call is None:
        raise ControlError(f"no call {request.path_params['call_id']}", 404)
    return call.to_dict()


async def call_action(request: Request) -> Any:
    """POST /_sandbox/calls/{call_id}/{action}: the customer accepts, rejects or terminates."""
    state = sandbox_of(request)
    data = {**_obj(await _body(request)), "action": request.path_params["action"]}
    return _calls.user_acts(state, request.path_params["call_id"], data).to_dict()


async def permission_reply(request: Request) -> Any:
    """POST /_sandbox/call_permissions: the customer answers the business's call permission request."""
    state = sandbox_of(request)
    return _calls.answer_permission_request(state, _obj(await _body(request)))


ROUTES: list[BaseRoute] = [
    Route(f"{P}/calls", control_endpoint(calls), methods=["GET", "POST"]),
    Route(f"{P}/calls/{{call_id}}", control_endpoint(one_call), methods=["GET"]),
    Route(f"{P}/calls/{{call_id}}/{{action}}", control_endpoint(call_action), methods=["POST"]),
    Route(f"{P}/call_permissions", control_endpoint(permission_reply), methods=["POST"]),
]
