"""The gateway's outputs: incoming media kept, and the event relay to RabbitMQ, each in its own task.

Both run in processes that run workers (``workers = true``), off the webhook path: the webhook
dispatch only queues media downloads, and the relay reads the event log after its cursor. A task that
crashes is restarted after a pause, so an output never takes the gateway down with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from wacloud.client import AsyncClient
from wacloud.delivery import EventCursors, MediaQueue
from wacloud.delivery.sql import SqlBase
from wacloud.events.relay import Relay
from wacloud.gateway._media_keeper import KeepPolicy, MediaKeeper
from wacloud.gateway._media_store import LocalMediaStore, MediaStore, S3MediaStore
from wacloud.gateway._runtime import Gateway

log = logging.getLogger("wacloud.gateway.outputs")

#: Pause before restarting an output task that crashed.
RESTART_PAUSE_S = 5.0
#: How long a graceful stop may take before the tasks are cancelled.
STOP_WAIT_S = 10.0


def media_store_for(gw: Gateway) -> MediaStore | None:
    """The configured media store (``media_dir`` or ``media_s3_bucket``), else None."""
    s = gw.settings
    if s.media_dir:
        return LocalMediaStore(s.media_dir)
    if s.media_s3_bucket:
        return S3MediaStore(
            s.media_s3_bucket, endpoint_url=s.media_s3_url, region=s.media_s3_region, prefix=s.media_s3_prefix,
            access_key=s.media_s3_access_key.get_secret_value() if s.media_s3_access_key else None,
            secret_key=s.media_s3_secret_key.get_secret_value() if s.media_s3_secret_key else None,
        )
    return None


def attach_outputs(gw: Gateway) -> None:
    """Build the media keeper when media keeping is configured (after the engines are attached)."""
    s = gw.settings
    store = media_store_for(gw)
    if store is None:
        return
    if not isinstance(gw.store, SqlBase) or gw.client is None:
        log.warning("incoming media is not kept: this process has no delivery store or client")
        return
    policy = KeepPolicy(types=frozenset(s.media_keep_types), max_bytes=s.media_keep_max_bytes,
                        attempts=s.media_keep_attempts, retry_first_s=s.media_retry_s)
    gw.media_keeper = MediaKeeper(MediaQueue(gw.store), gw.client, store, policy,
                                  default_phone_number_id=gw.creds.phone_number_id, client_for=NumberClients(gw))


class NumberClients:
    """The client of a served number (its own token), None for a number not served."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw

    def __call__(self, phone_number_id: str) -> AsyncClient | None:
        """The lane's client of ``phone_number_id``."""
        lane = self.gw.lane(phone_number_id)
        return lane.client if lane is not None else None


def build_relay(gw: Gateway) -> Relay | None:
    """The RabbitMQ relay when ``rabbitmq_url`` is set and this process has an event log to read."""
    s = gw.settings
    if s.rabbitmq_url is None:
        return None
    if gw.event_source is None or not isinstance(gw.store, SqlBase):
        log.warning("rabbitmq_url is set but this process has no event log to read: nothing is published")
        return None
    try:
        from wacloud.events.rabbitmq import RabbitMQSink
    except ImportError as exc:
        raise RuntimeError("rabbitmq_url needs aio-pika: pip install 'wacloud[rabbitmq]'") from exc
    sink = RabbitMQSink(s.rabbitmq_url.get_secret_value(), exchange=s.rabbitmq_exchange, queue=s.rabbitmq_queue)
    return Relay(gw.event_source, sink, EventCursors(gw.store))


async def _forever(name: str, run: Callable[[], Awaitable[None]], stopping: asyncio.Event) -> None:
    """Run ``run`` until it returns on request; restart it after a pause when it crashes."""
    while not stopping.is_set():
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s stopped with an error; restarting in %.0f s", name, RESTART_PAUSE_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=RESTART_PAUSE_S)


@contextlib.asynccontextmanager
async def run_outputs(gw: Gateway) -> AsyncIterator[None]:
    """The lifespan part: start the media keeper and the relay (workers only), stop them at shutdown."""
    stopping = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    keeper: MediaKeeper | None = gw.media_keeper
    relay: Relay | None = None
    if gw.settings.workers:
        if keeper is not None:
            tasks.append(asyncio.create_task(_forever("media keeper", keeper.run, stopping), name="wacloud-media"))
        relay = gw.event_relay = build_relay(gw)
        if relay is not None:
            tasks.append(asyncio.create_task(_forever(f"output {relay.name}", relay.run, stopping),
                                             name="wacloud-relay"))
    try:
        yield
    finally:
        stopping.set()
        if keeper is not None:
            keeper.stop()
        if relay is not None:
            relay.stop()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=STOP_WAIT_S)
            for task in pending:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if relay is not None:
            await relay.close()
