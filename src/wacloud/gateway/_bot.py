"""Where the gateway meets the user's bot (``wacloud serve --app module:attr``).

The gateway calls one thing on a bot: :meth:`BotApp.dispatch`, with every update the system has
recorded, after giving the bot a client to answer with (when the bot has none of its own). A
:class:`~wacloud.webhooks.Application` is a :class:`BotApp`; a plain function ``fn(update)`` (sync, or
async) is adapted by :func:`as_bot`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from wacloud.client import AsyncClient
from wacloud.webhooks import Update


@runtime_checkable
class BotApp(Protocol):
    """What the gateway calls on a bot application."""

    #: The client the bot answers with; the gateway sets its own when this is None.
    client: AsyncClient | None

    async def dispatch(self, update: Update) -> None:
        """Handle one update, in the gateway's event loop."""
        ...


class FunctionBot:
    """A plain ``fn(update)`` as a :class:`BotApp`: the update is bound to the client, then ``fn`` runs."""

    def __init__(self, fn: Callable[[Update], Any]) -> None:
        self.fn = fn
        self.client: AsyncClient | None = None

    async def dispatch(self, update: Update) -> None:
        """Bind the update to the client, call ``fn`` and await its result when it is awaitable."""
        update.bind(self.client)
        result = self.fn(update)
        if inspect.isawaitable(result):
            await result

    def __repr__(self) -> str:
        return f"FunctionBot({self.fn!r})"


def as_bot(obj: object) -> BotApp:
    """``obj`` as a :class:`BotApp`: an application as it is, a function adapted; anything else refused."""
    if isinstance(obj, BotApp):
        return obj
    if callable(obj):
        return FunctionBot(obj)
    raise RuntimeError(
        f"--app must name a bot Application or a function taking an update, not a {type(obj).__name__}"
    )
