"""The updates a webhook payload is split into: one per message, status, error or account event.

Every update knows where it came from (``field``, ``waba_id``, ``metadata``), keeps the JSON it was
parsed from (``raw``) and has a ``dedup_key`` (the message id, or ``"{status_id}:{status}"``) for
at-least-once delivery. A :class:`MessageUpdate` bound to a client (the bot framework does it) has
shortcuts: ``reply_text``, ``reply``, ``react``, ``mark_as_read``, ``typing`` and ``media.download``.
With a :class:`~wacloud.Client` they return results; with an :class:`~wacloud.AsyncClient`, awaitables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

import wacloud.webhooks.account_updates as a
import wacloud.webhooks.coexistence as co
import wacloud.webhooks.models as m
from wacloud.errors import ValidationError
from wacloud.webhooks.identity import UserIdentity
from wacloud.webhooks.replies import ReplySender


class NotBoundError(RuntimeError):
    """A shortcut was used on an update that has no client (parse() alone does not bind one)."""


class Update(BaseModel):
    """Base of every update."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    #: ``changes[].field`` the update came from ("messages", "message_template_status_update"…).
    field: str | None = None
    #: ``entry[].id``: the WhatsApp Business Account id.
    waba_id: str | None = None
    #: ``entry[].time`` when Meta sends it (non-message fields).
    time: datetime | None = None
    #: The JSON this update was parsed from (a message, a status, a change value…).
    raw: Any = None

    #: The client shortcuts use (set by :meth:`bind`; not part of the data, so never dumped or shown).
    bound_client: Any = Field(default=None, exclude=True, repr=False)
    #: Where the reply shortcuts send (set by :meth:`bind`; the client when unset).
    bound_replies: Any = Field(default=None, exclude=True, repr=False)

    @property
    def dedup_key(self) -> str | None:
        """Key for duplicate suppression, or None when this kind of update is not deduplicated."""
        return None

    @property
    def update_id(self) -> str:
        """A short id for logs: the dedup key, or the field and account."""
        return self.dedup_key or f"{self.field}@{self.waba_id}"

    @property
    def client(self) -> Any:
        """The client shortcuts use; raises :class:`NotBoundError` when none is bound."""
        if self.bound_client is None:
            raise NotBoundError(
                f"{type(self).__name__} has no client; bind one with update.bind(client) "
                "(the Application does this for its handlers)"
            )
        return self.bound_client

    def bind(self, client: Any, replies: ReplySender | None = None) -> Update:
        """Attach the client the shortcuts use (and what replies go through, else the client); returns self."""
        self.bound_client = client
        self.bound_replies = replies
        return self

    @property
    def replies(self) -> ReplySender:
        """What the reply shortcuts send through: the bound :class:`ReplySender`, else the client."""
        replies: ReplySender = self.bound_replies if self.bound_replies is not None else self.client
        return replies


class BoundMedia:
    """An incoming media object plus the client to fetch it with."""

    __slots__ = ("_client", "_extra", "info")

    def __init__(self, info: m.Media, client: Any, extra: dict[str, Any] | None = None) -> None:
        self.info = info
        self._client = client
        self._extra = extra or {}

    @property
    def id(self) -> str:
        """The media id (valid 7 days for webhook media)."""
        return self.info.id

    @property
    def mime_type(self) -> str | None:
        """The MIME type Meta reported."""
        return self.info.mime_type

    def url(self) -> Any:
        """``client.media_url(id)``: a download URL valid 5 minutes (or an awaitable of it)."""
        return self._require().media_url(self.info.id, **self._extra)

    def download(self, to: Any = None) -> Any:
        """``client.download(id, to=to)``: the bytes, or the path written (sha256 checked by the client)."""
        return self._require().download(self.info.id, to=to, **self._extra)

    def _require(self) -> Any:
        if self._client is None:
            raise NotBoundError("this media object has no client; the update was not bound to one")
        return self._client

    def __repr__(self) -> str:
        return f"BoundMedia(id={self.info.id!r}, mime_type={self.info.mime_type!r})"


class MessageUpdate(Update):
    """An incoming message from a customer."""

    message: m.IncomingMessage
    contact: m.WebhookContact | None = None
    metadata: m.Metadata | None = None

    @property
    def dedup_key(self) -> str | None:
        """The message id."""
        return self.message.id

    @property
    def id(self) -> str:
        """The message id (``wamid...``)."""
        return self.message.id

    @property
    def type(self) -> str:
        """The message ``type``."""
        return self.message.type

    @property
    def from_(self) -> str:
        """The sender's address: their number as sent in ``from``, else their BSUID (username-only customers)."""
        return self.message.from_

    @property
    def wa_id(self) -> str:
        """The sender's WhatsApp id (from ``contacts``, else ``from``; the BSUID when there is no number)."""
        if self.contact is not None and self.contact.wa_id:
            return self.contact.wa_id
        return self.message.from_

    @property
    def phone(self) -> str | None:
        """The sender's phone number, or None for a customer who reached the business by username only."""
        return self.sender.wa_id

    @property
    def user_id(self) -> str | None:
        """The sender's business-scoped user id (``from_user_id``, else ``contacts[].user_id``)."""
        return self.sender.user_id

    @property
    def username(self) -> str | None:
        """The sender's WhatsApp username, when they adopted one."""
        return self.sender.username

    @property
    def sender(self) -> UserIdentity:
        """Everything known about the sender: phone, BSUID, parent BSUID, username, name."""
        return UserIdentity.of(self.contact, wa_id=self.message.phone, user_id=self.message.from_user_id)

    @property
    def name(self) -> str | None:
        """The sender's profile name, when Meta sent it."""
        return self.contact.profile.name if self.contact and self.contact.profile else None

    @property
    def text(self) -> str | None:
        """The text of a text message, or the caption of a media message."""
        msg = self.message
        if isinstance(msg, m.TextMessage):
            return msg.text.body
        media = self.media_info
        return media.caption if media is not None else None

    @property
    def media_info(self) -> m.Media | None:
        """The media object of an image/video/audio/document/sticker message."""
        if self.message.type in m.MEDIA_TYPES:
            media = getattr(self.message, self.message.type, None)
            if isinstance(media, m.Media):
                return media
        return None

    @property
    def interactive_type(self) -> str | None:
        """``button_reply``, ``list_reply``, ``nfm_reply`` (interactive replies) or ``button`` (template)."""
        msg = self.message
        if isinstance(msg, m.InteractiveMessage):
            return msg.interactive.type
        if isinstance(msg, m.ButtonMessage):
            return "button"
        return None

    @property
    def button_id(self) -> str | None:
        """The tapped reply button's id, or a template quick-reply's payload."""
        msg = self.message
        if isinstance(msg, m.InteractiveMessage) and msg.interactive.button_reply is not None:
            return msg.interactive.button_reply.id
        if isinstance(msg, m.ButtonMessage):
            return msg.button.payload
        return None

    @property
    def list_reply(self) -> m.ListReply | None:
        """The chosen list row."""
        msg = self.message
        return msg.interactive.list_reply if isinstance(msg, m.InteractiveMessage) else None

    @property
    def flow_reply(self) -> m.NfmReply | None:
        """The completed Flow's reply (``response()`` decodes ``response_json``)."""
        msg = self.message
        return msg.interactive.nfm_reply if isinstance(msg, m.InteractiveMessage) else None

    @property
    def reaction(self) -> m.Reaction | None:
        """The reaction of a reaction message."""
        msg = self.message
        return msg.reaction if isinstance(msg, m.ReactionMessage) else None

    @property
    def reply_to_id(self) -> str | None:
        """The id of the message this one quotes (``context.id``)."""
        ctx = self.message.context
        return ctx.id if ctx is not None else None

    # --- shortcuts -------------------------------------------------------------------------------

    def _from_number(self) -> dict[str, Any]:
        # Answer from the business number that received the message (multi-number apps).
        pid = self.metadata.phone_number_id if self.metadata is not None else None
        return {"phone_number_id": pid} if pid else {}

    def _reply_address(self) -> str:
        # By phone when it is known (from ``from`` or ``contacts``), else by BSUID: the client sends a BSUID
        # in ``recipient``, so a username-only customer is answered too.
        return self.sender.address or self.message.from_

    def reply_text(self, body: str, *, quote: bool = False, preview_url: bool = False) -> Any:
        """Send ``body`` to the sender (quoting this message when ``quote``)."""
        return self.replies.send_text(self._reply_address(), body, preview_url=preview_url,
                                     reply_to=self.message.id if quote else None, **self._from_number())

    def reply(self, message: Any, *, quote: bool = False) -> Any:
        """Send any outgoing message model to the sender."""
        return self.replies.send(self._reply_address(), message, reply_to=self.message.id if quote else None,
                                **self._from_number())

    def react(self, emoji: str) -> Any:
        """React to this message with ``emoji``."""
        self._not_in_group("reacting")
        return self.replies.react(self._reply_address(), self.message.id, emoji, **self._from_number())

    @property
    def group_id(self) -> str | None:
        """The group the message was sent in (None for a one-to-one message)."""
        value = (self.message.model_extra or {}).get("group_id")
        return str(value) if value else None

    def _not_in_group(self, what: str) -> None:
        # Groups have no read receipts or typing indicators; refuse before calling the API.
        if self.group_id is not None:
            raise ValidationError("message_id", f"{what} is not available for messages in a group")

    def mark_as_read(self, *, typing: bool = False) -> Any:
        """Mark this message read (and show the typing indicator when ``typing``)."""
        self._not_in_group("marking as read")
        return self.client.mark_as_read(self.message.id, typing=typing, **self._from_number())

    def typing(self) -> Any:
        """Mark read and show the typing indicator (up to 25 s or until the reply)."""
        self._not_in_group("the typing indicator")
        return self.client.typing(self.message.id, **self._from_number())

    @property
    def media(self) -> BoundMedia | None:
        """The media of this message with ``download()``/``url()`` bound to the client."""
        info = self.media_info
        return BoundMedia(info, self.bound_client, self._from_number()) if info is not None else None


class StatusUpdate(Update):
    """The status of a message the business sent: sent, delivered, read, played or failed."""

    status: m.Status
    metadata: m.Metadata | None = None
    #: The recipient, when the payload carries ``contacts`` (BSUID-era statuses do).
    contact: m.WebhookContact | None = None

    @property
    def dedup_key(self) -> str | None:
        """``"{status_id}:{status}"``."""
        return f"{self.status.id}:{self.status.status}"

    @property
    def id(self) -> str:
        """The wamid of the sent message."""
        return self.status.id

    @property
    def errors(self) -> list[m.WebhookError]:
        """Why the message failed (empty unless failed)."""
        return self.status.errors

    @property
    def recipient(self) -> UserIdentity:
        """Everything known about the recipient: phone (``recipient_id``), BSUID, parent BSUID, username."""
        return UserIdentity.of(self.contact, wa_id=self.status.recipient_id, user_id=self.status.recipient_user_id)


class ErrorUpdate(Update):
    """A value-level error (system, app or account problems), outside any message or status."""

    error: m.WebhookError
    metadata: m.Metadata | None = None


class ValueUpdate(Update):
    """An update whose whole change ``value`` is one event (template, account, number quality).

    These carry no event id, so they are not de-duplicated (``dedup_key`` is None): two identical
    events in the same second cannot be told from a redelivery, and handlers of these events are
    naturally idempotent (they record a state).
    """


class TemplateStatusUpdate(ValueUpdate):
    """``message_template_status_update``."""

    value: m.TemplateStatus


class TemplateQualityUpdate(ValueUpdate):
    """``message_template_quality_update``."""

    value: m.TemplateQuality


class TemplateCategoryUpdate(ValueUpdate):
    """``template_category_update``."""

    value: m.TemplateCategory


class AccountUpdate(ValueUpdate):
    """``account_update``."""

    value: m.AccountEvent


class PhoneNumberQualityUpdate(ValueUpdate):
    """``phone_number_quality_update``."""

    value: m.PhoneNumberQuality


class UserPreferencesUpdate(Update):
    """``user_preferences``: a marketing opt-out (``value == "stop"``) or resume."""

    preference: m.UserPreference
    contact: m.WebhookContact | None = None
    metadata: m.Metadata | None = None

    @property
    def user(self) -> UserIdentity:
        """Everything known about the user: phone (``wa_id``), BSUID, parent BSUID, username."""
        return UserIdentity.of(self.contact, wa_id=self.preference.wa_id)

    @property
    def opted_out(self) -> bool:
        """True when the user stopped marketing messages."""
        return self.preference.value.lower() == "stop"

    @property
    def dedup_key(self) -> str | None:
        """``"pref:{wa_id}:{category}:{value}:{timestamp}"`` (None without a timestamp)."""
        pref = self.preference
        if pref.timestamp is None:
            return None
        return f"pref:{pref.wa_id}:{pref.category}:{pref.value}:{int(pref.timestamp.timestamp())}"


class MessageEchoUpdate(Update):
    """``smb_message_echoes``: a message the business sent from the Business app (coexistence)."""

    message: m.MessageEcho
    metadata: m.Metadata | None = None
    #: The customer the business wrote to, when the payload carries ``contacts``.
    contact: m.WebhookContact | None = None

    @property
    def dedup_key(self) -> str | None:
        """``"echo:{id}"``."""
        return f"echo:{self.message.id}"

    @property
    def recipient(self) -> UserIdentity:
        """The customer the business wrote to: phone (``to``), BSUID, parent BSUID, username."""
        return UserIdentity.of(self.contact, wa_id=self.message.to)

    @property
    def content(self) -> m.IncomingMessage | None:
        """The echoed message as the typed model of its ``type`` (``TextMessage``…); None for a type not known."""
        cls = m.MESSAGE_TYPES.get(self.message.type)
        if cls is None or not isinstance(self.raw, dict):
            return None
        try:
            return cls.model_validate(self.raw)
        except ValueError:  # pydantic's ValidationError is a ValueError
            return None


class GroupUpdate(Update):
    """``group_lifecycle_update`` / ``group_settings_update`` / ``group_participants_update``."""

    group: m.GroupEvent
    metadata: m.Metadata | None = None

    @property
    def dedup_key(self) -> str | None:
        """``"group:{group_id}:{type}:{request_id}"`` (None without a request id)."""
        g = self.group
        return f"group:{g.group_id}:{g.type}:{g.request_id}" if g.request_id else None


class TemplateComponentsUpdate(ValueUpdate):
    """``message_template_components_update``: a template was edited."""

    value: a.TemplateComponents


class AccountAlertUpdate(ValueUpdate):
    """``account_alerts``."""

    value: a.AccountAlert


class AccountReviewUpdate(ValueUpdate):
    """``account_review_update``."""

    value: a.AccountReview


class BusinessCapabilityUpdate(ValueUpdate):
    """``business_capability_update``."""

    value: a.BusinessCapability


class PhoneNumberNameUpdate(ValueUpdate):
    """``phone_number_name_update``."""

    value: a.PhoneNumberName


class SecurityUpdate(ValueUpdate):
    """``security``."""

    value: a.SecurityEvent


class PaymentConfigurationUpdate(ValueUpdate):
    """``payment_configuration_update``."""

    value: a.PaymentConfiguration


class FlowUpdate(ValueUpdate):
    """``flows``: a Flow's status change or endpoint health alert (``value.event`` says which)."""

    value: a.FlowEvent


class PartnerSolutionUpdate(ValueUpdate):
    """``partner_solutions``: a Multi-Partner Solution's status changed (``waba_id`` is the portfolio id)."""

    value: a.PartnerSolution


class AutomaticEventUpdate(Update):
    """``automatic_events``: a purchase or lead Meta detected in a Click to WhatsApp ad chat."""

    event: a.AutomaticEvent
    metadata: m.Metadata | None = None

    @property
    def dedup_key(self) -> str | None:
        """``"auto:{message id}:{event_name}"``."""
        return f"auto:{self.event.id}:{self.event.event_name}"


class HistoryUpdate(Update):
    """``history`` (coexistence): one chunk of the Business app's past chats, or the error refusing them.

    Not de-duplicated: a handler stores the chunk's messages by their ids, which is idempotent.
    """

    chunk: co.HistoryChunk
    metadata: m.Metadata | None = None


class StateSyncUpdate(Update):
    """``smb_app_state_sync`` (coexistence): a contact added to or removed from the Business app."""

    item: co.StateSync
    metadata: m.Metadata | None = None


class RawUpdate(Update):
    """Something the parser did not recognise; ``raw`` is the original JSON, ``reason`` says why."""

    reason: str = ""
