"""Pydantic models of what Meta's webhooks carry: incoming messages, statuses, errors and account events.

Field names are the API's own, except ``from``: a message's ``from`` (the sender's phone number, absent
for a customer who reaches the business by username only) is ``phone``, and ``from_`` is the sender's
address, the phone number or else the business-scoped user id (``from_user_id``).
Every model keeps keys it does not know (``extra="allow"``), so a field Meta adds tomorrow is still
reachable as an attribute and in ``model_dump()``. Timestamps (Unix seconds, sent as strings) become
timezone-aware UTC datetimes; the untouched JSON stays on the update's ``raw``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import ConfigDict, Field, model_validator

# Re-exported: these names have always been importable from this module.
from wacloud._deprecation import renamed
from wacloud.webhooks.account_updates import AccountEvent as AccountEvent
from wacloud.webhooks.account_updates import PhoneNumberQuality as PhoneNumberQuality
from wacloud.webhooks.account_updates import TemplateCategory as TemplateCategory
from wacloud.webhooks.account_updates import TemplateQuality as TemplateQuality
from wacloud.webhooks.account_updates import TemplateStatus as TemplateStatus
from wacloud.webhooks.base import ErrorData as ErrorData
from wacloud.webhooks.base import Metadata as Metadata
from wacloud.webhooks.base import Profile as Profile
from wacloud.webhooks.base import WebhookContact as WebhookContact
from wacloud.webhooks.base import WebhookError as WebhookError
from wacloud.webhooks.base import WebhookModel as WebhookModel
from wacloud.webhooks.identity import Identity
from wacloud.webhooks.payments import PaymentInfo

# --- Incoming message content ---------------------------------------------------------------------


class Text(WebhookModel):
    """``text`` of a text message."""

    body: str


class Media(WebhookModel):
    """An incoming media object (image, video, audio, document, sticker)."""

    id: str
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    voice: bool | None = None
    animated: bool | None = None
    url: str | None = None


class Location(WebhookModel):
    """A shared location (a live/current location carries only the coordinates)."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ContactName(WebhookModel):
    """``name`` of a shared contact card."""

    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    prefix: str | None = None


class ContactPhone(WebhookModel):
    """A phone entry of a shared contact card (``type`` is free text, e.g. CELL, MOBILE)."""

    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class ContactEmail(WebhookModel):
    """An email entry of a shared contact card."""

    email: str | None = None
    type: str | None = None


class ContactUrl(WebhookModel):
    """A URL entry of a shared contact card."""

    url: str | None = None
    type: str | None = None


class ContactAddress(WebhookModel):
    """A postal address of a shared contact card."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: str | None = None


class ContactOrg(WebhookModel):
    """``org`` of a shared contact card."""

    company: str | None = None
    department: str | None = None
    title: str | None = None


class ContactCard(WebhookModel):
    """One shared contact (``contacts[]`` of a contacts message)."""

    name: ContactName | None = None
    phones: list[ContactPhone] = Field(default_factory=list)
    emails: list[ContactEmail] = Field(default_factory=list)
    urls: list[ContactUrl] = Field(default_factory=list)
    addresses: list[ContactAddress] = Field(default_factory=list)
    org: ContactOrg | None = None
    birthday: str | None = None


class Button(WebhookModel):
    """A template quick-reply tap: the button's ``text`` and the ``payload`` set on the template."""

    payload: str | None = None
    text: str | None = None


class ButtonReply(WebhookModel):
    """``interactive.button_reply``: the reply button the user tapped."""

    id: str
    title: str | None = None


class ListReply(WebhookModel):
    """``interactive.list_reply``: the list row the user chose."""

    id: str
    title: str | None = None
    description: str | None = None


class NfmReply(WebhookModel):
    """``interactive.nfm_reply``: a completed Flow; ``response_json`` is a JSON string."""

    name: str | None = None
    body: str | None = None
    response_json: str | None = None

    def response(self) -> dict[str, Any]:
        """``response_json`` decoded (an empty dict when missing or not a JSON object)."""
        import json

        try:
            data = json.loads(self.response_json or "{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}


class CallPermissionReply(WebhookModel):
    """``interactive.call_permission_reply``: the user allowed (``accept``) or refused business calls."""

    response: str
    is_permanent: bool | None = None
    #: Until when a temporary permission lasts.
    expiration_timestamp: datetime | None = None
    #: ``user_action`` or ``automatic``.
    response_source: str | None = None


class Interactive(WebhookModel):
    """The ``interactive`` object of a reply to an interactive message."""

    type: str
    button_reply: ButtonReply | None = None
    list_reply: ListReply | None = None
    nfm_reply: NfmReply | None = None
    call_permission_reply: CallPermissionReply | None = None


class Reaction(WebhookModel):
    """A reaction; an empty or missing ``emoji`` means the user removed their reaction."""

    message_id: str | None = None
    emoji: str | None = None


class ProductItem(WebhookModel):
    """One line of an order."""

    product_retailer_id: str | None = None
    quantity: int | None = None
    item_price: float | None = None
    currency: str | None = None


class Order(WebhookModel):
    """An order sent from a catalog / cart."""

    catalog_id: str | None = None
    text: str | None = None
    product_items: list[ProductItem] = Field(default_factory=list)


class System(WebhookModel):
    """A system message: ``user_changed_number`` (new ``wa_id``) or ``customer_identity_changed``."""

    body: str | None = None
    type: str | None = None
    wa_id: str | None = None
    identity: str | None = None
    customer: str | None = None


class ReferredProduct(WebhookModel):
    """The product a "Message business" inquiry refers to."""

    catalog_id: str | None = None
    product_retailer_id: str | None = None


class Context(WebhookModel):
    """``context``: the quoted message of a reply, forward flags, or the product of an inquiry."""

    from_: str | None = Field(default=None, alias="from")
    id: str | None = None
    forwarded: bool | None = None
    frequently_forwarded: bool | None = None
    referred_product: ReferredProduct | None = None


class WelcomeMessage(WebhookModel):
    """The greeting of a click-to-WhatsApp ad."""

    text: str | None = None


class Referral(WebhookModel):
    """Where a conversation came from (click-to-WhatsApp ad or post)."""

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    body: str | None = None
    headline: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None
    welcome_message: WelcomeMessage | None = None


class Revoke(WebhookModel):
    """A message the user deleted."""

    original_message_id: str | None = None


class Unsupported(WebhookModel):
    """``unsupported``: what kind of message WhatsApp could not pass on (poll, edit, …)."""

    type: str | None = None


# --- Incoming messages --------------------------------------------------------------------------


class IncomingMessage(WebhookModel):
    """Keys every incoming message has; subclasses add the content of their ``type``."""

    #: The ``type`` values this class stands for.
    types: ClassVar[tuple[str, ...]] = ()

    #: ``from``: the sender's phone number; None for a customer who uses a username and hides it.
    phone: str | None = Field(default=None, alias="from")
    id: str
    timestamp: datetime
    type: str
    context: Context | None = None
    referral: Referral | None = None
    errors: list[WebhookError] = Field(default_factory=list)
    #: The sender's business-scoped user id (BSUID), sent since April 2026.
    from_user_id: str | None = None

    @model_validator(mode="after")
    def _has_a_sender(self) -> IncomingMessage:
        # A message must say who sent it: by phone number, by BSUID, or both.
        if not self.phone and not self.from_user_id:
            raise ValueError("message has neither 'from' nor 'from_user_id'")
        return self

    @property
    def from_(self) -> str:
        """The sender's address: the phone number (``from``), else the BSUID (``from_user_id``)."""
        return self.phone or self.from_user_id or ""


class TextMessage(IncomingMessage):
    """A text message."""

    types = ("text",)
    text: Text


class ImageMessage(IncomingMessage):
    """An image (``image.caption`` optional)."""

    types = ("image",)
    image: Media


class VideoMessage(IncomingMessage):
    """A video."""

    types = ("video",)
    video: Media


class AudioMessage(IncomingMessage):
    """An audio file or a voice note (``audio.voice`` true)."""

    types = ("audio",)
    audio: Media


class DocumentMessage(IncomingMessage):
    """A document (``document.filename``)."""

    types = ("document",)
    document: Media


class StickerMessage(IncomingMessage):
    """A sticker (``sticker.animated``)."""

    types = ("sticker",)
    sticker: Media


class LocationMessage(IncomingMessage):
    """A shared location."""

    types = ("location",)
    location: Location


class ContactsMessage(IncomingMessage):
    """One or more shared contact cards."""

    types = ("contacts",)
    contacts: list[ContactCard]


class ButtonMessage(IncomingMessage):
    """A tap on a template's quick-reply button (not an interactive reply button)."""

    types = ("button",)
    button: Button


class InteractiveMessage(IncomingMessage):
    """A reply to an interactive message: button_reply, list_reply or nfm_reply (Flow completion)."""

    types = ("interactive",)
    interactive: Interactive


class ReactionMessage(IncomingMessage):
    """A reaction to a message (or its removal)."""

    types = ("reaction",)
    reaction: Reaction


class OrderMessage(IncomingMessage):
    """An order placed from a catalog."""

    types = ("order",)
    order: Order


class SystemMessage(IncomingMessage):
    """A system notice (the user changed number or identity)."""

    types = ("system",)
    system: System
    #: ``customer_identity_changed``: the customer's new security identity (message level, not in ``system``).
    identity: Identity | None = None


class UnsupportedMessage(IncomingMessage):
    """A message WhatsApp does not pass on (``type`` unsupported/unknown, reason in ``errors``)."""

    types = ("unsupported", "unknown")
    unsupported: Unsupported | None = None


class FailedMessage(IncomingMessage):
    """A message of a known type that arrived without its content object, only ``errors`` saying why
    (e.g. media too large to download, 131052). The parser uses it instead of dropping the message."""

    types = ()


class RequestWelcomeMessage(IncomingMessage):
    """The user opened the chat for the first time (a welcome-message trigger)."""

    types = ("request_welcome",)


class EphemeralMessage(IncomingMessage):
    """A disappearing message, whose content is not delivered to the API."""

    types = ("ephemeral",)


class RevokeMessage(IncomingMessage):
    """The user deleted one of their messages (``revoke.original_message_id``)."""

    types = ("revoke",)
    revoke: Revoke


class Edit(WebhookModel):
    """``edit``: which message was edited and its new content (a message object without ids)."""

    original_message_id: str | None = None
    message: dict[str, Any] = {}


class EditMessage(IncomingMessage):
    """The user edited one of their messages; :meth:`edited` gives the new content typed."""

    types = ("edit",)
    edit: Edit

    def edited(self) -> IncomingMessage | None:
        """The new content as a typed message (None when its type is unknown or it is malformed)."""
        content = self.edit.message
        cls = MESSAGE_TYPES.get(str(content.get("type")))
        if cls is None or cls is EditMessage:
            return None
        try:
            return cls.model_validate(
                {"from": self.phone, "from_user_id": self.from_user_id,
                 "id": self.edit.original_message_id or self.id, "timestamp": self.timestamp, **content}
            )
        except ValueError:
            return None


#: ``type`` → model. Types not in this table come back as :class:`~wacloud.webhooks.RawUpdate`.
MESSAGE_TYPES: dict[str, type[IncomingMessage]] = {
    t: cls
    for cls in (
        TextMessage, ImageMessage, VideoMessage, AudioMessage, DocumentMessage, StickerMessage,
        LocationMessage, ContactsMessage, ButtonMessage, InteractiveMessage, ReactionMessage,
        OrderMessage, SystemMessage, UnsupportedMessage, RequestWelcomeMessage, EphemeralMessage,
        RevokeMessage, EditMessage,
    )
    for t in cls.types
}

#: Message types whose content is a :class:`Media` object under the key of the same name.
MEDIA_TYPES: frozenset[str] = frozenset({"image", "video", "audio", "document", "sticker"})


class MessageEcho(IncomingMessage):
    """``smb_message_echoes``: a message the business sent from the WhatsApp Business app.

    ``phone`` (``from``) is the business number; ``to`` the customer's phone number (the customer's
    BSUID comes in the change's ``contacts``).
    """

    to: str | None = None


# --- Statuses -------------------------------------------------------------------------------------


class ConversationOrigin(WebhookModel):
    """``conversation.origin`` (frozen: equal ones are one shared instance in parsed updates)."""

    model_config = ConfigDict(frozen=True)

    type: str | None = None


class Conversation(WebhookModel):
    """The billing conversation of a status (left out from v24.0 outside free-entry-point windows)."""

    id: str | None = None
    expiration_timestamp: datetime | None = None
    origin: ConversationOrigin | None = None


class Pricing(WebhookModel):
    """How the message is billed (frozen: equal ones are one shared instance in parsed updates)."""

    model_config = ConfigDict(frozen=True)

    billable: bool | None = None
    pricing_model: str | None = None
    type: str | None = None
    category: str | None = None


class Status(WebhookModel):
    """``value.statuses[]``: sent, delivered, read, played or failed (``errors`` say why)."""

    id: str
    status: str
    timestamp: datetime
    #: The customer's phone number; absent when the message was sent to a username-only customer's BSUID.
    recipient_id: str | None = None
    #: The customer's business-scoped user id (BSUID), sent since April 2026.
    recipient_user_id: str | None = None
    recipient_type: str | None = None
    recipient_participant_id: str | None = None
    group_id: str | None = None
    biz_opaque_callback_data: str | None = None
    conversation: Conversation | None = None
    pricing: Pricing | None = None
    errors: list[WebhookError] = Field(default_factory=list)
    #: The recipient as a contact (BSUID-era statuses carry it; Meta leaves it out of ``failed`` ones).
    contacts: list[WebhookContact] = Field(default_factory=list)
    #: ``payment`` for the status of a payment (then ``status`` is pending, captured or failed).
    type: str | None = None
    payment: PaymentInfo | None = None


# --- Other fields -------------------------------------------------------------------------------


class UserPreference(WebhookModel):
    """``user_preferences[]``: a user stopped (``value`` "stop") or resumed marketing messages."""

    #: The user's phone number (their BSUID is in the change's ``contacts``).
    wa_id: str | None = None
    detail: str | None = None
    category: str | None = None
    value: str
    timestamp: datetime | None = None


class GroupParticipant(WebhookModel):
    """A participant added to or removed from a group."""

    input: str | None = None
    wa_id: str | None = None


class GroupPhoto(WebhookModel):
    """``profile_picture`` of a group settings event: the new photo and whether setting it worked."""

    mime_type: str | None = None
    sha256: str | None = None
    update_successful: bool | None = None
    errors: list[WebhookError] = Field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        """``photo["mime_type"]``: code written when this was a plain dict keeps working."""
        return getattr(self, key)


class GroupEvent(WebhookModel):
    """``groups[]`` of the group_* fields: created, deleted, settings changed, participants changed."""

    timestamp: datetime | None = None
    group_id: str
    type: str
    request_id: str | None = None
    subject: str | None = None
    description: str | None = None
    added_participants: list[GroupParticipant] = Field(default_factory=list)
    removed_participants: list[GroupParticipant] = Field(default_factory=list)
    profile_picture: GroupPhoto | None = None
    errors: list[WebhookError] = Field(default_factory=list)


#: Old names kept for one release: ``Contact`` is the message type in :mod:`wacloud.messages`.
_RENAMED = {"Contact": "WebhookContact"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals().__getitem__)
