"""WhatsApp Flows management: create, update JSON, publish, deprecate, delete, assets, metrics."""

from __future__ import annotations

from wacloud.client.core import ApiConfig


class FlowsApi(ApiConfig):
    """WhatsApp Flows management: create, update JSON, publish, deprecate, delete, assets, metrics."""
