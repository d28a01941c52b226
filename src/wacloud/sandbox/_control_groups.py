"""The control API's groups: simulated users join by invite link, members write and leave, WhatsApp
suspends a group (``/_sandbox/groups…``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._groups as _groups
from wacloud.sandbox._control_http import P, _body, _obj, control_endpoint
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._http import sandbox_of


async def groups(request: Request) -> Any:
    """GET /_sandbox/groups: every group with its members, join requests and member messages."""
    state = sandbox_of(request)
    return {"groups": [g.to_dict() for g in state.groups.groups.values()]}


async def one_group(request: Request) -> Any:
    """GET /_sandbox/groups/{group_id}."""
    state = sandbox_of(request)
    group = state.groups.groups.get(request.path_params["group_id"])
    if group is None:
        raise ControlError(f"no group {request.path_params['group_id']}", 404)
    return group.to_dict()


async def join(request: Request) -> Any:
    """POST /_sandbox/groups/join {wa_id, invite_link}: a user opens the invite link."""
    return _groups.join_by_link(sandbox_of(request), _obj(await _body(request)))


async def member_messages(request: Request) -> Any:
    """POST /_sandbox/groups/{group_id}/messages {from, text | image | document}: a member writes."""
    return _groups.member_writes(sandbox_of(request), request.path_params["group_id"], _obj(await _body(request)))


async def leave(request: Request) -> Any:
    """POST /_sandbox/groups/{group_id}/leave {wa_id}: a member leaves."""
    return _groups.member_leaves(sandbox_of(request), request.path_params["group_id"], _obj(await _body(request)))


async def suspend(request: Request) -> Any:
    """POST /_sandbox/groups/{group_id}/suspend {suspended}: WhatsApp suspends the group or lifts it."""
    return _groups.suspend(sandbox_of(request), request.path_params["group_id"], _obj(await _body(request)))


ROUTES: list[BaseRoute] = [
    Route(f"{P}/groups", control_endpoint(groups), methods=["GET"]),
    Route(f"{P}/groups/join", control_endpoint(join), methods=["POST"]),
    Route(f"{P}/groups/{{group_id}}", control_endpoint(one_group), methods=["GET"]),
    Route(f"{P}/groups/{{group_id}}/messages", control_endpoint(member_messages), methods=["POST"]),
    Route(f"{P}/groups/{{group_id}}/leave", control_endpoint(leave), methods=["POST"]),
    Route(f"{P}/groups/{{group_id}}/suspend", control_endpoint(suspend), methods=["POST"]),
]
