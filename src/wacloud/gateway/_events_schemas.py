"""The answer bodies of ``/v1/events`` and ``/v1/subscriptions`` (for the OpenAPI document and its checks)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EventOut(BaseModel):
    """One event (docs/events.md lists every type with an example)."""

    id: str = Field(description="stable and unique: receivers dedupe by it (the webhook-id header)")
    type: str
    schema_version: int
    seq: int = Field(description="per number (or waba:<id> key), +1 per event, no gaps")
    position: int = Field(description="its place in the whole log: the cursor")
    at: float = Field(description="when it happened (Unix seconds)")
    phone_number_id: str
    contact: dict[str, str] | None = Field(description="the customer's ids (contact_id, wa_id, bsuid, …)")
    data: dict[str, Any]


class EventPage(BaseModel):
    """A page of events; ask again with ``after=next``."""

    events: list[EventOut]
    next: int
    has_more: bool


class DeliveryOut(BaseModel):
    """How a subscription's delivery goes."""

    delivered: int
    failed_attempts: int
    dead_lettered: int
    consecutive_failures: int
    last_status: int | None
    last_error: str | None
    last_latency_ms: float | None
    last_attempt_at: float | None
    next_retry_at: float | None


class SubscriptionOut(BaseModel):
    """A subscription (its secret is only in the answer that created it)."""

    id: str
    url: str
    types: list[str] | None
    numbers: list[str] | None
    state: str = Field(description="active or paused")
    paused_reason: str | None
    failing: bool = Field(description="paused because deliveries kept failing")
    cursor: int = Field(description="every matching event up to this position was delivered or dead-lettered")
    created_at: float
    delivery: DeliveryOut


class SubscriptionCreated(SubscriptionOut):
    """A new subscription, with its signing secret (shown only here)."""

    secret: str = Field(description="whsec_…: verifies the deliveries (standardwebhooks.Webhook(secret).verify)")


class AttemptOut(BaseModel):
    """One delivery attempt."""

    event_id: str
    position: int
    attempt: int
    at: float
    status: int | None
    latency_ms: float
    error: str | None


class DeadLetterOut(BaseModel):
    """An event that failed every attempt."""

    position: int
    event_id: str
    attempts: int
    last_error: str | None
    at: float
    requeued: bool


class SubscriptionDetail(SubscriptionOut):
    """A subscription with the log's head, its recent attempts and its dead letters."""

    head: int
    recent_attempts: list[AttemptOut]
    dead_letters: list[DeadLetterOut]


class SubscriptionList(BaseModel):
    """Every subscription."""

    subscriptions: list[SubscriptionOut]


class SubscriptionDeleted(BaseModel):
    """A deleted subscription."""

    id: str
    deleted: bool


class ReplayOut(BaseModel):
    """Where delivery goes on from (``cursor``), or how many dead letters were queued again."""

    id: str
    cursor: int | None = None
    requeued_dead_letters: int | None = None
