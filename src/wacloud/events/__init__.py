"""The event stream out: what the gateway learns, as durable, ordered, replayable events.

This package's bottom (:mod:`wacloud.events.model`) is the contract between the parts that write events
(the delivery engine, the gateway's webhook handling), the log that stores them, and the outputs that carry
them to a business's systems (HTTP subscriptions, RabbitMQ, the live stream).
"""

from wacloud.events.model import EVENT_TYPES, SCHEMA_VERSION, Event, EventSink, EventSource

__all__ = ["EVENT_TYPES", "SCHEMA_VERSION", "Event", "EventSink", "EventSource"]
