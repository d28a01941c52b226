"""Composable update filters for the bot framework: ``filters.text & filters.matches(r"^hi")``.

A :class:`Filter` is a predicate on an update; ``&``, ``|`` and ``~`` combine them. A filter that
raises counts as "no match" (and is logged), so a bad filter cannot take the receiver down.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import wacloud.webhooks.models as m
import wacloud.webhooks.updates as u

logger = logging.getLogger("wacloud.webhooks")


class Filter:
    """A named predicate on an update."""

    __slots__ = ("fn", "name")

    def __init__(self, fn: Callable[[Any], bool], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "filter")

    def __call__(self, update: Any) -> bool:
        try:
            return bool(self.fn(update))
        except Exception:
            logger.exception("filter %s raised; treating it as no match", self.name)
            return False

    def __and__(self, other: Filter) -> Filter:
        return Filter(lambda upd: self(upd) and other(upd), f"({self.name} & {other.name})")

    def __or__(self, other: Filter) -> Filter:
        return Filter(lambda upd: self(upd) or other(upd), f"({self.name} | {other.name})")

    def __invert__(self) -> Filter:
        return Filter(lambda upd: not self(upd), f"~{self.name}")

    def __repr__(self) -> str:
        return f"Filter({self.name})"


def create(fn: Callable[[Any], bool], name: str | None = None) -> Filter:
    """Make a filter from any predicate ``fn(update) -> bool``."""
    return Filter(fn, name)


def _msg(cls: type[m.IncomingMessage] | tuple[type[m.IncomingMessage], ...]) -> Callable[[Any], bool]:
    return lambda upd: isinstance(upd, u.MessageUpdate) and isinstance(upd.message, cls)


def _interactive(kind: str) -> Callable[[Any], bool]:
    def check(upd: Any) -> bool:
        return (isinstance(upd, u.MessageUpdate) and isinstance(upd.message, m.InteractiveMessage)
                and upd.message.interactive.type == kind)

    return check


# --- message kinds --------------------------------------------------------------------------------

#: Any incoming message.
message = Filter(lambda upd: isinstance(upd, u.MessageUpdate), "message")
#: A text message.
text = Filter(_msg(m.TextMessage), "text")
#: An image, video, audio, document or sticker.
media = Filter(lambda upd: isinstance(upd, u.MessageUpdate) and upd.media_info is not None, "media")
image = Filter(_msg(m.ImageMessage), "image")
video = Filter(_msg(m.VideoMessage), "video")
audio = Filter(_msg(m.AudioMessage), "audio")
#: A voice note (an audio with ``voice: true``).
voice = Filter(lambda upd: _msg(m.AudioMessage)(upd) and bool(upd.message.audio.voice), "voice")
document = Filter(_msg(m.DocumentMessage), "document")
sticker = Filter(_msg(m.StickerMessage), "sticker")
location = Filter(_msg(m.LocationMessage), "location")
contacts = Filter(_msg(m.ContactsMessage), "contacts")
reaction = Filter(_msg(m.ReactionMessage), "reaction")
#: A reaction removal (empty or missing emoji).
reaction_removed = Filter(lambda upd: _msg(m.ReactionMessage)(upd) and not upd.message.reaction.emoji,
                          "reaction_removed")
order = Filter(_msg(m.OrderMessage), "order")
system = Filter(_msg(m.SystemMessage), "system")
unsupported = Filter(_msg(m.UnsupportedMessage), "unsupported")
edited = Filter(_msg(m.EditMessage), "edited")
revoked = Filter(_msg(m.RevokeMessage), "revoked")
request_welcome = Filter(_msg(m.RequestWelcomeMessage), "request_welcome")
#: A template quick-reply tap (``type: button``).
template_button = Filter(_msg(m.ButtonMessage), "template_button")
#: An interactive reply button tap (``interactive.type: button_reply``).
button_reply = Filter(_interactive("button_reply"), "button_reply")
#: Either kind of button tap.
button = template_button | button_reply
list_reply = Filter(_interactive("list_reply"), "list_reply")
#: A completed Flow (``interactive.type: nfm_reply``).
flow_reply = Filter(_interactive("nfm_reply"), "flow_reply")
#: A reply quoting an earlier message.
reply = Filter(lambda upd: isinstance(upd, u.MessageUpdate) and upd.reply_to_id is not None, "reply")
forwarded = Filter(
    lambda upd: isinstance(upd, u.MessageUpdate) and upd.message.context is not None
    and bool(upd.message.context.forwarded or upd.message.context.frequently_forwarded),
    "forwarded",
)
#: A message from a click-to-WhatsApp ad or post.
referral = Filter(lambda upd: isinstance(upd, u.MessageUpdate) and upd.message.referral is not None,
                  "referral")


def message_types(*types: str) -> Filter:
    """Messages whose ``type`` is one of ``types``."""
    wanted = frozenset(types)
    return Filter(lambda upd: isinstance(upd, u.MessageUpdate) and upd.message.type in wanted,
                  f"message_types{types!r}")


def matches(pattern: str | re.Pattern[str], flags: int = 0) -> Filter:
    """The message text (or media caption) matches the regular expression (``re.search``)."""
    rx = re.compile(pattern, flags) if isinstance(pattern, str) else pattern

    def check(upd: Any) -> bool:
        body = upd.text if isinstance(upd, u.MessageUpdate) else None
        return body is not None and rx.search(body) is not None

    return Filter(check, f"matches({rx.pattern!r})")


def command(*names: str, prefixes: str | Iterable[str] = "/", case_sensitive: bool = False) -> Filter:
    """A text message starting with a command: ``command("start")`` matches "/start" and "/start now"."""
    pre = [prefixes] if isinstance(prefixes, str) else list(prefixes)
    wanted = {n if case_sensitive else n.lower() for n in names}

    def check(upd: Any) -> bool:
        if not (isinstance(upd, u.MessageUpdate) and isinstance(upd.message, m.TextMessage)):
            return False
        word = upd.message.text.body.strip().split(maxsplit=1)
        if not word:
            return False
        head = word[0] if case_sensitive else word[0].lower()
        return any(head.startswith(p) and head[len(p):] in wanted for p in pre)

    return Filter(check, f"command{names!r}")


def _digits(number: str) -> str:
    return "".join(ch for ch in number if ch.isdigit())


def from_users(*numbers: str) -> Filter:
    """Messages (and preference updates) from these numbers or wa_ids (formatting ignored)."""
    wanted = frozenset(_digits(n) for n in numbers)

    def check(upd: Any) -> bool:
        if isinstance(upd, u.MessageUpdate):
            # Phone numbers only: a username-only sender's BSUID is matched by from_user_ids().
            phones = (upd.message.phone, upd.contact.wa_id if upd.contact is not None else None)
            return any(_digits(n) in wanted for n in phones if n)
        if isinstance(upd, u.UserPreferencesUpdate):
            return _digits(upd.preference.wa_id or "") in wanted
        return False

    return Filter(check, f"from_users{numbers!r}")


def from_user_ids(*ids: str) -> Filter:
    """Messages, preference updates and statuses of these business-scoped user ids (BSUID or parent BSUID)."""
    wanted = frozenset(ids)

    def check(upd: Any) -> bool:
        if isinstance(upd, u.MessageUpdate):
            who = upd.sender
        elif isinstance(upd, u.UserPreferencesUpdate):
            who = upd.user
        elif isinstance(upd, u.StatusUpdate):
            who = upd.recipient
        else:
            return False
        return bool({who.user_id, who.parent_user_id} & wanted)

    return Filter(check, f"from_user_ids{ids!r}")


#: Messages from a customer who reached the business by username, without a phone number.
username_only = Filter(lambda upd: isinstance(upd, u.MessageUpdate) and upd.phone is None, "username_only")


def button_ids(*ids: str) -> Filter:
    """A button tap whose reply id (or template payload) is one of ``ids``."""
    wanted = frozenset(ids)
    return Filter(lambda upd: isinstance(upd, u.MessageUpdate) and upd.button_id in wanted,
                  f"button_ids{ids!r}")


def button_matches(pattern: str, flags: int = 0) -> Filter:
    """A button tap whose reply id (or template payload) matches the regular expression."""
    rx = re.compile(pattern, flags)

    def check(upd: Any) -> bool:
        bid = upd.button_id if isinstance(upd, u.MessageUpdate) else None
        return bid is not None and rx.search(bid) is not None

    return Filter(check, f"button_matches({pattern!r})")


def list_ids(*ids: str) -> Filter:
    """A list reply whose row id is one of ``ids``."""
    wanted = frozenset(ids)

    def check(upd: Any) -> bool:
        row = upd.list_reply if isinstance(upd, u.MessageUpdate) else None
        return row is not None and row.id in wanted

    return Filter(check, f"list_ids{ids!r}")


def status(*values: str) -> Filter:
    """Status updates with one of these values (sent, delivered, read, played, failed)."""
    wanted = frozenset(v.lower() for v in values)
    return Filter(lambda upd: isinstance(upd, u.StatusUpdate) and upd.status.status.lower() in wanted,
                  f"status{values!r}")


sent = status("sent")
delivered = status("delivered")
read = status("read")
played = status("played")
failed = status("failed")


def error_codes(*codes: int) -> Filter:
    """Status or error updates carrying one of these error codes."""
    wanted = frozenset(codes)

    def check(upd: Any) -> bool:
        if isinstance(upd, u.StatusUpdate):
            return any(e.code in wanted for e in upd.status.errors)
        if isinstance(upd, u.ErrorUpdate):
            return upd.error.code in wanted
        if isinstance(upd, u.MessageUpdate):
            return any(e.code in wanted for e in upd.message.errors)
        return False

    return Filter(check, f"error_codes{codes!r}")


def template_events(*events: str) -> Filter:
    """Template status updates with one of these events (APPROVED, REJECTED, PAUSED…)."""
    wanted = frozenset(e.upper() for e in events)
    return Filter(lambda upd: isinstance(upd, u.TemplateStatusUpdate) and upd.value.event.upper() in wanted,
                  f"template_events{events!r}")


def phone_number_ids(*ids: str) -> Filter:
    """Updates that arrived for one of these business phone-number ids."""
    wanted = frozenset(ids)

    def check(upd: Any) -> bool:
        meta = getattr(upd, "metadata", None)
        return isinstance(meta, m.Metadata) and meta.phone_number_id in wanted

    return Filter(check, f"phone_number_ids{ids!r}")


#: Marketing opt-outs (``user_preferences`` with value "stop").
opted_out = Filter(lambda upd: isinstance(upd, u.UserPreferencesUpdate) and upd.opted_out, "opted_out")
