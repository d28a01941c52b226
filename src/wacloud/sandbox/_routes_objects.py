"""``/{object-id}``: media ids and template ids are answered here; any other id (phone numbers, flows,
upload sessions) is not matched, so it falls through to the management routes (the router's default)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

import wacloud.sandbox._routes_media as _routes_media
import wacloud.sandbox._routes_template_ops as _routes_template_ops
import wacloud.sandbox._routes_templates as _routes_templates
from wacloud.sandbox._http import NodeRoute, sandbox_of
from wacloud.sandbox._state import SandboxState


def owns_object(state: SandboxState, object_id: str) -> bool:
    """Media and template ids are this route's; the management routes own the others."""
    return object_id in state.media or object_id in state.templates


async def object_endpoint(request: Request) -> Response:
    """Answer a media id or a template id."""
    state = sandbox_of(request)
    object_id = request.path_params["object_id"]
    media = state.media.get(object_id)
    if media is not None:
        return await _routes_media.object_answer(request, media)
    return await _routes_templates.object_answer(request, state.templates[object_id])


ROUTES: list[BaseRoute] = [
    *_routes_media.ROUTES,
    *_routes_templates.ROUTES,
    *_routes_template_ops.ROUTES,
    NodeRoute("/{object_id}", object_endpoint, methods=["GET", "POST", "DELETE"], owns=owns_object, param="object_id"),
]
