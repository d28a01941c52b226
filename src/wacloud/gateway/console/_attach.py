"""Attachments in an agent's reply: the picked file is checked against the shared media limits
(:data:`wacloud.limits.MEDIA_RULES`), uploaded with the sending number's client, and sent as an image,
video, audio or document message by its type (the reply's text becomes its caption, or a text after it
for audio, which takes none)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile

from wacloud import errors
from wacloud.gateway._numbers import NumberLane
from wacloud.limits import MEDIA_RULES, MediaKind, media_kind_for_mime

#: The kinds an agent may attach (a sticker is not a reply attachment).
KINDS = (MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO, MediaKind.DOCUMENT)
FIELD = "attachment"
_MB = 1024 * 1024
#: The largest reply request read: the largest attachment (a document) and room for the form's fields.
MAX_REQUEST = max(MEDIA_RULES[k].max_bytes for k in KINDS) + _MB


class AttachmentError(Exception):
    """The picked file cannot be sent: the reason is shown on the attachment field."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Attachment:
    """A picked file, read and checked: its bytes, name, MIME type and media kind."""

    data: bytes
    filename: str
    mime: str
    kind: MediaKind


def accepted() -> str:
    """What the attachment field accepts, in words (from the limits table)."""
    parts = []
    for kind in KINDS:
        rule = MEDIA_RULES[kind]
        parts.append(f"{kind.value} up to {rule.max_bytes // _MB} MB")
    return ", ".join(parts)


def _mime_of(file: UploadFile) -> str:
    """The file's MIME type: the browser's, else guessed from the name (browsers send octet-stream for
    types they do not know)."""
    given = (file.content_type or "").split(";", 1)[0].strip().lower()
    if given and given != "application/octet-stream":
        return given
    guessed, _ = mimetypes.guess_type(file.filename or "")
    return guessed or given or "application/octet-stream"


async def attachment_of(form: FormData) -> Attachment | None:
    """The form's attachment, checked (type and size); None when no file was picked."""
    file = form.get(FIELD)
    if not isinstance(file, UploadFile) or not file.filename:
        return None
    mime = _mime_of(file)
    kind = media_kind_for_mime(mime)
    if kind is None or kind not in KINDS:
        raise AttachmentError(f"WhatsApp cannot send {mime} files; it takes {accepted()} "
                              "(JPEG/PNG images, MP4/3GPP videos, AAC/AMR/MP3/M4A/OGG audio, PDF, Office or "
                              "text documents)")
    rule = MEDIA_RULES[kind]
    data = await file.read(rule.max_bytes + 1)
    if len(data) > rule.max_bytes:
        raise AttachmentError(f"the file is too large: a {kind.value} may be at most {rule.max_bytes // _MB} MB")
    if not data:
        raise AttachmentError("the file is empty")
    return Attachment(data, file.filename[:200], mime, kind)


async def send_attachment(lane: NumberLane, wa_id: str, file: Attachment, text: str) -> list[dict[str, Any]]:
    """Upload ``file`` with ``lane``'s client; the send bodies to queue (the media message, and for audio
    with a text, the text after it)."""
    try:
        media_id = await lane.client.upload(file.data, file.mime, filename=file.filename)
    except errors.ValidationError as exc:
        raise AttachmentError(exc.reason) from None
    except (errors.WhatsAppError, errors.TransportError) as exc:
        raise AttachmentError(f"the upload failed: {exc}") from None
    media: dict[str, Any] = {"id": str(media_id)}
    if file.kind == MediaKind.DOCUMENT:
        media["filename"] = file.filename
    bodies: list[dict[str, Any]] = [{"to": wa_id, "type": file.kind.value, file.kind.value: media}]
    if text and MEDIA_RULES[file.kind].caption:
        media["caption"] = text
    elif text:
        bodies.append({"to": wa_id, "type": "text", "text": {"body": text}})
    return bodies
