"""The bot framework, on top of :mod:`wacloud.webhooks` (as ``telegram.ext`` sits on ``telegram``).

:class:`Application` is the root :class:`Router`; routers compose with ``include_router``, take outer
and inner middleware and error handlers; handlers filter with :mod:`wacloud.bot.filters` and may ask
for the conversation's :class:`State` (kept in a :class:`StateStore`: memory, SQLite or PostgreSQL,
keyed by business number and customer). Replies go through a :class:`ReplySender`: the outbox's
priority lane (:class:`OutboxReplies`, the gateway's default) or the client directly.

Receiving (signatures, the durable inbox, leases, retries) stays in :mod:`wacloud.webhooks`.
"""

from __future__ import annotations

from wacloud.bot import filters
from wacloud.bot._application import Application
from wacloud.bot._dispatch import ContinuePropagation, StopPropagation, SystemFailure
from wacloud.bot._replies import REPLY_PRIORITY, OutboxReplies, ReplyNotQueued
from wacloud.bot._router import ANY_STATE, KINDS, ErrorHandler, Handler, Middleware, Router
from wacloud.bot._state import (
    MemoryStateStore,
    PostgresStateStore,
    SqliteStateStore,
    State,
    StateKey,
    StateRecord,
    StateStore,
    open_state_store,
    state_key,
)
from wacloud.webhooks.replies import ReplySender

__all__ = [
    "ANY_STATE",
    "KINDS",
    "REPLY_PRIORITY",
    "Application",
    "ContinuePropagation",
    "ErrorHandler",
    "Handler",
    "MemoryStateStore",
    "Middleware",
    "OutboxReplies",
    "PostgresStateStore",
    "ReplyNotQueued",
    "ReplySender",
    "Router",
    "SqliteStateStore",
    "State",
    "StateKey",
    "StateRecord",
    "StateStore",
    "StopPropagation",
    "SystemFailure",
    "filters",
    "open_state_store",
    "state_key",
]
