"""The send envelope (recipient, reply context, callback data) and the mark-as-read body."""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import SkipValidation, StrictBool, model_validator

from wacloud.errors import ValidationError
from wacloud.identity import is_bsuid

from ._base import WaModel, check_length, check_not_blank, shortcuts
from .commerce import CallPermissionRequest, Catalog, OrderDetails, OrderStatus, Product, ProductList
from .contacts import Contacts
from .groups import check_group_message
from .interactive import CtaUrl, FlowMessage, ListMessage, LocationRequest, ReplyButtons
from .location import Location
from .media import Audio, Document, Image, Sticker, Video
from .reaction import Reaction
from .template import Template
from .text import Text

#: Every content model; ``SendRequest.message`` is one of these.
Message = (
    Text | Image | Video | Audio | Document | Sticker | Location | Contacts | Reaction
    | ReplyButtons | ListMessage | CtaUrl | LocationRequest | FlowMessage
    | Product | ProductList | Catalog | OrderDetails | OrderStatus | CallPermissionRequest
    | Template
)
MESSAGE_TYPES: tuple[type[WaModel], ...] = (
    Text, Image, Video, Audio, Document, Sticker, Location, Contacts, Reaction,
    ReplyButtons, ListMessage, CtaUrl, LocationRequest, FlowMessage,
    Product, ProductList, Catalog, OrderDetails, OrderStatus, CallPermissionRequest,
    Template,
)

# What people type into a phone field: digits with an optional "+", spaces, dashes, dots, brackets.
_PHONE_CHARS = re.compile(r"^\+?[0-9 ().\-]+$")


class SendRequest(WaModel):
    """One send: ``SendRequest(to="+16505551234", message=Text("hi"))``; ``to_graph()`` is the body.

    ``to`` is checked only for shape (a phone number's characters and digit count, or any group id);
    turning what a user typed into E.164 is :mod:`wacloud.phone`'s job. A customer known only by a
    business-scoped user id (BSUID, ``US.1349…``, or a parent one, ``US.ENT.1181…``) is addressed with
    ``recipient`` instead; a BSUID given positionally (``SendRequest("US.1349…", Text("hi"))``) goes there.
    Meta takes both at once (``to`` then wins), so both are kept when both are given.
    """

    to: str | None = None
    recipient: str | None = None
    message: SkipValidation[Message]
    recipient_type: Literal["individual", "group"] = "individual"
    context_message_id: str | None = None
    biz_opaque_callback_data: str | None = None

    @shortcuts
    def __init__(self, to: str | None = None, message: Message | None = None, /, **data: Any) -> None:
        if to is not None:
            data["recipient" if is_bsuid(to) and data.get("recipient_type") != "group" else "to"] = to
        if message is not None:
            data["message"] = message
        super().__init__(**data)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not isinstance(self.message, MESSAGE_TYPES):
            raise ValidationError("message", f"must be a message model, not {type(self.message).__name__}")
        if self.to is None and self.recipient is None:
            raise ValidationError("to", "is required: a phone number in \"to\", or a BSUID in \"recipient\"")
        if self.recipient is not None:
            check_recipient(self.recipient, self.recipient_type)
        if self.to is not None:
            self._check_to(self.to)
        check_not_blank("context_message_id", self.context_message_id)
        check_length("biz_opaque_callback_data", self.biz_opaque_callback_data, "biz_opaque_callback_data")
        return self

    def _check_to(self, to: str) -> None:
        check_not_blank("to", to)
        if self.recipient_type == "individual":
            if is_bsuid(to):
                raise ValidationError("to", "is a business-scoped user id: send it in \"recipient\", not \"to\"")
            if not _PHONE_CHARS.match(to):
                raise ValidationError("to", "must be a phone number (digits, optionally +, spaces, -, (, ))")
            check_length("to", [c for c in to if c.isdigit()], "to.digits")
        else:
            if _PHONE_CHARS.match(to):
                # A phone number here would be sent as a group id: Meta refuses it, or worse, it names a group.
                raise ValidationError("to", "recipient_type \"group\" needs a group id, not a phone number")
            check_group_message(self.message)

    def to_graph(self) -> dict[str, Any]:
        """The exact JSON body for ``POST /{phone-number-id}/messages``."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": self.recipient_type}
        if self.to is not None:
            body["to"] = self.to
        if self.recipient is not None:
            body["recipient"] = self.recipient
        body.update(self.message.to_graph())
        if self.context_message_id is not None:
            body["context"] = {"message_id": self.context_message_id}
        if self.biz_opaque_callback_data is not None:
            body["biz_opaque_callback_data"] = self.biz_opaque_callback_data
        return body


def check_recipient(recipient: object, recipient_type: str = "individual") -> None:
    """The rules of a ``recipient`` (BSUID) address; raises :class:`ValidationError` naming ``recipient``.

    Meta takes a BSUID or a parent BSUID there, for one user: a group is addressed by its id in ``to``.
    """
    if not isinstance(recipient, str):
        raise ValidationError("recipient", f"must be a string, not {type(recipient).__name__}")
    check_not_blank("recipient", recipient)
    if recipient_type != "individual":
        raise ValidationError("recipient", "addresses one user by BSUID; a group is addressed by its id in \"to\"")
    if not is_bsuid(recipient):
        raise ValidationError("recipient", f"{recipient[:40]!r} is not a business-scoped user id "
                                           "(CC.digits, or CC.ENT.digits for a parent id)")


class MarkRead(WaModel):
    """Mark a received message read, optionally showing a typing indicator (up to 25 s)."""

    message_id: str
    typing: StrictBool = False

    @shortcuts
    def __init__(self, message_id: str | None = None, /, **data: Any) -> None:
        if message_id is not None:
            data["message_id"] = message_id
        super().__init__(**data)

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_not_blank("message_id", self.message_id)
        return self

    def to_graph(self) -> dict[str, Any]:
        """``{"messaging_product": "whatsapp", "status": "read", "message_id": ..., "typing_indicator"?}``."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "status": "read",
                                "message_id": self.message_id}
        if self.typing:
            body["typing_indicator"] = {"type": "text"}
        return body
