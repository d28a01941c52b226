"""Message templates: ``GET``/``POST``/``DELETE /{waba-id}/message_templates`` and ``/{template-id}``."""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from wacloud.sandbox._errors import GraphError, param
from wacloud.sandbox._http import graph_error, no_object, read_json, sandbox_of
from wacloud.sandbox._model import Template
from wacloud.sandbox._payloads import template_status_value
from wacloud.sandbox._state import ManagementRateLimited, management_state
from wacloud.sandbox._template_ops import create_from_library
from wacloud.sandbox._templates import edit_template, make_template, schedule_review, set_status

_SUCCESS = {"success": True}


async def templates(request: Request) -> Response:
    """``GET/POST/DELETE /{waba-id}/message_templates``."""
    state = sandbox_of(request)
    usage: dict[str, str] = {}
    try:
        waba = request.path_params["waba_id"]
        if waba not in state.config.wabas:
            raise no_object(waba, request.method)
        # Template management counts against the WABA's management budget like the other WABA calls.
        usage = management_state(state).charge(state, waba)
        if request.method == "GET":
            response = _list_templates(request)
        elif request.method == "POST":
            data = await read_json(request)
            if isinstance(data, dict) and "library_template_name" in data:
                tpl = create_from_library(state, data)  # pre-approved; category fixed by the library
            else:
                tpl = make_template(state, data, strict=True)
            schedule_review(state, tpl)
            if tpl.status == "APPROVED":
                set_status(state, tpl, "APPROVED")
            response = JSONResponse({"id": tpl.id, "status": tpl.status, "category": tpl.category})
        else:
            response = _delete_templates(request)
    except ManagementRateLimited as err:
        response = graph_error(state, err)
        usage = err.headers
    except GraphError as err:
        response = graph_error(state, err)
    response.headers.update(usage)
    return response


def _list_templates(request: Request) -> Response:
    state = sandbox_of(request)
    q = request.query_params
    items = list(state.templates.values())
    if q.get("name"):
        items = [t for t in items if t.name == q["name"]]
    for key, attr in (("status", "status"), ("category", "category"), ("language", "language")):
        if q.get(key):
            wanted = {v.strip().upper() if key != "language" else v.strip() for v in q[key].split(",")}
            items = [t for t in items if getattr(t, attr) in wanted]
    try:
        limit = max(1, min(1000, int(q.get("limit", "25"))))
        start = int(base64.b64decode(q["after"]).decode()) if q.get("after") else 0
    except (ValueError, UnicodeDecodeError):
        raise param("Param limit/after is not valid.") from None
    page = items[start : start + limit]
    fields = [f.strip() for f in q["fields"].split(",")] if q.get("fields") else None
    data = []
    for tpl in page:
        obj = tpl.to_graph()
        if fields:
            obj = {k: v for k, v in obj.items() if k in fields or k == "id"}
        data.append(obj)
    body: dict[str, Any] = {
        "data": data,
        "paging": {
            "cursors": {
                "before": base64.b64encode(str(start).encode()).decode(),
                "after": base64.b64encode(str(start + len(page)).encode()).decode(),
            }
        },
    }
    if start + len(page) < len(items):
        after = body["paging"]["cursors"]["after"]
        body["paging"]["next"] = f"{str(request.base_url).rstrip('/')}{request.url.path}?limit={limit}&after={after}"
    return JSONResponse(body)


def _delete_templates(request: Request) -> Response:
    state = sandbox_of(request)
    q = request.query_params
    if q.get("hsm_ids"):
        try:
            ids = [str(i) for i in json.loads(q["hsm_ids"])]
        except (ValueError, TypeError):
            raise param("Param hsm_ids must be a JSON array of template ids.") from None
        if len(ids) > 100:
            raise param("Param hsm_ids must have at most 100 ids.")
        unknown = [i for i in ids if i not in state.templates]
        if unknown:
            raise param(f"Param hsm_ids contains unknown template ids: {unknown}.")
        victims = [state.templates[i] for i in ids]
    else:
        name = q.get("name")
        if not name:
            raise param("The parameter name is required.")
        victims = [t for t in state.templates.values() if t.name == name]
        if q.get("hsm_id"):
            victims = [t for t in victims if t.id == q["hsm_id"]]
        if not victims:
            raise GraphError(100, f"Message template {name!r} not found.")
    for tpl in victims:
        if tpl.status == "DISABLED":
            raise param(f"Disabled template {tpl.name} can't be deleted.")
    for tpl in victims:
        del state.templates[tpl.id]
        state.dispatcher.emit(tpl.id, "message_template_status_update", _deleted_value(tpl), with_time=True)
    return JSONResponse(_SUCCESS)


def _deleted_value(tpl: Any) -> dict[str, Any]:
    return template_status_value(tpl, "DELETED", None)


async def object_answer(request: Request, tpl: Template) -> Response:
    """``GET``/``POST /{template-id}`` (the ``/{object-id}`` route hands template ids here)."""
    state = sandbox_of(request)
    usage: dict[str, str] = {}
    response: Response
    try:
        # Template management counts against the WABA's management budget like the other WABA calls.
        usage = management_state(state).charge(state, state.config.waba_id)
        if request.method == "GET":
            response = JSONResponse(tpl.to_graph())
        elif request.method == "POST":
            edit_template(tpl, await read_json(request), strict=True)
            # An edited template goes through review again.
            tpl.status = "PENDING"
            schedule_review(state, tpl)
            response = JSONResponse(_SUCCESS)
        else:
            raise no_object(tpl.id, request.method)
    except ManagementRateLimited as err:
        response = graph_error(state, err)
        usage = err.headers
    except GraphError as err:
        response = graph_error(state, err)
    response.headers.update(usage)
    return response


ROUTES: list[BaseRoute] = [
    Route("/{waba_id}/message_templates", templates, methods=["GET", "POST", "DELETE"]),
]
