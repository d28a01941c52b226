"""wacloud: a toolkit and gateway for the WhatsApp Business Cloud API.

The names below are imported on first use, so ``import wacloud`` stays cheap and a part that is not
used (the sandbox, the delivery engine) costs nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Client": "wacloud.client",
    "AsyncClient": "wacloud.client",
    "ValidationError": "wacloud.errors",
    "WhatsAppError": "wacloud.errors",
    "WacloudError": "wacloud.errors",
    "TransportError": "wacloud.errors",
    "RateLimited": "wacloud.errors",
    "PairRateLimited": "wacloud.errors",
    "WindowClosed": "wacloud.errors",
    "RecipientOptedOut": "wacloud.errors",
    "RecipientUnavailable": "wacloud.errors",
    "AuthError": "wacloud.errors",
    "InvalidRequest": "wacloud.errors",
    "TemplateError": "wacloud.errors",
    "ServerError": "wacloud.errors",
}

if TYPE_CHECKING:
    from wacloud.client import AsyncClient, Client
    from wacloud.errors import (
        AuthError,
        InvalidRequest,
        PairRateLimited,
        RateLimited,
        RecipientOptedOut,
        RecipientUnavailable,
        ServerError,
        TemplateError,
        TransportError,
        ValidationError,
        WacloudError,
        WhatsAppError,
        WindowClosed,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wacloud' has no attribute {name!r}")
    return getattr(import_module(module), name)


__all__ = [
    "AsyncClient",
    "AuthError",
    "Client",
    "InvalidRequest",
    "PairRateLimited",
    "RateLimited",
    "RecipientOptedOut",
    "RecipientUnavailable",
    "ServerError",
    "TemplateError",
    "TransportError",
    "ValidationError",
    "WacloudError",
    "WhatsAppError",
    "WindowClosed",
]
