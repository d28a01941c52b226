"""Routes of the template operations in ``_template_ops``: ``GET /message_template_library``,
``POST /{template-id}/archive|unarchive|unpause``, ``GET /{template-id}/compare`` and
``POST /{dest-waba-id}/migrate_message_templates`` (creating from the library goes through
``POST /{waba}/message_templates``, in ``_routes_templates``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._template_ops as _template_ops
from wacloud.sandbox._http import answer, json_body, require_waba, sandbox_of
from wacloud.sandbox._state import ManagementState

_ACTIONS = {"archive": _template_ops.archive, "unarchive": _template_ops.unarchive, "unpause": _template_ops.unpause}


async def library(request: Request, mgmt: ManagementState) -> Any:
    items = _template_ops.browse(dict(request.query_params))
    return {"data": items, "paging": {"cursors": {"before": "MAZDZD", "after": "MAZDZD"}}}


def _action(name: str) -> Any:
    async def endpoint(request: Request, mgmt: ManagementState) -> Any:
        state = sandbox_of(request)
        tpl = _template_ops.template_of(state, request.path_params["template_id"], request.method)
        _ACTIONS[name](state, tpl)
        return {"success": True}

    return endpoint


async def compare(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    tpl = _template_ops.template_of(state, request.path_params["template_id"], request.method)
    return _template_ops.compare(state, tpl, dict(request.query_params))


async def migrate(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    return _template_ops.migrate(state, require_waba(state, request), await json_body(request))


ROUTES: list[BaseRoute] = [
    Route("/message_template_library", answer(library), methods=["GET"]),
    *(Route(f"/{{template_id}}/{name}", answer(_action(name)), methods=["POST"]) for name in _ACTIONS),
    Route("/{template_id}/compare", answer(compare), methods=["GET"]),
    Route("/{waba_id}/migrate_message_templates", answer(migrate, waba_level=True), methods=["POST"]),
]
