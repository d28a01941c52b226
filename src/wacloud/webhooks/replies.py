"""What an update's reply shortcuts send through (``msg.reply_text``, ``msg.reply``, ``msg.react``).

A :class:`~wacloud.Client` or :class:`~wacloud.AsyncClient` is one (direct sends); the bot
framework's :class:`~wacloud.bot.OutboxReplies` is another (durable, paced, retried sends through the
delivery engine's outbox). Read receipts and the typing indicator always go through the client.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ReplySender(Protocol):
    """Sends replies; the method shapes are the client's, so a client is a direct ``ReplySender``."""

    def send_text(self, to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None,
                  phone_number_id: str | None = None) -> Any:
        """Send a text to ``to`` (quoting ``reply_to``)."""
        ...

    def send(self, to: str, message: Any, *, reply_to: str | None = None, phone_number_id: str | None = None) -> Any:
        """Send any outgoing message model to ``to``."""
        ...

    def react(self, to: str, message_id: str, emoji: str, *, phone_number_id: str | None = None) -> Any:
        """React to ``message_id`` with ``emoji``."""
        ...
