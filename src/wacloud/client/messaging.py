"""Sending messages: send, the per-type shortcuts, replies, reactions, mark-as-read, typing.

Wherever a phone number is accepted, a business-scoped user id (BSUID ``US.1349…`` or parent BSUID
``US.ENT.1181…``) is too: it is sent in the body's ``recipient`` instead of ``to``. Every method
validates everything (recipient, message, limits) before its first request, so an invalid message never
reaches the network. ``reply_to=`` (a wamid) makes any send a quoted reply;
``biz_opaque_callback_data=`` comes back unchanged in the status webhooks of that message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import wacloud.errors as errors
import wacloud.phone as phone
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.models import SentMessage, success
from wacloud.identity import is_bsuid

if TYPE_CHECKING:
    from wacloud.messages import Contact, Header, Message, ReplyButton, Section

RecipientType = Literal["individual", "group"]
Recipient = str | phone.PhoneNumber


class MessagingApi(ApiConfig):
    """Sending messages: send, the per-type shortcuts, replies, reactions, mark-as-read, typing."""

    def recipient(self, to: Recipient, recipient_type: RecipientType = "individual") -> str:
        """The address we send: a phone number in E.164 (see :mod:`wacloud.phone`), a group id as-is,
        or a business-scoped user id (BSUID, ``US.1349…``) as-is, which goes in ``recipient``, not ``to``."""
        if recipient_type == "group":
            if not isinstance(to, str) or not to.strip():
                raise errors.ValidationError("to", "a group id is required")
            return to.strip()
        if isinstance(to, str) and is_bsuid(to.strip()):
            return to.strip()
        return phone.normalize(to, self.default_region).e164

    def _submit(self, to: Recipient, message: Message, reply_to: str | None,
                      biz_opaque_callback_data: str | None, phone_number_id: str | None,
                      recipient_type: RecipientType = "individual") -> Operation[SentMessage]:
        from wacloud.messages import SendRequest

        pid = self.require_phone(phone_number_id)
        request = SendRequest(self.recipient(to, recipient_type), message, recipient_type=recipient_type,
                              context_message_id=reply_to, biz_opaque_callback_data=biz_opaque_callback_data)
        body = yield from call(Request("POST", f"{pid}/messages", json=request.to_graph()))
        return SentMessage.from_graph(body)

    @operation
    def send(self, to: Recipient, message: Message, *, reply_to: str | None = None,
             biz_opaque_callback_data: str | None = None, recipient_type: RecipientType = "individual",
             phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send any message model (``Text``, ``Image``, ``ReplyButtons``, ``Template``…) to ``to``."""
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id,
                                      recipient_type))

    @operation
    def send_body(self, body: Mapping[str, Any], *, phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a raw Graph API send body; it is validated by ``wacloud.messages.parse`` first."""
        from wacloud.messages import parse

        pid = self.require_phone(phone_number_id)
        if not isinstance(body, Mapping):
            raise errors.ValidationError("body", f"must be a JSON object, not {type(body).__name__}")
        request = parse(dict(body))
        answer = yield from call(Request("POST", f"{pid}/messages", json=request.to_graph()))
        return SentMessage.from_graph(answer)

    @operation
    def send_text(self, to: Recipient, body: str, *, preview_url: bool = False, reply_to: str | None = None,
                  biz_opaque_callback_data: str | None = None,
                  phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a text message (up to 4096 characters); ``preview_url`` renders a link preview."""
        from wacloud.messages import Text

        message = Text(body, preview_url=True) if preview_url else Text(body)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_image(self, to: Recipient, media_id: str | None = None, *, link: str | None = None,
                   caption: str | None = None, reply_to: str | None = None,
                   biz_opaque_callback_data: str | None = None,
                   phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send an image by uploaded ``media_id`` or public ``link``, with an optional caption."""
        from wacloud.messages import Image

        message = Image(id=media_id, link=link, caption=caption)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_video(self, to: Recipient, media_id: str | None = None, *, link: str | None = None,
                   caption: str | None = None, reply_to: str | None = None,
                   biz_opaque_callback_data: str | None = None,
                   phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a video by ``media_id`` or ``link``, with an optional caption."""
        from wacloud.messages import Video

        message = Video(id=media_id, link=link, caption=caption)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_audio(self, to: Recipient, media_id: str | None = None, *, link: str | None = None,
                   reply_to: str | None = None, biz_opaque_callback_data: str | None = None,
                   phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send audio by ``media_id`` or ``link`` (audio takes no caption)."""
        from wacloud.messages import Audio

        message = Audio(id=media_id, link=link)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_document(self, to: Recipient, media_id: str | None = None, *, link: str | None = None,
                      caption: str | None = None, filename: str | None = None, reply_to: str | None = None,
                      biz_opaque_callback_data: str | None = None,
                      phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a document by ``media_id`` or ``link``; ``filename`` sets the name (and icon) shown."""
        from wacloud.messages import Document

        message = Document(id=media_id, link=link, caption=caption, filename=filename)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_sticker(self, to: Recipient, media_id: str | None = None, *, link: str | None = None,
                     reply_to: str | None = None, biz_opaque_callback_data: str | None = None,
                     phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a WebP sticker by ``media_id`` or ``link``."""
        from wacloud.messages import Sticker

        message = Sticker(id=media_id, link=link)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_location(self, to: Recipient, latitude: float, longitude: float, *, name: str | None = None,
                      address: str | None = None, reply_to: str | None = None,
                      biz_opaque_callback_data: str | None = None,
                      phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a map pin with an optional name and address."""
        from wacloud.messages import Location

        message = Location(latitude=latitude, longitude=longitude, name=name, address=address)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_contacts(self, to: Recipient, contacts: Sequence[Contact | Mapping[str, Any] | str], *,
                      reply_to: str | None = None, biz_opaque_callback_data: str | None = None,
                      phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send 1–5 contact cards (``Contact`` models, Graph dicts, or just formatted names)."""
        from wacloud.messages import Contact, Contacts

        cards = [c if isinstance(c, Contact) else {"name": c} if isinstance(c, str) else dict(c)
                 for c in contacts]
        message = Contacts(contacts=cards)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_buttons(self, to: Recipient, body: str, buttons: Sequence[ReplyButton | tuple[str, str]], *,
                     header: str | Header | None = None, footer: str | None = None,
                     reply_to: str | None = None, biz_opaque_callback_data: str | None = None,
                     phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send 1–3 reply buttons, each ``(id, title)``, under ``body``."""
        from wacloud.messages import ReplyButtons

        message = ReplyButtons(body=body, buttons=list(buttons), header=header, footer=footer)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_list(self, to: Recipient, body: str, button: str,
                  sections: Sequence[Section | Mapping[str, Any]], *, header: str | Header | None = None,
                  footer: str | None = None,
                  reply_to: str | None = None, biz_opaque_callback_data: str | None = None,
                  phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a list menu: ``button`` opens ``sections`` of rows (at most 10 rows in total)."""
        from wacloud.messages import ListMessage, Section

        parts = [s if isinstance(s, Section) else Section(**s) for s in sections]
        message = ListMessage(body=body, button=button, sections=parts, header=header, footer=footer)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_cta_url(self, to: Recipient, body: str, display_text: str, url: str, *,
                     header: str | Header | None = None, footer: str | None = None,
                     reply_to: str | None = None, biz_opaque_callback_data: str | None = None,
                     phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a body with one button labelled ``display_text`` that opens ``url``."""
        from wacloud.messages import CtaUrl

        message = CtaUrl(body=body, display_text=display_text, url=url, header=header, footer=footer)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_location_request(self, to: Recipient, body: str, *, reply_to: str | None = None,
                              biz_opaque_callback_data: str | None = None,
                              phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Ask the user to share their location (the answer arrives as a location message)."""
        from wacloud.messages import LocationRequest

        message = LocationRequest(body=body)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_flow(self, to: Recipient, body: str, flow_cta: str, *, flow_id: str | None = None,
                  flow_name: str | None = None, flow_token: str | None = None,
                  mode: Literal["draft", "published"] | None = None,
                  flow_action: Literal["navigate", "data_exchange"] | None = None,
                  screen: str | None = None, data: Mapping[str, Any] | None = None,
                  header: str | Header | None = None, footer: str | None = None,
                  reply_to: str | None = None, biz_opaque_callback_data: str | None = None,
                  phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a button (``flow_cta``) that opens a WhatsApp Flow by ``flow_id`` or ``flow_name``."""
        from wacloud.messages import FlowMessage

        message = FlowMessage(body=body, flow_cta=flow_cta, flow_id=flow_id, flow_name=flow_name,
                              flow_token=flow_token, mode=mode, flow_action=flow_action, screen=screen,
                              data=data, header=header, footer=footer)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def send_template(self, to: Recipient, name: str, language: str = "en_US", *,
                      components: Sequence[Mapping[str, Any]] | None = None, header: Any | None = None,
                      body: Sequence[Any] | Mapping[str, str] | None = None,
                      buttons: Sequence[Any] | None = None, reply_to: str | None = None,
                      biz_opaque_callback_data: str | None = None,
                      phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send an approved template; ``body`` gives its parameters (a list, or a mapping for named ones).

        ``components`` takes raw Graph components; the result's ``message_status`` is the pacing state.
        """
        from wacloud.messages import Template

        extra: dict[str, Any] = {"components": [dict(c) for c in components]} if components else {}
        message = Template(name, language, header=header, body=body, buttons=buttons, **extra)
        return (yield from self._submit(to, message, reply_to, biz_opaque_callback_data, phone_number_id))

    @operation
    def react(self, to: Recipient, message_id: str, emoji: str, *,
              phone_number_id: str | None = None) -> Operation[SentMessage]:
        """React to ``message_id`` with ``emoji`` (only a ``sent`` status webhook follows a reaction)."""
        from wacloud.messages import Reaction

        if not emoji:
            raise errors.ValidationError("reaction.emoji", "is empty; use unreact() to remove a reaction")
        message = Reaction(message_id=message_id, emoji=emoji)
        return (yield from self._submit(to, message, None, None, phone_number_id))

    @operation
    def unreact(self, to: Recipient, message_id: str, *,
                phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Remove our reaction from ``message_id`` (an empty emoji)."""
        from wacloud.messages import Reaction

        message = Reaction.remove(message_id)
        return (yield from self._submit(to, message, None, None, phone_number_id))

    @operation
    def mark_as_read(self, message_id: str, *, typing: bool = False,
                     phone_number_id: str | None = None) -> Operation[bool]:
        """Mark a received message (and the ones before it) read; ``typing`` also shows a typing indicator."""
        from wacloud.messages import MarkRead

        pid = self.require_phone(phone_number_id)
        body = MarkRead(message_id, typing=typing).to_graph()
        answer = yield from call(Request("POST", f"{pid}/messages", json=body))
        return success(answer, "mark as read")

    @operation
    def typing(self, message_id: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Show a typing indicator in reply to ``message_id`` (it also marks it read; gone after 25 s)."""
        return (yield from type(self).mark_as_read.flow(self, message_id, typing=True,
                                                       phone_number_id=phone_number_id))
