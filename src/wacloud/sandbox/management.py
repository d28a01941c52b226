"""Sandbox routes for the management endpoints (profile, phone numbers, block users, QR codes, flows).

Owned by the management work; the sandbox app includes ``routes(state)``.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute


def routes(state: Any) -> list[BaseRoute]:
    """The management routes bound to the sandbox ``state`` (none yet)."""
    return []
