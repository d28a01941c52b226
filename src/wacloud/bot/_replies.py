"""Bot replies through the outbox: durable, paced, window-checked and retried like any message.

:class:`OutboxReplies` is a :class:`~wacloud.webhooks.replies.ReplySender` that *enqueues* each reply
in the delivery engine's outbox, in the priority lane (ahead of campaign jobs), instead of calling the
API: the outbox's workers send it with the number's pacing, the pair rate, the 24-hour window check
and the retry policy, so a 5xx or a restart does not lose it. The shortcut returns the queued
:class:`~wacloud.delivery.Job` (its ``id``; the wamid comes later, on the job). Each reply of one
update gets an idempotency key (``bot:<update id>:<n>``), so an update the receiver retries after a
system failure does not queue its replies twice.

Read receipts and the typing indicator are not messages: they are only meaningful *now* (a read
receipt or a typing bubble sent minutes later, after a retry, would be wrong), they are not paced as
messages, and the outbox stores message bodies only; they stay direct calls on the client.

The direct mode -- replies sent by the client at once, no durability, no retries -- is
``Application(replies="direct")`` (or a bot outside the gateway without an outbox).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from functools import partial
from typing import Any

from wacloud.bot._dispatch import SystemFailure
from wacloud.delivery.model import Job
from wacloud.delivery.outbox import Outbox
from wacloud.errors import ValidationError
from wacloud.messages import Reaction, SendRequest, Text
from wacloud.webhooks.offload import off_loop

#: The outbox lane of replies: 1 is ahead of campaign jobs (0).
REPLY_PRIORITY = 1


class ReplyNotQueued(SystemFailure):
    """The outbox could not store a reply (its database is down): the update is retried."""


class OutboxReplies:
    """Replies queued in ``outbox`` (priority lane); ``on_queued(job)`` runs after each (the gateway logs it).

    Usable from sync handlers (the job is queued at once) and from async ones (``await``: queued in a
    worker thread, so the event loop never waits on the store).
    """

    def __init__(self, outbox: Outbox, *, priority: int = REPLY_PRIORITY, category: str | None = None,
                 on_queued: Callable[[Job], None] | None = None, key_prefix: str | None = None) -> None:
        self.outbox = outbox
        self.priority = priority
        self.category = category
        self.on_queued = on_queued
        self.key_prefix = key_prefix
        self._n = itertools.count()

    def for_update(self, update_id: str) -> OutboxReplies:
        """The replies of one update: each gets the idempotency key ``bot:<update id>:<n>``."""
        return OutboxReplies(self.outbox, priority=self.priority, category=self.category,
                             on_queued=self.on_queued, key_prefix=f"bot:{update_id}")

    def __repr__(self) -> str:
        return f"OutboxReplies(phone_number_id={self.outbox.phone_number_id!r}, priority={self.priority})"

    def send_text(self, to: str, body: str, *, preview_url: bool = False, reply_to: str | None = None,
                  phone_number_id: str | None = None) -> Any:
        """Queue a text reply."""
        message = Text(body, preview_url=True) if preview_url else Text(body)
        return self._queue(to, message, reply_to, phone_number_id)

    def send(self, to: str, message: Any, *, reply_to: str | None = None, phone_number_id: str | None = None) -> Any:
        """Queue any outgoing message model."""
        return self._queue(to, message, reply_to, phone_number_id)

    def react(self, to: str, message_id: str, emoji: str, *, phone_number_id: str | None = None) -> Any:
        """Queue a reaction to ``message_id``."""
        if not emoji:
            raise ValidationError("reaction.emoji", "is empty")
        return self._queue(to, Reaction(message_id=message_id, emoji=emoji), None, phone_number_id)

    def _queue(self, to: str, message: Any, reply_to: str | None, phone_number_id: str | None) -> Any:
        if phone_number_id is not None and phone_number_id != self.outbox.phone_number_id:
            raise ValidationError("phone_number_id", f"this bot's outbox sends from {self.outbox.phone_number_id}, "
                                                     f"not {phone_number_id}")
        request = SendRequest(to, message, context_message_id=reply_to)
        key = f"{self.key_prefix}:{next(self._n)}" if self.key_prefix is not None else None
        work = partial(self._put, to, request, key)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return work()  # a sync handler (in a worker thread or a sync server): queued now
        return off_loop(work)  # on the event loop: awaited, the store call runs in a worker thread

    def _put(self, to: str, request: SendRequest, key: str | None) -> Job:
        try:
            job_id = self.outbox.enqueue(to, request, key=key, category=self.category, priority=self.priority)
            job = self.outbox.job(job_id)
        except ValidationError:
            raise  # a bad reply is the handler's bug
        except Exception as exc:
            raise ReplyNotQueued(f"the outbox could not store the reply: {type(exc).__name__}: {exc}") from exc
        if job is None:  # pragma: no cover - it was just stored
            raise ReplyNotQueued(f"reply job {job_id} vanished from the outbox")
        if self.on_queued is not None:
            self.on_queued(job)
        return job
