"""The event stream out: what the gateway learns, as durable, ordered, replayable events.

This package's bottom (:mod:`wacloud.events.model`) is the contract between the parts that write events
(the delivery engine, the gateway's webhook handling), the log that stores them (:mod:`wacloud.events.log`,
appended to inside the transaction of the change it reports) and the outputs that carry them to a
business's systems: HTTP subscriptions signed per Standard Webhooks (:class:`SubscriptionDispatcher`),
RabbitMQ, the live stream.
"""

from wacloud.events._delivery import Attempt, DeliveryPolicy, HeadWatcher, SubscriptionDispatcher
from wacloud.events._subscriptions import SecretCodec, Subscription, SubscriptionStore, new_secret
from wacloud.events.log import EventLog, NewEvent, UnknownEventType, append
from wacloud.events.model import EVENT_TYPES, SCHEMA_VERSION, Event, EventSink, EventSource

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "Attempt",
    "DeliveryPolicy",
    "Event",
    "EventLog",
    "EventSink",
    "EventSource",
    "HeadWatcher",
    "NewEvent",
    "SecretCodec",
    "Subscription",
    "SubscriptionDispatcher",
    "SubscriptionStore",
    "UnknownEventType",
    "append",
    "new_secret",
]
