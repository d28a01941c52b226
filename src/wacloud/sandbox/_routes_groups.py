"""Groups API routes: ``/{phone-number-id}/groups`` and ``/{group-id}`` with its invite link, join requests
and participants. The rules live in ``_groups``; group sends go through ``POST /messages``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._groups as _groups
from wacloud.sandbox._http import NodeRoute, answer, fields, form_or_json, json_body, require_phone, sandbox_of
from wacloud.sandbox._model import Group
from wacloud.sandbox._state import ManagementState


def _group(request: Request) -> Group:
    state = sandbox_of(request)
    return _groups.find(state, str(request.path_params["group_id"]))


async def groups(request: Request, mgmt: ManagementState) -> Any:
    """POST (create) / GET (list) /{phone-number-id}/groups."""
    state = sandbox_of(request)
    pid = require_phone(state, request)
    if request.method == "POST":
        return _groups.create(state, pid, await json_body(request))
    q = request.query_params
    return _groups.list_groups(state, pid, q.get("limit"), q.get("after"))


async def group_node(request: Request, mgmt: ManagementState) -> Any:
    """GET (info) / POST (settings, photo) / DELETE /{group-id}."""
    state = sandbox_of(request)
    group = _group(request)
    if request.method == "GET":
        return _groups.info(state, group, fields(request))
    if request.method == "DELETE":
        return _groups.delete(state, group)
    body, files = await form_or_json(request)
    return _groups.update(state, group, body, files)


async def invite_link(request: Request, mgmt: ManagementState) -> Any:
    """GET / POST / DELETE /{group-id}/invite_link."""
    state = sandbox_of(request)
    group = _group(request)
    if request.method == "DELETE":
        return _groups.revoke_link(group)
    return _groups.get_link(state, group, renew=request.method == "POST")


async def join_requests(request: Request, mgmt: ManagementState) -> Any:
    """GET (list) / POST (approve) / DELETE (reject) /{group-id}/join_requests."""
    state = sandbox_of(request)
    group = _group(request)
    if request.method == "GET":
        return _groups.join_requests(group)
    return _groups.handle_requests(state, group, await json_body(request), approve=request.method == "POST")


async def participants(request: Request, mgmt: ManagementState) -> Any:
    """DELETE /{group-id}/participants."""
    state = sandbox_of(request)
    return _groups.remove(state, _group(request), await json_body(request))


ROUTES: list[BaseRoute] = [
    Route("/{phone_id}/groups", answer(groups), methods=["GET", "POST"]),
    NodeRoute("/{group_id}", answer(group_node), methods=["GET", "POST", "DELETE"], owns=_groups.owns_group,
              param="group_id"),
    Route("/{group_id}/invite_link", answer(invite_link), methods=["GET", "POST", "DELETE"]),
    Route("/{group_id}/join_requests", answer(join_requests), methods=["GET", "POST", "DELETE"]),
    Route("/{group_id}/participants", answer(participants), methods=["DELETE"]),
]
