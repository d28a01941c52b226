"""RabbitMQ output against a real broker: order, confirms, routing keys, and a broker restart mid-stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from wacloud.delivery import EventCursors, open_store
from wacloud.events.model import Event
from wacloud.events.rabbitmq import RabbitMQSink, routing_key
from wacloud.events.relay import Relay
from wacloud.sandbox import free_port

from .eventlog import SqliteEventLog
from .rabbit import RabbitNode

NUMBERS = ["106540352242922", "106540352242923"]
#: Bounds on waits, so a broken relay fails the test instead of hanging it (not timing assertions).
WAIT_S = 120.0


async def until(probe: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``probe`` until it holds (fails the test with ``what`` after ``WAIT_S``)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not await probe():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def declare(url: str, exchange: str, bindings: dict[str, str]) -> None:
    """Declare the topic exchange and durable queues bound to it (``queue -> binding key``)."""
    conn = await aio_pika.connect(url)
    async with conn:
        ch = await conn.channel()
        ex = await ch.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        for queue, key in bindings.items():
            q = await ch.declare_queue(queue, durable=True)
            await q.bind(ex, routing_key=key)


async def drain(url: str, queue: str) -> list[dict[str, Any]]:
    """Every message waiting in ``queue``, in order, as dicts of what a consumer sees."""
    conn = await aio_pika.connect(url)
    got: list[dict[str, Any]] = []
    async with conn:
        ch = await conn.channel()
        q = await ch.declare_queue(queue, durable=True)
        while (msg := await q.get(no_ack=True, fail=False)) is not None:
            got.append({"id": msg.message_id, "routing_key": msg.routing_key, "body": json.loads(msg.body),
                        "persistent": msg.delivery_mode == aio_pika.DeliveryMode.PERSISTENT,
                        "content_type": msg.content_type, "type": msg.type})
    return got


def relay_for(log: SqliteEventLog, sink: RabbitMQSink, tmp_path: Path, **options: Any) -> tuple[Relay, EventCursors]:
    """A relay from ``log`` to ``sink`` with its cursor in a real delivery store (migration 9)."""
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    cursors = EventCursors(store)
    return Relay(log, sink, cursors, poll_s=0.05, **options), cursors


async def test_events_are_published_in_order_with_confirms(rabbit: RabbitNode, tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "log.db")
    events = log.append_many(300, NUMBERS)
    await declare(rabbit.url, "t1.events", {"t1.all": "#", "t1.second": f"#.{NUMBERS[1]}"})
    sink = RabbitMQSink(rabbit.url, exchange="t1.events")
    relay, cursors = relay_for(log, sink, tmp_path, batch=64)
    task = asyncio.create_task(relay.run())

    async def caught_up() -> bool:
        return cursors.position(relay.name) == events[-1].position

    await until(caught_up, "the relay to publish every event")
    relay.stop()
    await task
    await sink.close()

    got = await drain(rabbit.url, "t1.all")
    assert [m["id"] for m in got] == [e.id for e in events]  # each once, in the log's order
    assert [m["body"] for m in got] == [json.loads(json.dumps(e.as_json())) for e in events]
    assert all(m["persistent"] and m["content_type"] == "application/json" for m in got)
    assert [m["routing_key"] for m in got] == [f"message.received.{e.phone_number_id}" for e in events]
    second = await drain(rabbit.url, "t1.second")
    assert [m["body"]["seq"] for m in second] == list(range(1, 151))  # one number's events, seq in order
    assert {m["body"]["phone_number_id"] for m in second} == {NUMBERS[1]}
    assert relay.stats.published == len(events) and relay.stats.failures == 0
    assert sink.connects == 1


async def test_broker_restart_mid_stream_loses_no_confirmed_event(rabbit: RabbitNode, tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "log.db")
    first = log.append_many(1500, NUMBERS)
    sink = RabbitMQSink(rabbit.url, exchange="t2.events", queue="t2.all")
    relay, cursors = relay_for(log, sink, tmp_path, batch=50, retry_first_s=0.1, retry_max_s=1.0)
    task = asyncio.create_task(relay.run())

    async def some_published() -> bool:
        return relay.stats.published >= 300

    await until(some_published, "a first part of the stream")
    await asyncio.to_thread(rabbit.stop)  # mid-stream: batches in flight lose their connection
    confirmed_while_down = cursors.position(relay.name)
    # The log keeps taking events while the broker is away: its writers never wait for the output.
    more = await asyncio.to_thread(log.append_many, 500, NUMBERS)

    async def failing() -> bool:
        return relay.stats.failing >= 2

    await until(failing, "the relay to notice the broker is gone")
    assert cursors.position(relay.name) == confirmed_while_down  # nothing unconfirmed is counted
    await asyncio.to_thread(rabbit.start)

    async def caught_up() -> bool:
        return cursors.position(relay.name) == more[-1].position

    await until(caught_up, "the relay to resume after the restart")
    relay.stop()
    await task
    await sink.close()

    got = await drain(rabbit.url, "t2.all")
    ids = [m["id"] for m in got]
    expected = [e.id for e in first + more]
    assert set(ids) == set(expected)  # every event at least once, nothing else
    assert len(ids) >= len(expected)  # a batch cut by the restart may come twice (receivers dedupe by id)
    # What the relay had confirmed before the restart survived it (persistent messages, durable queue).
    assert {e.id for e in first if e.position <= confirmed_while_down} <= set(ids)
    assert relay.stats.failures >= 2 and sink.connects >= 2
    # Per number, the first delivery of each event comes in seq order.
    for number in NUMBERS:
        seen: dict[str, int] = {}
        for m in got:
            if m["body"]["phone_number_id"] == number:
                seen.setdefault(m["id"], m["body"]["seq"])
        assert list(seen.values()) == sorted(seen.values())


async def test_an_unreachable_broker_keeps_the_cursor(tmp_path: Path) -> None:
    log = SqliteEventLog(tmp_path / "log.db")
    log.append_many(10, NUMBERS)
    sink = RabbitMQSink(f"amqp://guest:guest@127.0.0.1:{free_port()}/", connect_timeout_s=2)
    relay, cursors = relay_for(log, sink, tmp_path, retry_first_s=0.05, retry_max_s=0.1)
    task = asyncio.create_task(relay.run())

    async def failed_thrice() -> bool:
        return relay.stats.failures >= 3

    await until(failed_thrice, "three failed attempts")
    relay.stop()
    await task
    await relay.close()
    assert cursors.position(relay.name) == 0
    assert relay.stats.published == 0
    assert relay.stats.last_error is not None and "connect" in relay.stats.last_error


def test_routing_key_and_bad_settings() -> None:
    event = Event(id="evt_1", position=1, seq=1, type="media.stored", at=0.0, phone_number_id="42", data={})
    assert routing_key(event) == "media.stored.42"
    with pytest.raises(ValueError, match="amqp://"):
        RabbitMQSink("http://localhost:5672")
    with pytest.raises(ValueError, match="exchange"):
        RabbitMQSink("amqp://localhost", exchange="")


def test_the_gateway_starts_the_relay_when_rabbitmq_url_is_set(rabbit: RabbitNode, tmp_path: Path) -> None:
    from gateway.conftest import start_gateway, wait_for

    log = SqliteEventLog(tmp_path / "log.db")
    events = log.append_many(40, NUMBERS)

    def connect_log(app: Any) -> None:
        app.state.gateway.event_source = log  # what the event log's wiring does

    server, live = start_gateway(tmp_path / "wacloud.db", prepare=connect_log, rabbitmq_url=rabbit.url,
                                 rabbitmq_exchange="t3.events", rabbitmq_queue="t3.all")
    try:
        relay = live.gw.event_relay
        assert relay is not None and relay.name == "rabbitmq:t3.events"
        wait_for(lambda: relay.stats.position == events[-1].position, WAIT_S, "the gateway's relay")
        later = log.append("media.stored", NUMBERS[0], {"media_id": "1"})  # followed while it runs
        wait_for(lambda: relay.stats.position == later.position, WAIT_S, "the event appended later")
    finally:
        live.http.close()
        server.stop()
    got = asyncio.run(drain(rabbit.url, "t3.all"))
    assert [m["id"] for m in got] == [e.id for e in [*events, later]]
    assert got[-1]["routing_key"] == f"media.stored.{NUMBERS[0]}"
