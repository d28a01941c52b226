"""The gateway: one FastAPI app with the HTTP API, the webhook endpoint, delivery workers and metrics.

``create_app(settings)`` builds it (see :mod:`wacloud.server.app`); ``wacloud serve`` runs it with uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wacloud.server.app import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from wacloud.server.app import create_app

        return create_app
    raise AttributeError(f"module 'wacloud.server' has no attribute {name!r}")


__all__ = ["create_app"]
