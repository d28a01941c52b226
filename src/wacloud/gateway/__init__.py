"""The gateway: one FastAPI app with the HTTP API, the webhook endpoint, delivery workers and metrics.

``create_app(settings)`` builds it; ``wacloud serve`` runs it with uvicorn. ``load_settings()`` reads its
settings (environment, ``wacloud.toml``). Every other module of the package is private (``_name``); what the
CLI and hosts need is exported here, once, in ``__all__``. Names are imported on first use, so the CLI's
start-up does not pay for FastAPI.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "create_app": "wacloud.gateway._app",
    "Gateway": "wacloud.gateway._runtime",
    "GRAPH_URL": "wacloud.gateway._settings",
    "ConfigError": "wacloud.gateway._settings",
    "Settings": "wacloud.gateway._settings",
    "load_settings": "wacloud.gateway._settings",
    "Database": "wacloud.gateway._db",
    "DatabaseUnavailable": "wacloud.gateway._db",
    "sqlite_path": "wacloud.gateway._db",
    "KeyStore": "wacloud.gateway._keys",
    "SECRET_KEY_SETTING": "wacloud.gateway._secret_keys",
    "new_secret_key": "wacloud.gateway._secret_keys",
    "setup_logging": "wacloud.gateway._logs",
    "WebhookSqliteStore": "wacloud.gateway._webhook_store",
}

if TYPE_CHECKING:
    from wacloud.gateway._app import create_app
    from wacloud.gateway._db import Database, DatabaseUnavailable, sqlite_path
    from wacloud.gateway._keys import KeyStore
    from wacloud.gateway._logs import setup_logging
    from wacloud.gateway._runtime import Gateway
    from wacloud.gateway._secret_keys import SECRET_KEY_SETTING, new_secret_key
    from wacloud.gateway._settings import GRAPH_URL, ConfigError, Settings, load_settings
    from wacloud.gateway._webhook_store import WebhookSqliteStore


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wacloud.gateway' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "GRAPH_URL",
    "SECRET_KEY_SETTING",
    "ConfigError",
    "Database",
    "DatabaseUnavailable",
    "Gateway",
    "KeyStore",
    "Settings",
    "WebhookSqliteStore",
    "create_app",
    "load_settings",
    "new_secret_key",
    "setup_logging",
    "sqlite_path",
]
