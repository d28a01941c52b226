"""What the control route modules share: the endpoint wrapper (a bad request answers 400/404 with a
reason), body and query helpers, and the customer lookup."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wacloud.sandbox._errors import ControlError, GraphError
from wacloud.sandbox._state import SandboxState

P = "/_sandbox"


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile deep nesting
        raise ControlError("the body is not valid JSON") from None


def _obj(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        raise ControlError(f"query parameter {name} must be an integer") from None


def _threshold(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ControlError("the pacing threshold must be a whole number of sends (0 or more) or null")
    return value if value is None else int(value)


def customer(state: SandboxState, wa_id: str) -> Any:
    """The customer ``wa_id`` (their phone number, or a BSUID) or a 404."""
    found = state.customers.get(wa_id) or state.customer_by_user_id(wa_id)
    if found is None:
        raise ControlError(f"no customer {wa_id}", 404)
    return found


def control_endpoint(fn: Callable[[Request], Awaitable[Any]]) -> Callable[[Request], Awaitable[Response]]:
    """Wrap an endpoint: control errors become 400/404 with a reason."""

    async def endpoint(request: Request) -> Response:
        """The wrapped endpoint."""
        try:
            result = await fn(request)
        except ControlError as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        except GraphError as exc:
            return JSONResponse({"error": exc.details, "code": exc.code}, status_code=400)
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint
