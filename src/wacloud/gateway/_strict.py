"""Strict query strings for ``/v1``: a parameter the route does not take is a 422 naming it.

Silently ignoring one is worse than refusing it: ``/v1/jobs?campaign=x`` looked like a filter and
returned every job (it is a real filter now; ``?campaign_id=x`` is refused).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from wacloud.gateway._auth import Authenticated

#: The query parameter names of each route, computed once per route (by id: routes are not hashable;
#: the route is kept beside its names so its id cannot be reused by another).
_NAMES: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    """Query parameter names of a dependant and of its sub-dependencies (declared, by alias)."""
    names = {str(p.alias or p.name) for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _allowed(route: object) -> frozenset[str] | None:
    """The query parameter names ``route`` takes (None when the route is not a FastAPI one)."""
    if not isinstance(route, APIRoute):
        return None
    known = _NAMES.get(id(route))
    if known is None:
        known = _NAMES[id(route)] = (route, frozenset(_query_names(route.dependant)))
    return known[1]


def known_query_only(request: Request, _: Authenticated) -> None:
    """Refuse query parameters the route does not declare (after authentication, so 401 comes first)."""
    allowed = _allowed(request.scope.get("route"))
    if allowed is None:
        return
    unknown = [name for name in request.query_params if name not in allowed]
    if unknown:
        hint = f"; this route takes {', '.join(sorted(allowed))}" if allowed else "; this route takes none"
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": f"unknown query parameter{hint}",
                    "input": request.query_params[name],
                }
                for name in unknown
            ]
        )
