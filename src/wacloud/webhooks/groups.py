"""The four Groups API webhook fields, typed.

* ``group_lifecycle_update``: a group was created (with its invite link) or deleted, or that failed.
* ``group_participants_update``: someone joined by invite link, asked to join or withdrew the request,
  left, or was removed (with per-participant failures).
* ``group_settings_update``: the subject, description or photo changed (each with its own success flag).
* ``group_status_update``: WhatsApp suspended the group, or lifted the suspension.

Every update is a :class:`~wacloud.webhooks.updates.GroupUpdate` subclass, so handlers written for
``GroupUpdate`` keep receiving them.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, model_validator

import wacloud.webhooks.models as m
import wacloud.webhooks.updates as u
from wacloud.webhooks.changes import Change, FieldParser, items, why


class FailedParticipant(m.GroupParticipant):
    """A participant an operation could not apply to, with Meta's errors."""

    errors: list[m.WebhookError] = Field(default_factory=list)


class SettingChange(m.WebhookModel):
    """One changed setting (``group_subject``, ``group_description``) and whether the change took."""

    text: str | None = None
    update_successful: bool | None = None
    errors: list[m.WebhookError] = Field(default_factory=list)


class GroupLifecycleEvent(m.GroupEvent):
    """``group_create`` / ``group_delete``; ``errors`` say why it failed (``group_id`` is "" if none was made)."""

    invite_link: str | None = None
    join_approval_mode: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_group_yet(cls, data: Any) -> Any:
        # A failed create has no group to name; keep the event (and its errors) rather than drop it.
        if isinstance(data, dict) and data.get("group_id") is None and data.get("errors"):
            return {**data, "group_id": ""}
        return data

    @property
    def succeeded(self) -> bool:
        """True when the create or delete went through."""
        return not self.errors


class GroupParticipantsEvent(m.GroupEvent):
    """Joins (``group_participants_add``), removals/leaves (``group_participants_remove``) and join requests."""

    reason: str | None = None
    initiated_by: str | None = None
    join_request_id: str | None = None
    wa_id: str | None = None
    failed_participants: list[FailedParticipant] = Field(default_factory=list)


class GroupSettingsEvent(m.GroupEvent):
    """``group_settings_update``: which of subject, description and photo changed, and whether it worked."""

    group_subject: SettingChange | None = None
    group_description: SettingChange | None = None


class GroupStatusEvent(m.GroupEvent):
    """``group_suspend`` or ``group_suspend_cleared``."""

    @property
    def suspended(self) -> bool:
        """True when the group is now suspended."""
        return self.type == "group_suspend"


class GroupLifecycleUpdate(u.GroupUpdate):
    """``group_lifecycle_update``."""

    group: GroupLifecycleEvent


class GroupParticipantsUpdate(u.GroupUpdate):
    """``group_participants_update``."""

    group: GroupParticipantsEvent

    @property
    def dedup_key(self) -> str | None:
        """The request id, or for user-driven events (no request id) the join request / user and time."""
        g = self.group
        if g.request_id:
            return f"group:{g.group_id}:{g.type}:{g.request_id}"
        who = g.join_request_id or g.wa_id or ",".join(p.wa_id or "" for p in g.added_participants
                                                       + g.removed_participants)
        stamp = int(g.timestamp.timestamp()) if g.timestamp else None
        return f"group:{g.group_id}:{g.type}:{who}:{stamp}" if who and stamp is not None else None


class GroupSettingsUpdate(u.GroupUpdate):
    """``group_settings_update``."""

    group: GroupSettingsEvent


class GroupStatusUpdate(u.GroupUpdate):
    """``group_status_update``."""

    group: GroupStatusEvent

    @property
    def dedup_key(self) -> str | None:
        """``"group:{group_id}:{type}:{timestamp}"`` (suspensions carry no request id)."""
        g = self.group
        return f"group:{g.group_id}:{g.type}:{int(g.timestamp.timestamp())}" if g.timestamp else None


_KINDS: dict[str, tuple[type[u.GroupUpdate], type[m.GroupEvent]]] = {
    "group_lifecycle_update": (GroupLifecycleUpdate, GroupLifecycleEvent),
    "group_participants_update": (GroupParticipantsUpdate, GroupParticipantsEvent),
    # The OpenAPI spec's enum spells it without the s; Meta's webhook pages with it.
    "group_participant_update": (GroupParticipantsUpdate, GroupParticipantsEvent),
    "group_settings_update": (GroupSettingsUpdate, GroupSettingsEvent),
    "group_status_update": (GroupStatusUpdate, GroupStatusEvent),
}


def parse_groups(ctx: Change, out: list[u.Update]) -> None:
    """The group_* field parser: one typed update per ``groups[]`` item."""
    update_cls, event_cls = _KINDS[ctx.field]
    groups = items(ctx, "groups", out)
    if groups is None:
        out.append(ctx.raw(ctx.value, f"{ctx.field} change without groups"))
        return
    metadata = ctx.metadata()
    for item in groups:
        try:
            group = event_cls.model_validate(item)
        except ValidationError as exc:
            out.append(ctx.raw(item, f"group event: {why(exc)}"))
            continue
        out.append(update_cls(field=ctx.field, waba_id=ctx.waba_id, time=ctx.time, raw=item, group=group,
                              metadata=metadata))


#: The fields this module parses, for ``parsing._FIELDS``.
FIELDS: dict[str, FieldParser] = dict.fromkeys(_KINDS, parse_groups)
