"""Message templates: list, get, create, edit, delete."""

from __future__ import annotations

from wacloud.client.core import ApiConfig


class TemplatesApi(ApiConfig):
    """Message templates: list, get, create, edit, delete."""
