"""Media messages (image, video, audio, document, sticker) and the media reference they share."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import model_validator

from wacloud.errors import ValidationError

from ._base import WaModel, check_http_url, check_length, check_not_blank


class MediaSource(WaModel):
    """A file by uploaded media ``id`` or public http(s) ``link``: exactly one of the two."""

    id: str | None = None
    link: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.id is None) == (self.link is None):
            raise ValidationError("id", "give exactly one of id or link")
        check_not_blank("id", self.id)
        check_http_url("link", self.link)
        return self


class _Media(MediaSource):
    """A media message: the source plus the type's own fields."""

    type: ClassVar[str]

    def to_graph(self) -> dict[str, Any]:
        """``{"type": <kind>, <kind>: {...}}``."""
        return {"type": self.type, self.type: self.graph()}


class _Captioned(_Media):
    caption: str | None = None

    @model_validator(mode="after")
    def _caption_length(self) -> Self:
        check_length("caption", self.caption, "caption")
        return self


class _Uncaptioned(_Media):
    # Declared so that a caption gets a clear "not allowed" rather than "unexpected field".
    caption: str | None = None

    @model_validator(mode="after")
    def _no_caption(self) -> Self:
        if self.caption is not None:
            raise ValidationError("caption", f"{self.type} messages cannot have a caption")
        return self


class Image(_Captioned):
    """An image (JPEG or PNG) with an optional caption."""

    type: ClassVar[str] = "image"
    graph_key: ClassVar[str] = "image"


class Video(_Captioned):
    """A video (MP4 or 3GPP) with an optional caption."""

    type: ClassVar[str] = "video"
    graph_key: ClassVar[str] = "video"


class Document(_Captioned):
    """A document with an optional caption and ``filename`` (its extension decides how it shows)."""

    type: ClassVar[str] = "document"
    graph_key: ClassVar[str] = "document"
    filename: str | None = None

    @model_validator(mode="after")
    def _filename_length(self) -> Self:
        check_length("filename", self.filename, "document.filename")
        return self


class Audio(_Uncaptioned):
    """An audio file or voice note; audio takes no caption."""

    type: ClassVar[str] = "audio"
    graph_key: ClassVar[str] = "audio"


class Sticker(_Uncaptioned):
    """A WebP sticker; stickers take no caption."""

    type: ClassVar[str] = "sticker"
    graph_key: ClassVar[str] = "sticker"
