"""Typed results of client calls (:class:`SentMessage`, :class:`MediaInfo`) and the client's own errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from wacloud.errors import WacloudError


class UnexpectedResponse(WacloudError):
    """A 2xx answer whose body lacks what the Cloud API always sends (e.g. no message id)."""


class ChecksumMismatch(WacloudError):
    """Downloaded media does not match the ``sha256`` the Cloud API gave for it."""

    def __init__(self, media_id: str | None, expected: str, actual: str, size: int) -> None:
        self.media_id = media_id
        self.expected = expected
        self.actual = actual
        self.size = size
        super().__init__(f"media {media_id or '(url)'}: sha256 of the {size} downloaded bytes is {actual}, "
                         f"but the Cloud API announced {expected}; the file is corrupt or was replaced")


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class SentMessage(_Result):
    """The answer to a send: the message's ``wamid`` and the recipient as WhatsApp resolved it.

    ``input`` echoes the ``to`` (or ``recipient``) we sent; ``wa_id`` is WhatsApp's id for the user (store
    it as the customer key: the two can differ), absent for a send to a BSUID; ``user_id`` is the user's
    business-scoped user id, present for a send to a BSUID. ``message_status`` is the template pacing
    state (``accepted``, ``held_for_quality_assessment``, ``paused``), present for template sends only.
    """

    wamid: str
    wa_id: str | None = None
    user_id: str | None = None
    input: str | None = None
    message_status: str | None = None
    group_id: str | None = None

    @classmethod
    def from_graph(cls, body: object) -> SentMessage:
        """Read ``{"contacts": [{"input", "wa_id"}], "messages": [{"id", "message_status"?}]}``."""
        message = _first(body, "messages")
        wamid = message.get("id")
        if not isinstance(wamid, str) or not wamid:
            raise UnexpectedResponse(f"send answered without a message id: {_short(body)}")
        contact = _first(body, "contacts", required=False)
        return cls(wamid=wamid, wa_id=_str(contact.get("wa_id")), user_id=_str(contact.get("user_id")),
                   input=_str(contact.get("input")),
                   message_status=_str(message.get("message_status")), group_id=_str(message.get("group_id")))


class MediaInfo(_Result):
    """What ``GET /{media_id}`` says about a media file: a short-lived download ``url`` and its checks."""

    id: str
    url: str
    mime_type: str | None = None
    sha256: str | None = None
    file_size: int | None = None
    messaging_product: str | None = None

    @field_validator("file_size", mode="before")
    @classmethod
    def _size_from_string(cls, value: object) -> object:
        # The Cloud API sends the size as a string ("303833").
        if isinstance(value, str):
            return int(value) if value.strip().isdigit() else None
        return value

    @classmethod
    def from_graph(cls, body: object, media_id: str | None = None) -> MediaInfo:
        """Read the media URL answer, raising :class:`UnexpectedResponse` when it has no URL."""
        if not isinstance(body, Mapping) or not isinstance(body.get("url"), str):
            raise UnexpectedResponse(f"media lookup answered without a url: {_short(body)}")
        data = dict(body)
        data.setdefault("id", media_id or "")
        try:
            return cls.model_validate(data)
        except ValueError as exc:
            raise UnexpectedResponse(f"media lookup answer is malformed: {_short(body)}") from exc


def success(body: object, what: str) -> bool:
    """Read ``{"success": true}``; anything without a boolean ``success`` is an unexpected answer."""
    value = body.get("success") if isinstance(body, Mapping) else None
    if not isinstance(value, bool):
        raise UnexpectedResponse(f"{what} answered without a success flag: {_short(body)}")
    return value


def _first(body: object, key: str, *, required: bool = True) -> Mapping[str, Any]:
    items = body.get(key) if isinstance(body, Mapping) else None
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        return items[0]
    if required:
        raise UnexpectedResponse(f"answer has no {key!r} list: {_short(body)}")
    return {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _short(body: object) -> str:
    text = repr(body)
    return text if len(text) <= 200 else text[:200] + "…"
