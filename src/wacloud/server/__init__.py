"""Deprecated: the gateway package is :mod:`wacloud.gateway`. This name stays for one release.

Importing it warns; ``wacloud.server.create_app`` is :func:`wacloud.gateway.create_app`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

warnings.warn(
    "wacloud.server is renamed wacloud.gateway; import create_app from wacloud.gateway "
    "(the old name will be removed in the next release)",
    DeprecationWarning,
    stacklevel=2,
)

if TYPE_CHECKING:
    from wacloud.gateway import create_app


def __getattr__(name: str) -> Any:
    if name == "create_app":
        import wacloud.gateway as gateway

        return gateway.create_app
    raise AttributeError(f"module 'wacloud.server' has no attribute {name!r}")


__all__ = ["create_app"]
