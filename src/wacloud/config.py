"""Deprecated: the gateway's settings live in :mod:`wacloud.gateway` (``Settings``, ``load_settings``…).

This module stays for one release; importing it warns, and its names are the gateway's.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

warnings.warn(
    "wacloud.config moved into wacloud.gateway; import Settings, load_settings, ConfigError and GRAPH_URL "
    "from wacloud.gateway (the old module will be removed in the next release)",
    DeprecationWarning,
    stacklevel=2,
)

if TYPE_CHECKING:
    from wacloud.gateway import GRAPH_URL, ConfigError, Settings, load_settings

_NAMES = frozenset({"GRAPH_URL", "ConfigError", "Settings", "load_settings"})


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        import wacloud.gateway as gateway

        return getattr(gateway, name)
    raise AttributeError(f"module 'wacloud.config' has no attribute {name!r}")


__all__ = ["GRAPH_URL", "ConfigError", "Settings", "load_settings"]
