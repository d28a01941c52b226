"""Request and response models of the HTTP API (they make its OpenAPI document)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from wacloud.delivery import JobState


def _refuse_nul(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain a NUL character (U+0000)")
    elif isinstance(value, list):
        for item in value:
            _refuse_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)


class _Input(BaseModel):
    """A request body: strings hold no NUL (PostgreSQL's text type refuses it; nothing needs it)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        _refuse_nul(value)
        return value


class ErrorInfo(BaseModel):
    """Why a request failed: the field at fault (if any) and the reason; Graph errors add their code."""

    reason: str
    field: str | None = None
    code: int | None = None
    title: str | None = None
    fbtrace_id: str | None = None


class ErrorOut(BaseModel):
    """Every 4xx/5xx body: ``{"error": {...}}``."""

    error: ErrorInfo


class JobEvent(BaseModel):
    """One step in a job's life."""

    state: str
    at: float | None = None
    code: int | None = None
    detail: str | None = None
    attempt: int | None = None


class JobOut(BaseModel):
    """An outbox job: its state, the wamid once accepted, the error if it failed, and its history.

    It shows a :class:`~wacloud.delivery.Job`: each field of the job is a field here of the same name,
    or is listed in :data:`JOB_FIELDS_SHOWN_AS` or :data:`JOB_FIELDS_NOT_SHOWN` (a test checks this).
    """

    id: str
    phone_number_id: str | None = None
    to: str | None = None
    state: JobState
    wamid: str | None = None
    key: str | None = None
    category: str | None = None
    type: str | None = None
    attempts: int | None = None
    error: ErrorInfo | None = None
    created_at: float | None = None
    updated_at: float | None = None
    campaign_id: str | None = None
    history: list[JobEvent] = Field(default_factory=list)
    #: The template sent instead of the job's message because the 24-hour window was closed.
    fallback_template: str | None = None


#: :class:`~wacloud.delivery.Job` fields shown under another name, or folded into another field.
JOB_FIELDS_SHOWN_AS: Mapping[str, str] = {
    "body": "type",
    "is_template": "type",
    "campaign": "campaign_id",
    "fallback": "fallback_template",
    "used_fallback": "fallback_template",
    "error_code": "error",
    "error_title": "error",
    "error_details": "error",
    "fbtrace_id": "error",
    "accepted_at": "history",
    "sent_at": "history",
    "delivered_at": "history",
    "read_at": "history",
    "finished_at": "history",
}
#: :class:`~wacloud.delivery.Job` fields the API does not show, and why.
JOB_FIELDS_NOT_SHOWN: Mapping[str, str] = {
    "failures": "the engine's retry bookkeeping; `attempts` and `history` tell the story",
    "throttles": "the engine's retry bookkeeping",
    "pair_retries": "the engine's retry bookkeeping",
    "not_before": "scheduling detail of a queued job",
    "priority": "the engine's lane (one-off messages before campaigns)",
}


class JobList(BaseModel):
    """A page of jobs."""

    jobs: list[JobOut]


class MessageOut(BaseModel):
    """One message of a conversation."""

    id: int
    wa_id: str
    contact_id: str | None = Field(None, description="the person, whichever of their ids this message used")
    direction: str
    type: str
    wamid: str | None = None
    job_id: str | None = None
    status: str | None = None
    summary: str
    ts: float
    body: dict[str, Any] | None = None


class MessageList(BaseModel):
    """A customer's messages, oldest first."""

    wa_id: str
    messages: list[MessageOut]


class ConversationOut(BaseModel):
    """A customer the business has talked with."""

    wa_id: str
    contact_id: str | None = Field(None, description="the person (all their ids share one conversation)")
    name: str | None = None
    messages: int
    inbound: int
    last_message_at: float | None = None
    last_inbound_at: float | None = None
    last_message: str


class ConversationList(BaseModel):
    """Customers, most recent first."""

    conversations: list[ConversationOut]


class Recipient(_Input):
    """One campaign recipient and their template parameters."""

    model_config = ConfigDict(extra="forbid")

    to: str = Field(min_length=1, max_length=140, description="a phone number or a BSUID")
    parameters: list[str] = Field(
        default_factory=list, max_length=100, description="body parameters {{1}}, {{2}}… in order"
    )
    named: dict[str, str] = Field(default_factory=dict, description="named body parameters")
    values: dict[str, str] = Field(
        default_factory=dict,
        max_length=200,
        description="template parameters by column name: 1, first_name, header.1, header.image, button.0 "
        "(the CSV naming of the README's campaign section)",
    )


class CampaignIn(_Input):
    """Start a campaign: one approved template to many recipients."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(
        default=None, alias="from", min_length=1, max_length=64,
        description="the business number that sends (phone number id or display number); optional with one number",
    )
    template: str = Field(min_length=1, max_length=512, description="template name")
    language: str = Field(default="en_US", min_length=2, max_length=15)
    recipients: list[Recipient] = Field(min_length=1, max_length=100_000)
    category: str | None = Field(default=None, max_length=32)
    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:\-]+$",
        description="campaign id (default: generated); starting the same id again queues nobody twice",
    )
    values: dict[str, str] = Field(
        default_factory=dict,
        max_length=200,
        description="parameters for every recipient, by column name (a recipient's own value wins)",
    )
    skip_invalid: bool = Field(
        default=False,
        description="queue the valid recipients and list the invalid ones (default: refuse the campaign)",
    )
    budget: float | None = Field(
        default=None, ge=0, description="hold the campaign (reason `budget`) before its estimated cost exceeds this"
    )
    api: Literal["cloud_api", "marketing_messages"] | None = Field(
        default=None, description="`marketing_messages`: send through the Marketing Messages API"
    )
    product_policy: Literal["STRICT", "CLOUD_API_FALLBACK"] | None = Field(
        default=None, description="Marketing Messages API: STRICT never falls back to the Cloud API path"
    )
    message_activity_sharing: bool | None = Field(default=None, description="Marketing Messages API: share clicks")
    ttl_seconds: int | None = Field(default=None, description="Marketing Messages API: the template's TTL")
    start_at: float | None = Field(default=None, ge=0, description="schedule: unix time of the first send")


class InvalidRecipient(BaseModel):
    """A recipient left out of a campaign: its index in ``recipients`` (from 0) and why."""

    index: int
    field: str
    reason: str


class CampaignOut(BaseModel):
    """A campaign's progress: jobs by state and failures by code (a :class:`~wacloud.delivery.Summary`)."""

    id: str
    total: int
    states: dict[str, int] = Field(default_factory=dict)
    failed_by_code: dict[str, int] = Field(default_factory=dict)
    recovered: dict[str, int] = Field(
        default_factory=dict,
        description="jobs taken back from a worker that was lost (a crash): `released` (put back in the queue), "
        "`uncertain` (the call was in flight: maybe sent, never repeated), `resent` (at_least_once only)",
    )
    done: bool = False
    duplicates: int | None = Field(
        default=None, description="recipients already queued by an earlier start of the same campaign id"
    )
    warnings: list[str] = Field(default_factory=list, description="e.g. values that fill no parameter")
    invalid: list[InvalidRecipient] = Field(default_factory=list, description="recipients not queued (skip_invalid)")
    state: str | None = Field(default=None, description="active, paused or cancelled")
    held: dict[str, int] = Field(default_factory=dict, description="jobs held by a limit, by reason")
    budget: float | None = None
    api: str | None = None
    start_at: float | None = None
    cost: float | None = Field(default=None, description="what the statuses' pricing says it cost (rate card)")
    estimated: float | None = Field(default=None, description="the estimate made before each send")
    currency: str | None = None
    eta_s: float | None = Field(default=None, description="seconds until the rest is sent (null: waits on you)")


class CampaignDryRun(BaseModel):
    """What a campaign would do now (``POST /v1/campaigns?dry_run=true``); nothing is queued."""

    dry_run: bool = True
    id: str | None = None
    total: int
    recipients: dict[str, int] = Field(description="new, in_window, opted_out, capped, invalid")
    invalid: list[dict[str, Any]] = Field(default_factory=list)
    template: dict[str, Any] = Field(default_factory=dict, description="name, language, status, ok")
    held: dict[str, int] = Field(default_factory=dict, description="jobs expected to be held, by reason")
    sendable: int = 0
    estimated_cost: float = 0.0
    currency: str = "USD"
    duration_s: float = Field(0.0, description="seconds to send the sendable ones at the number's rate")
    portfolio: dict[str, Any] = Field(default_factory=dict, description="tier, reached_24h, room")


class MediaOut(BaseModel):
    """An uploaded media object (a :class:`~wacloud.client.MediaInfo` without its ``messaging_product``)."""

    id: str
    url: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None


class MarkedRead(BaseModel):
    """The result of marking a message read."""

    success: bool


class Deleted(BaseModel):
    """The result of a delete."""

    deleted: bool


class KeyOut(BaseModel):
    """An API key's info (never the key)."""

    id: str
    name: str
    created_at: float
    revoked_at: float | None = None
    active: bool
    numbers: list[str] | None = Field(default=None, description="the numbers it may use (null: every number)")
    role: str = "admin"


class NewKeyOut(KeyOut):
    """A key just created: the only time the key itself is shown."""

    key: str


class KeyIn(_Input):
    """Create an API key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="default", min_length=1, max_length=100)
    numbers: list[str] | None = Field(
        default=None, min_length=1, max_length=1000,
        description="limit the key to these numbers (phone number ids or display numbers); default: every number",
    )
    role: Literal["admin", "agent", "viewer"] = Field(default="admin", description="admin, agent or viewer")


class KeyList(BaseModel):
    """All API keys."""

    keys: list[KeyOut]


class Health(BaseModel):
    """Liveness / readiness."""

    status: str
    checks: dict[str, str] = Field(default_factory=dict)
    mode: str | None = None


class NumberOut(BaseModel):
    """One business number the gateway serves: ids, name, rate, pause state, quality and backlog."""

    phone_number_id: str
    waba_id: str | None = None
    name: str | None = None
    display_phone_number: str | None = None
    verified_name: str | None = None
    #: Messages per second this number paces to now.
    rate: float
    throughput_level: str | None = None
    paused: bool
    paused_until: float | None = None
    pause_reason: str | None = None
    quality: str | None = None
    quality_event: str | None = None
    #: Jobs still owed a send.
    backlog: int
    workers: str
    #: ``config`` (the configuration) or ``api`` (added with ``POST /v1/numbers``; only those can be removed).
    source: str = "config"
    #: Whether the number has an access token (it is never shown).
    access_token_set: bool = False
    #: Whether the number has an app secret of its own or the gateway's (never shown).
    app_secret_set: bool = False


class NumberList(BaseModel):
    """The numbers, in configuration order (the first is the default)."""

    numbers: list[NumberOut]


class UnroutedOut(BaseModel):
    """A webhook update for a number this gateway does not serve, kept apart."""

    id: int
    received_at: float
    phone_number_id: str | None = None
    display_phone_number: str | None = None
    waba_id: str | None = None
    field: str | None = None
    kind: str
    body: Any = None


class UnroutedList(BaseModel):
    """Unrouted updates, newest first, and their count per number."""

    updates: list[UnroutedOut]
    counts: dict[str, int]
