"""wacloud.sandbox: a local emulator of the WhatsApp Cloud API (Graph API paths, signed webhooks, faults).

``create_app(config)`` gives the ASGI app; ``serve()`` runs it in the foreground;
``wacloud.sandbox.testing.run_sandbox()`` runs it in a thread for tests. See docs/sandbox.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wacloud.sandbox.config import Faults, SandboxConfig

if TYPE_CHECKING:
    from wacloud.sandbox.app import SandboxApp


def create_app(config: SandboxConfig | None = None, **overrides: Any) -> SandboxApp:
    """The sandbox ASGI app (see :class:`SandboxConfig` for the settings)."""
    from wacloud.sandbox.app import create_app as _create

    return _create(config, **overrides)


def serve(host: str = "127.0.0.1", port: int = 8089, **config: Any) -> None:
    """Run the sandbox in the foreground, printing the base URL, token and ids to use."""
    from wacloud.sandbox.runner import serve as _serve

    _serve(host, port, **config)


__all__ = ["Faults", "SandboxConfig", "create_app", "serve"]
