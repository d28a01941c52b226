"""Strict query strings for ``/v1``: a parameter the route does not take is a 422 naming it.

Silently ignoring one is worse than refusing it: ``/v1/jobs?campaign=x`` looked like a filter and
returned every job.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from wacloud.server.auth import Authenticated


def _query_names(dependant: Any) -> set[str]:
    """Query parameter names of a dependant and of its sub-dependencies (declared, by alias)."""
    names = {str(getattr(p, "alias", None) or p.name) for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _allowed(route: Any) -> frozenset[str] | None:
    """The query parameter names ``route`` takes (None when the route is not a FastAPI one)."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    names: frozenset[str] | None = getattr(route, "_wacloud_query_names", None)
    if names is None:
        names = frozenset(_query_names(dependant))
        route._wacloud_query_names = names  # computed once per route, kept with it
    return names


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
