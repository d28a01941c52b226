"""What the Graph route modules share: the endpoint wrapper (JSON answers, Meta-shaped errors,
the WABA's management call budget), :class:`NodeRoute` for ``/{node-id}`` paths, and body/field helpers.

Endpoints are module-level functions that read the sandbox state from ``request.app.state.sandbox``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from wacloud import limits
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._state import ManagementRateLimited, ManagementState, SandboxState, management_state

Handler = Callable[[Request], Awaitable[Response]]


def sandbox_of(request: Request) -> SandboxState:
    """The sandbox state of the app serving ``request`` (``app.state.sandbox``, set by ``_app``)."""
    state: SandboxState = request.app.state.sandbox
    return state


def answer(
    handler: Callable[[Request, ManagementState], Awaitable[Any]],
    *,
    waba_level: bool = False,
) -> Handler:
    """Wrap a handler: JSON answers, Meta-shaped errors, and the management budget for WABA-level paths."""

    async def endpoint(request: Request) -> Response:
        state = sandbox_of(request)
        mgmt = management_state(state)
        headers: dict[str, str] = {}
        try:
            if waba_level:
                headers = mgmt.charge(state, require_waba(state, request))
            result = await handler(request, mgmt)
        except ManagementRateLimited as exc:
            return JSONResponse(exc.body(state.ids.fbtrace_id()), status_code=exc.http_status, headers=exc.headers)
        except GraphError as exc:
            return JSONResponse(exc.body(state.ids.fbtrace_id()), status_code=exc.http_status, headers=headers)
        if isinstance(result, Response):
            result.headers.update(headers)
            return result
        return JSONResponse(result, headers=headers)

    return endpoint


def param(details: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, details, subcode=subcode, message=f"(#100) {details}")


def no_object(node: str, method: str) -> GraphError:
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{node}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation.",
        subcode=33,
    )


def require_phone(state: SandboxState, request: Request) -> str:
    pid = str(request.path_params.get("phone_id") or request.path_params.get("node_id"))
    if pid not in management_state(state).phones:
        raise no_object(pid, request.method)
    return pid


def require_waba(state: SandboxState, request: Request) -> str:
    waba = str(request.path_params["waba_id"])
    if waba not in state.config.wabas:  # numbers may sit in several WABAs
        raise no_object(waba, request.method)
    return waba


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(raw.decode(errors="replace")).items()}
    try:
        body = json.loads(raw)
    except ValueError:
        raise param("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise param("The request body must be a JSON object.")
    return body


async def form_or_json(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Fields and files of a multipart/urlencoded form, or the fields of a JSON body."""
    if request.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        fields: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields[key] = value
            else:
                files[key] = await value.read()
        return fields, files
    return await json_body(request), {}


def fields(request: Request) -> list[str] | None:
    raw = request.query_params.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def text(body: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise param(f"The parameter {key} is required.")
        return None
    if not isinstance(value, str):
        raise param(f"Param {key} must be a string.")
    return value


def length(key: str, limit_key: str, value: str) -> None:
    lim = limits.limit(limit_key)
    if not lim.min <= len(value) <= lim.max:
        raise param(f"Param {key} must be {lim.min} to {lim.max} characters long (got {len(value)}).")


def wa_id(user: str) -> str:
    return "".join(ch for ch in user if ch.isdigit())


class NodeRoute(Route):
    """A ``/{node_id}…`` route that matches only the ids ``owns(state, node_id)`` accepts, so each family
    answers its own ids and leaves the rest to the next route."""

    def __init__(
        self,
        path: str,
        endpoint: Handler,
        *,
        methods: list[str],
        owns: Callable[[SandboxState, str], bool],
        param: str = "node_id",
    ) -> None:
        super().__init__(path, endpoint, methods=methods)
        self._owns = owns
        self._param = param

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Like Route.matches, but NONE for ids that belong to other parts of the sandbox."""
        match, child = super().matches(scope)
        if match is not Match.NONE:
            node = str(child.get("path_params", {}).get(self._param, ""))
            # The app serving this request holds the state (``app.state.sandbox``).
            if not self._owns(scope["app"].state.sandbox, node):
                return Match.NONE, {}
        return match, child


def graph_error(state: SandboxState, err: GraphError) -> JSONResponse:
    """A JSON error answer in Meta's shape."""
    return JSONResponse(err.body(state.ids.fbtrace_id()), status_code=err.http_status)


async def read_json(request: Request) -> Any:
    """The JSON body of ``request`` (``{}`` when empty); 100 when it is not JSON."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile deep nesting
        raise param("The request body is not valid JSON.") from None
