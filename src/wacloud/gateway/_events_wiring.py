"""The event parts of one gateway process: the log's reader, subscriptions, their delivery, retention.

They use a database handle of their own (one more PostgreSQL connection), so delivering and streaming
events never queue behind the webhook path's statements on the gateway's shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import anyio.to_thread

from wacloud.events import DeliveryPolicy, EventLog, HeadWatcher, SubscriptionDispatcher, SubscriptionStore
from wacloud.gateway._db import Database
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._secret_keys import SECRET_KEY_SETTING
from wacloud.gateway._settings import Settings

log = logging.getLogger("wacloud.gateway.events")

#: How often old events are pruned (at most; a short retention prunes more often).
PRUNE_EVERY_S = 3600.0


def policy_of(settings: Settings) -> DeliveryPolicy:
    """The delivery policy the ``subscription_*`` settings describe."""
    return DeliveryPolicy(concurrency=settings.subscription_concurrency, timeout_s=settings.subscription_timeout_s,
                          max_attempts=settings.subscription_max_attempts,
                          pause_after=settings.subscription_pause_after,
                          retry_base_s=settings.subscription_retry_base_s,
                          retry_max_s=settings.subscription_retry_max_s, lease_s=settings.subscription_lease_s)


def attach_events(gw: Gateway) -> None:
    """Build the event log reader, the subscription store and the dispatcher (the store exists: migrated)."""
    db = Database(gw.settings.database_url)
    gw.events = EventLog(db.run)
    gw.event_watcher = HeadWatcher(gw.events)
    gw.subscriptions = SubscriptionStore(db.run, gw.secret_box)
    if gw.secret_box.sealing:
        if sealed := gw.subscriptions.protect():
            log.info("encrypted the signing secrets of %d subscription(s) with the first key of %s", sealed,
                     SECRET_KEY_SETTING)
    elif subs := gw.subscriptions.all():
        log.warning("%d event subscription(s) keep their signing secret in clear in the gateway database: set %s "
                    "to encrypt them (make a key with `wacloud keys secret`)", len(subs), SECRET_KEY_SETTING)
    gw.dispatcher = SubscriptionDispatcher(gw.subscriptions, gw.events, policy_of(gw.settings),
                                           watcher=gw.event_watcher)
    gw.events_db = db


async def prune_forever(gw: Gateway) -> None:
    """Delete events older than ``events_retention_days``, now and then every hour (or sooner)."""
    keep_s = gw.settings.events_retention_days * 86400
    every = min(PRUNE_EVERY_S, max(1.0, keep_s / 10))
    while True:
        events = gw.events
        if events is not None:
            try:
                pruned = await anyio.to_thread.run_sync(events.prune, time.time() - keep_s)
                if pruned:
                    log.info("pruned %d events older than %.1f days", pruned, gw.settings.events_retention_days)
            except Exception as exc:  # the database is down: next time
                log.warning("event pruning failed: %s", exc)
        await asyncio.sleep(every)


async def start_events(gw: Gateway, stack: contextlib.AsyncExitStack) -> None:
    """Start the head watcher, retention and (``subscriptions`` setting) delivery; stopped by ``stack``."""
    if gw.events is None or gw.event_watcher is None:
        return
    tasks = [asyncio.create_task(gw.event_watcher.run(), name="wacloud-events-head"),
             asyncio.create_task(prune_forever(gw), name="wacloud-events-prune")]
    dispatcher = gw.dispatcher
    if gw.settings.subscriptions and dispatcher is not None:
        tasks.append(asyncio.create_task(dispatcher.run(), name="wacloud-subscriptions"))

    async def stop() -> None:
        if dispatcher is not None:
            await dispatcher.stop()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        db = gw.events_db
        if db is not None:
            db.close()

    stack.push_async_callback(stop)


def connect_outputs(gw: Gateway) -> None:
    """Give the outputs the log: the RabbitMQ relay reads it.

    Kept media needs no wiring: the media queue writes ``media.stored`` / ``media.failed`` in the
    transaction that settles a download (``wacloud.delivery.MediaQueue``).
    """
    gw.event_source = gw.events
