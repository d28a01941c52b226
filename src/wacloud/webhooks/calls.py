"""The ``calls`` webhook field (Calling API): call connect and terminate events, and call statuses.

``value.calls[]`` carries events: ``connect`` (a user calls the business with an SDP offer, or a
business-initiated call is answered with an SDP answer) and ``terminate`` (the call ended, with its
status, start/end time and duration). ``value.statuses[]`` carries the ringing state of a
business-initiated call: ``RINGING``, ``ACCEPTED`` or ``REJECTED``. SDP bodies are kept as the opaque
strings they are; hand them to the WebRTC stack unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError, field_validator

import wacloud.webhooks.models as m
import wacloud.webhooks.updates as u
from wacloud.webhooks.changes import Change, FieldParser, contacts, items, why

USER_INITIATED = "USER_INITIATED"
BUSINESS_INITIATED = "BUSINESS_INITIATED"


class CallSession(m.WebhookModel):
    """The SDP of a connect event: an ``offer`` (user-initiated) or an ``answer`` (business-initiated)."""

    sdp_type: str | None = None
    sdp: str | None = None


class CallEvent(m.WebhookModel):
    """``value.calls[]``: one connect or terminate event of a call."""

    id: str
    event: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    timestamp: datetime | None = None
    direction: str | None = None
    session: CallSession | None = None
    biz_opaque_callback_data: str | None = None
    #: Terminate events: COMPLETED or FAILED, when the call started and ended, and its length in seconds.
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: int | None = None
    errors: list[m.WebhookError] = Field(default_factory=list)

    @field_validator("status", mode="before")
    @classmethod
    def _one_status(cls, value: Any) -> Any:
        # Some of Meta's call samples give the terminate status as a one-item list (["COMPLETED"]).
        if isinstance(value, list):
            return value[0] if value else None
        return value

    @property
    def user_initiated(self) -> bool:
        """True for a call the user placed to the business."""
        return (self.direction or USER_INITIATED).upper() == USER_INITIATED

    @property
    def sdp(self) -> str | None:
        """The SDP of a connect event (the offer to answer, or the answer to apply)."""
        return self.session.sdp if self.session is not None else None


class CallStatus(m.WebhookModel):
    """``value.statuses[]`` of the calls field: RINGING, ACCEPTED or REJECTED (business-initiated calls)."""

    id: str
    status: str
    type: str | None = None
    timestamp: datetime | None = None
    recipient_id: str | None = None
    biz_opaque_callback_data: str | None = None
    errors: list[m.WebhookError] = Field(default_factory=list)


class CallUpdate(u.Update):
    """A call ``connect`` or ``terminate`` event (``call.event``)."""

    call: CallEvent
    metadata: m.Metadata | None = None
    #: The user (from ``value.contacts``), when Meta sent it.
    contact: m.WebhookContact | None = None

    @property
    def dedup_key(self) -> str | None:
        """``"call:{call_id}:{event}"``."""
        return f"call:{self.call.id}:{self.call.event}"

    @property
    def call_id(self) -> str:
        """The call id (``wacid.…``) to pass to accept/reject/terminate."""
        return self.call.id

    @property
    def event(self) -> str:
        """``connect`` or ``terminate``."""
        return self.call.event

    @property
    def user(self) -> str | None:
        """The user's number: the caller of a user-initiated call, the callee of a business-initiated one."""
        return self.call.from_ if self.call.user_initiated else self.call.to

    @property
    def opens_service_window(self) -> bool:
        """True when this event opens the 24-hour customer-service window, like an incoming message.

        A user calling the business does; window trackers should count it as the user's last activity.
        """
        return self.call.event == "connect" and self.call.user_initiated


class CallStatusUpdate(u.Update):
    """The ringing state of a business-initiated call."""

    status: CallStatus
    metadata: m.Metadata | None = None

    @property
    def dedup_key(self) -> str | None:
        """``"call:{call_id}:{status}"``."""
        return f"call:{self.status.id}:{self.status.status}"

    @property
    def call_id(self) -> str:
        """The call id (``wacid.…``)."""
        return self.status.id


def parse_calls(ctx: Change, out: list[u.Update]) -> None:
    """The ``calls`` field parser: one update per call event and per call status."""
    metadata = ctx.metadata()
    events = items(ctx, "calls", out)
    statuses = items(ctx, "statuses", out)
    if events is None and statuses is None:
        out.append(ctx.raw(ctx.value, "calls change without calls or statuses"))
        return
    people = contacts(ctx.value.get("contacts"))
    for item in events or []:
        try:
            event = CallEvent.model_validate(item)
        except ValidationError as exc:
            out.append(ctx.raw(item, f"call event: {why(exc)}"))
            continue
        # The user is the caller of a user-initiated call and the callee of a business-initiated one.
        user = event.from_ if event.user_initiated else event.to
        contact = next((c for c in people if c.wa_id and c.wa_id == user), people[0] if len(people) == 1 else None)
        out.append(CallUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=item, call=event,
                              metadata=metadata, contact=contact))
    for item in statuses or []:
        try:
            status = CallStatus.model_validate(item)
        except ValidationError as exc:
            out.append(ctx.raw(item, f"call status: {why(exc)}"))
            continue
        out.append(CallStatusUpdate(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=item,
                                    status=status, metadata=metadata))


#: The fields this module parses, for ``parsing._FIELDS``.
FIELDS: dict[str, FieldParser] = {"calls": parse_calls}
