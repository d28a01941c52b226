"""RabbitMQ output: an :class:`~wacloud.events.model.EventSink` on ``aio-pika`` with publisher confirms.

Each event goes to a durable topic exchange as its JSON (:meth:`Event.as_json`), persistent, with the
event id as ``message_id`` and ``<type>.<phone_number_id>`` as routing key (``message.received.1065…``),
so a queue binds to what it wants (``message.#``, ``*.*.1065…``, ``#``). :meth:`publish` returns only
once the broker confirmed every message of the batch; a lost connection drops the connection and
raises :class:`OutputUnavailable`, and the next publish reconnects. Needs ``pip install
'wacloud[rabbitmq]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
from pamqp.commands import Basic

from wacloud.events.model import Event

#: The exchange events go to unless told otherwise.
DEFAULT_EXCHANGE = "wacloud.events"


class OutputUnavailable(Exception):
    """The output could not take a batch (broker down, connection lost, a message refused): retry later."""


def routing_key(event: Event) -> str:
    """``<type>.<phone_number_id>``: bind ``message.received.#`` for one type, ``#.<number>`` for one number."""
    return f"{event.type}.{event.phone_number_id}"


def message_for(event: Event) -> aio_pika.Message:
    """The AMQP message of ``event``: its JSON body, persistent, ``message_id`` = the event id."""
    body = json.dumps(event.as_json(), separators=(",", ":"), ensure_ascii=False, default=str).encode()
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=event.id,
        type=event.type,
        app_id="wacloud",
        timestamp=datetime.fromtimestamp(event.at, UTC),
        headers={"seq": event.seq, "position": event.position, "phone_number_id": event.phone_number_id,
                 "schema_version": event.schema_version},
    )


class RabbitMQSink:
    """Publishes events to the topic exchange ``exchange`` at ``url`` (``amqp://user:pass@host:5672/vhost``).

    ``queue``: also declare this durable queue, bound to every event (``#``), so nothing is dropped
    before the business binds queues of its own (an exchange drops what no queue is bound to).
    ``confirm_timeout_s`` bounds the wait for the broker's confirms.
    """

    def __init__(self, url: str, *, exchange: str = DEFAULT_EXCHANGE, queue: str | None = None,
                 name: str | None = None, confirm_timeout_s: float = 30.0, connect_timeout_s: float = 10.0) -> None:
        if not url.startswith(("amqp://", "amqps://")):
            raise ValueError("a RabbitMQ URL starts with amqp:// or amqps://")
        if not exchange:
            raise ValueError("the exchange needs a name")
        self.url = url
        self.exchange_name = exchange
        self.queue = queue
        self.name = name or f"rabbitmq:{exchange}"
        self.confirm_timeout_s = confirm_timeout_s
        self.connect_timeout_s = connect_timeout_s
        #: How many times a connection was opened (the first one included).
        self.connects = 0
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None

    async def _ready(self) -> aiormq.abc.AbstractChannel:
        """The open confirming channel, connecting (and declaring the exchange) when there is none."""
        if self._channel is not None and not self._channel.is_closed:
            return self._channel
        await self._drop()
        try:
            connection = await aio_pika.connect(self.url, timeout=self.connect_timeout_s)
        except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
            raise OutputUnavailable(f"cannot connect to RabbitMQ: {exc}") from exc
        self._connection = connection
        self.connects += 1
        try:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
            if self.queue:
                queue = await channel.declare_queue(self.queue, durable=True)
                await queue.bind(exchange, routing_key="#")
            self._channel = await channel.get_underlay_channel()
        except Exception as exc:
            await self._drop()
            raise OutputUnavailable(f"cannot set up the exchange {self.exchange_name!r}: {exc}") from exc
        return self._channel

    async def publish(self, events: Sequence[Event]) -> None:
        """Publish ``events`` in order and wait for the broker's confirm of each (raise otherwise)."""
        if not events:
            return
        channel = await self._ready()
        # Publishes are queued on the channel in call order (aiormq's lock is first come, first served),
        # then confirmed together: one round trip per batch, not per event.
        tasks = [
            asyncio.ensure_future(channel.basic_publish(
                m.body, exchange=self.exchange_name, routing_key=routing_key(e), properties=m.properties,
                mandatory=False, timeout=self.confirm_timeout_s,
            ))
            for e, m in ((e, message_for(e)) for e in events)
        ]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        problem: Any = next((r for r in results if isinstance(r, BaseException)), None)
        if problem is None:
            problem = next((r for r in results if not isinstance(r, Basic.Ack)), None)
        if problem is not None:
            # Some messages may have reached the broker: the whole batch is published again (receivers
            # dedupe by message_id). The connection is dropped so the next publish starts clean.
            await self._drop()
            if isinstance(problem, asyncio.CancelledError):
                raise problem
            raise OutputUnavailable(f"RabbitMQ did not confirm the batch: {problem!r}"[:300])

    async def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=5)

    async def close(self) -> None:
        """Close the connection."""
        await self._drop()


__all__ = ["DEFAULT_EXCHANGE", "OutputUnavailable", "RabbitMQSink", "message_for", "routing_key"]

