"""The control API's templates: loose test fixtures, status changes and _pacing."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

import wacloud.sandbox._pacing as _pacing
from wacloud.sandbox._control_http import P, _body, _obj, _threshold, control_endpoint
from wacloud.sandbox._errors import ControlError
from wacloud.sandbox._http import sandbox_of
from wacloud.sandbox._templates import STATUSES, make_template, set_status


async def templates(request: Request) -> Any:
    """GET/POST /_sandbox/templates."""
    state = sandbox_of(request)
    if request.method == "POST":
        data = _obj(await _body(request))
        status = str(data.pop("status", "APPROVED")).upper()
        if status not in STATUSES:
            raise ControlError(f"status must be one of {sorted(STATUSES)}")
        paced = data.pop("pacing", False)
        threshold = data.pop("pacing_threshold", None)
        if not isinstance(paced, bool):
            raise ControlError("pacing must be true or false")
        _threshold(threshold)
        # Upsert: replace any template with the same name and language.
        for tpl_id, tpl in list(state.templates.items()):
            if tpl.name == data.get("name") and tpl.language == data.get("language"):
                del state.templates[tpl_id]
        created = make_template(state, data, status=status)
        created.pacing.threshold = threshold
        if paced:
            created.pacing.start()
        return created.to_graph()
    return {"templates": [t.to_graph() for t in state.templates.values()]}


async def template_status(request: Request) -> Any:
    """POST /_sandbox/templates/{template_id}/status."""
    state = sandbox_of(request)
    tpl = state.templates.get(request.path_params["template_id"])
    if tpl is None:
        raise ControlError("no such template", 404)
    data = _obj(await _body(request))
    status = data.get("status")
    if not isinstance(status, str):
        raise ControlError("status is required")
    set_status(state, tpl, status, data.get("reason"))
    return tpl.to_graph()


async def template_pacing(request: Request) -> Any:
    """GET/POST /_sandbox/templates/{template_id}/pacing: pace a template, or give its quality signal."""
    state = sandbox_of(request)
    tpl = state.templates.get(request.path_params["template_id"])
    if tpl is None:
        raise ControlError("no such template", 404)
    if request.method == "GET":
        return tpl.pacing.view(state.config.template_pacing_threshold)
    data = _obj(await _body(request))
    unknown = set(data) - {"pacing", "threshold", "assessment"}
    if unknown:
        raise ControlError(f"unknown key(s) {sorted(unknown)}; use pacing, threshold, assessment")
    if "threshold" in data:
        tpl.pacing.threshold = _threshold(data["threshold"])
    if "pacing" in data:
        if not isinstance(data["pacing"], bool):
            raise ControlError("pacing must be true or false")
        if data["pacing"]:
            tpl.pacing.start()
        else:
            tpl.pacing.enabled = False
    assessment = data.get("assessment")
    if assessment == "good":
        _pacing.release(state, tpl)
    elif assessment == "bad":
        set_status(state, tpl, "PAUSED", "LOW_QUALITY")  # drops the held messages with 132015
    elif assessment is not None:
        raise ControlError('assessment must be "good" or "bad"')
    return tpl.pacing.view(state.config.template_pacing_threshold)


ROUTES: list[BaseRoute] = [
    Route(f"{P}/templates", control_endpoint(templates), methods=["GET", "POST"]),
    Route(f"{P}/templates/{{template_id}}/status", control_endpoint(template_status), methods=["POST"]),
    Route(f"{P}/templates/{{template_id}}/pacing", control_endpoint(template_pacing), methods=["GET", "POST"]),
]
