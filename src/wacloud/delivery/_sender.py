"""What the worker sends with: a :class:`Sender` (one ``send(body) -> wamid``), and the client's adapter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Generator, Mapping
from typing import Any, Protocol

from wacloud.client.core import AsyncRunner, Request, SyncRunner, call
from wacloud.client.models import SentMessage, UnexpectedResponse
from wacloud.errors import TransportError

log = logging.getLogger("wacloud.delivery")
#: A stored body carrying this key goes to ``/marketing_messages`` with the options it holds
#: (``product_policy``, ``message_activity_sharing``); the key itself is never sent.
MARKETING_API_KEY = "_wacloud_api"


class Sender(Protocol):
    """Sends one stored Graph ``/messages`` body; returns the wamid Meta answered with.

    Raises the client's errors (:class:`~wacloud.errors.WhatsAppError`, ``TransportError``,
    ``ValidationError``): the worker's policy turns them into retries or failures.
    """

    async def send(self, body: dict[str, Any]) -> str:
        """Send ``body``; the wamid."""
        ...


class ClientSender:
    """A :class:`Sender` over a wacloud client, sync or async (or any object with ``send_body``)."""

    def __init__(self, client: Any, *, on_answer: Callable[[dict[str, Any], Any], None] | None = None) -> None:
        self.client = client
        #: Given the body and the client's answer (a ``SentMessage``: ``wa_id``, ``user_id``,
        #: ``message_status``) after an accepted send that says more than its wamid, in a worker thread: the
        #: outbox learns the customer's ids and the template's pacing from it.
        self.on_answer = on_answer

    async def send(self, body: dict[str, Any]) -> str:
        """Send one stored Graph body with the client; returns the wamid."""
        client = self.client
        fn = getattr(client, "send_body", None)  # duck-typed: a user's own client may be passed
        if MARKETING_API_KEY in body:
            result: Any = await _run_flow(client, _marketing_flow(client, body))
        elif fn is None:
            result = await _run_flow(client, _send_flow(client, body))
        elif isinstance(client, AsyncRunner):
            result = await fn(body)
        else:
            result = await asyncio.to_thread(fn, body)
        wamid = getattr(result, "wamid", None) if not isinstance(result, str) else result
        if not wamid:
            raise TransportError("the send answer carried no message id")
        sent = body.get("to") or body.get("recipient")
        named = {getattr(result, "wa_id", None), getattr(result, "user_id", None)} - {None, "", sent}
        paced = getattr(result, "message_status", None) not in (None, "", "accepted")
        if self.on_answer is not None and (named or paced):
            # Only when the answer names the customer by more than what we sent to, or says the template is
            # held or paused (no thread hop otherwise).
            try:
                await asyncio.to_thread(self.on_answer, body, result)
            except Exception:  # learning ids is a bonus: never fail a send that went out
                log.exception("on_answer failed")
        return str(wamid)


def _send_flow(config: Any, body: dict[str, Any]) -> Generator[Any, Any, Any]:
    """``POST /{phone}/messages`` as a core flow (used when the client has no ``send_body``)."""
    data = yield from call(Request("POST", f"{config.require_phone()}/messages", json=body))
    return _answer(data)


def _answer(data: Any) -> SentMessage | None:
    """The send answer (wamid, ids, pacing state); None when it carries no message id."""
    messages = data.get("messages") if isinstance(data, Mapping) else None
    if not messages or not isinstance(messages[0], Mapping):
        return None
    try:
        return SentMessage.from_graph(data)
    except UnexpectedResponse:
        return None


def _marketing_flow(config: Any, body: dict[str, Any]) -> Generator[Any, Any, Any]:
    """``POST /{phone}/marketing_messages``: the stored template body plus the campaign's options."""
    extra = body[MARKETING_API_KEY]
    payload = {k: v for k, v in body.items() if k != MARKETING_API_KEY}
    payload.update({k: v for k, v in extra.items() if k in ("product_policy", "message_activity_sharing")})
    data = yield from call(Request("POST", f"{config.require_phone()}/marketing_messages", json=payload))
    return _answer(data)


async def _run_flow(client: AsyncRunner | SyncRunner, flow: Generator[Any, Any, Any]) -> Any:
    if isinstance(client, AsyncRunner):
        return await client._run(flow)
    return await asyncio.to_thread(client._run, flow)
