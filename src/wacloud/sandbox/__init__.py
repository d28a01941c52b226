"""wacloud.sandbox: a local emulator of the WhatsApp Cloud API (Graph API paths, signed webhooks, faults).

``create_sandbox_app(config)`` gives the ASGI app; ``serve()`` runs it in the foreground;
``wacloud.sandbox.testing.run_sandbox()`` runs it in a thread for tests (``testing`` is the pytest plugin).
See docs/sandbox.md. Everything else of the package is private (``_name`` modules); what a host needs is
exported here, once, in ``__all__``.
"""

from __future__ import annotations

from typing import Any

from wacloud._deprecation import renamed
from wacloud.sandbox._app import SandboxApp, create_sandbox_app, is_control
from wacloud.sandbox._config import Faults, SandboxConfig, build_config
from wacloud.sandbox._persist import SnapshotError, Snapshotter, restore, snapshot
from wacloud.sandbox._runner import ServerThread, free_port


def serve(host: str = "127.0.0.1", port: int = 8089, **config: Any) -> None:
    """Run the sandbox in the foreground, printing the base URL, token and ids to use."""
    from wacloud.sandbox._runner import serve as _serve

    _serve(host, port, **config)


#: Old names kept for one release: the gateway's ``create_app`` is the one app factory under that name.
_RENAMED = {"create_app": "create_sandbox_app"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals().__getitem__)


__all__ = [
    "Faults",
    "SandboxApp",
    "SandboxConfig",
    "ServerThread",
    "SnapshotError",
    "Snapshotter",
    "build_config",
    "create_sandbox_app",
    "free_port",
    "is_control",
    "restore",
    "serve",
    "snapshot",
]
