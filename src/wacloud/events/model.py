"""The event contract: one :class:`Event` shape, the documented types, and the reader/output protocols."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from wacloud.identity import CustomerIds

#: Version of every event's payload schema; bumped on an incompatible change (docs/events.md).
SCHEMA_VERSION: Final = 1

#: Every event type, with what it reports (docs/events.md gives an example payload of each).
EVENT_TYPES: Final[Mapping[str, str]] = {
    "message.received": "a customer's message reached the number",
    "message.status": "a status webhook (sent, delivered, read, played, failed) for a message the number sent",
    "job.state_changed": "an outbox job changed state (with the error code and detail when it failed)",
    "campaign.progress": "a campaign was queued, paused, resumed, cancelled, rescheduled, given a budget or finished",
    "template.status_changed": "a template was approved, rejected, paused, disabled, …",
    "template.quality_changed": "a template's quality score changed",
    "template.category_changed": "Meta changed (or will change) a template's category",
    "number.quality_changed": "the number's quality rating or messaging limit changed",
    "number.throughput_changed": "the number's throughput level changed (e.g. raised to 1,000 msg/s)",
    "account.updated": "an account, portfolio or number event (account_update, account_alerts, account_review_update, "
                       "business_capability_update, phone_number_name_update, security, payment_configuration_update, "
                       "partner_solutions)",
    "call.updated": "a call connected, rang, was accepted or rejected, or ended (the calls webhook)",
    "group.updated": "a group was created or deleted, its participants or settings changed, or it was suspended",
    "contact.identity_changed": "a customer's ids changed (new BSUID, username, phone number)",
    "media.stored": "an incoming media file was downloaded and kept",
    "media.failed": "an incoming media file could not be kept (after retries)",
}


@dataclass(frozen=True, slots=True)
class Event:
    """One event: ``id`` is stable and unique (receivers dedupe by it); ``seq`` increases by one per event
    of the same number, with no gaps; ``position`` is its place in the whole log (the cursor of readers
    that follow every number)."""

    id: str
    position: int
    seq: int
    type: str
    at: float
    phone_number_id: str
    data: Mapping[str, Any]
    contact: CustomerIds | None = None
    schema_version: int = SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The event as sent to subscribers and brokers (docs/events.md)."""
        return {"id": self.id, "type": self.type, "schema_version": self.schema_version, "seq": self.seq,
                "position": self.position, "at": self.at, "phone_number_id": self.phone_number_id,
                "contact": self.contact.as_dict() if self.contact else None, "data": dict(self.data)}


class EventSource(Protocol):
    """Reads the event log in order (the outputs and the pull API read through this)."""

    def read(self, after: int, limit: int, *, types: Sequence[str] | None = None,
             numbers: Sequence[str] | None = None) -> list[Event]:
        """Up to ``limit`` events whose ``position`` is greater than ``after``, in order."""
        ...


class EventSink(Protocol):
    """An output that carries events out (an HTTP subscription, a broker): the plug-in interface."""

    name: str

    async def publish(self, events: Sequence[Event]) -> None:
        """Deliver ``events`` in order; return only once the output has confirmed them (raise otherwise)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
