"""A bot's replies, queued in the outbox of the number the customer wrote to.

The bot framework's :class:`~wacloud.bot.OutboxReplies` serves one outbox; a bound update passes its
``metadata.phone_number_id`` with every reply, so :class:`RoutedReplies` hands each reply to that number's
own :class:`OutboxReplies` (its pacing, window and pause state). A reply with no number goes from the
default (first) number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wacloud.bot import OutboxReplies
from wacloud.delivery import Job, Outbox
from wacloud.errors import ValidationError
from wacloud.gateway._numbers import Numbers


class RoutedReplies(OutboxReplies):
    """Replies through the outbox of the number each update arrived on."""

    def __init__(self, default: Outbox, numbers: Numbers, *, on_queued: Callable[[Job], None] | None = None,
                 key_prefix: str | None = None) -> None:
        super().__init__(default, on_queued=on_queued, key_prefix=key_prefix)
        self.numbers = numbers
        self._plain: dict[str, OutboxReplies] = {}

    def for_update(self, update_id: str) -> RoutedReplies:
        """The replies of one update: each gets the idempotency key ``bot:<update id>:<n>``."""
        return RoutedReplies(self.outbox, self.numbers, on_queued=self.on_queued, key_prefix=f"bot:{update_id}")

    def _lane(self, phone_number_id: str | None) -> OutboxReplies:
        """The plain replies of ``phone_number_id``'s outbox (the default number's when None), one per number
        for this update, so its reply counter (and so each reply's idempotency key) runs on."""
        if phone_number_id is None:
            outbox = self.outbox
        else:
            lane = self.numbers.get(phone_number_id)
            if lane is None:
                raise ValidationError("phone_number_id", f"this gateway does not send from {phone_number_id}")
            outbox = lane.outbox
        plain = self._plain.get(outbox.phone_number_id)
        if plain is None:
            # Another number than the default gets its id in the key: keys never meet across numbers.
            prefix = self.key_prefix
            if prefix is not None and outbox is not self.outbox:
                prefix = f"{prefix}:{outbox.phone_number_id}"
            plain = self._plain[outbox.phone_number_id] = OutboxReplies(
                outbox, priority=self.priority, category=self.category, on_queued=self.on_queued, key_prefix=prefix)
        return plain

    def send_text(self, to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None,
                  phone_number_id: str | None = None) -> Any:
        """Queue a text reply from ``phone_number_id``."""
        return self._lane(phone_number_id).send_text(to, body, preview_url=preview_url, reply_to=reply_to)

    def send(self, to: str, message: Any, *, reply_to: str | None = None, phone_number_id: str | None = None) -> Any:
        """Queue any outgoing message model from ``phone_number_id``."""
        return self._lane(phone_number_id).send(to, message, reply_to=reply_to)

    def react(self, to: str, message_id: str, emoji: str, *, phone_number_id: str | None = None) -> Any:
        """Queue a reaction from ``phone_number_id``."""
        return self._lane(phone_number_id).react(to, message_id, emoji)

    def __repr__(self) -> str:
        return f"RoutedReplies(numbers={self.numbers.ids()!r}, priority={self.priority})"


__all__ = ["RoutedReplies"]
