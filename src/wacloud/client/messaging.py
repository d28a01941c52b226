"""Sending messages: send, the per-type shortcuts, replies, reactions, mark-as-read, typing."""

from __future__ import annotations

from wacloud.client.core import ApiConfig


class MessagingApi(ApiConfig):
    """Sending messages: send, the per-type shortcuts, replies, reactions, mark-as-read, typing."""
