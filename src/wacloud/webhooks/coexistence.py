"""Models of the coexistence fields (a number on both the WhatsApp Business app and the Cloud API).

``history`` delivers the app's past chats in chunks after onboarding (or an error when the business
declined to share them); ``smb_app_state_sync`` the app's contact-book changes. Message echoes
(``smb_message_echoes``) are :class:`~wacloud.webhooks.models.MessageEcho`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError

from wacloud.webhooks.base import WebhookError, WebhookModel
from wacloud.webhooks.models import MESSAGE_TYPES, IncomingMessage


class HistoryProgress(WebhookModel):
    """``history[].metadata``: which phase (0-2: day, 90 days, 180 days) and chunk, and how far along (%)."""

    phase: int | None = None
    chunk_order: int | None = None
    progress: int | None = None


class HistoryThread(WebhookModel):
    """One chat of the history: the customer's id and its messages (as Meta sent them)."""

    id: str | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)

    def typed_messages(self) -> list[IncomingMessage]:
        """The messages as typed models (ones of an unknown type or shape are left out)."""
        out: list[IncomingMessage] = []
        for item in self.messages:
            cls = MESSAGE_TYPES.get(str(item.get("type")))
            if cls is None:
                continue
            try:
                out.append(cls.model_validate(item))
            except ValidationError:
                continue
        return out


class HistoryChunk(WebhookModel):
    """``history[]``: one chunk of past chats, or ``errors`` (e.g. the business declined to share)."""

    metadata: HistoryProgress | None = None
    threads: list[HistoryThread] = Field(default_factory=list)
    errors: list[WebhookError] = Field(default_factory=list)


class StateSyncContact(WebhookModel):
    """A contact of the Business app's contact book."""

    full_name: str | None = None
    first_name: str | None = None
    phone_number: str | None = None


class StateSyncMetadata(WebhookModel):
    """``state_sync[].metadata``."""

    timestamp: datetime | None = None


class StateSync(WebhookModel):
    """``state_sync[]``: a contact added to (``action`` add) or removed from (remove) the Business app."""

    type: str
    contact: StateSyncContact | None = None
    action: str | None = None
    metadata: StateSyncMetadata | None = None
