"""Media: upload, URL, download (in memory or streamed to a file, sha256 checked), delete."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import secrets
from pathlib import Path
from typing import IO, Final
from urllib.parse import urlsplit

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Operation, Request, call, check, operation
from wacloud.client.models import ChecksumMismatch, MediaInfo, UnexpectedResponse, success
from wacloud.limits import MEDIA_RULES, MediaKind, MediaRule, media_kind_for_mime

#: Hosts Meta serves media downloads from; the access token is sent only there (or to ``base_url``).
_MEDIA_HOSTS: Final = ("fbsbx.com", "facebook.com", "fbcdn.net", "whatsapp.net")

#: Leading bytes of the formats whose signature is unambiguous, to catch a wrong ``mime_type``
#: locally instead of as error 131053 later.
_MAGIC: Final[dict[str, tuple[bytes, ...]]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}

#: A media download URL can be stale (it lives 5 minutes): statuses after which a fresh one is fetched.
_STALE_URL_STATUSES: Final = frozenset({401, 403, 404})

MediaFile = Path | bytes | bytearray | IO[bytes]


class MediaApi(ApiConfig):
    """Media: upload, URL, download (in memory or streamed to a file, sha256 checked), delete."""

    @operation
    def upload(self, file: MediaFile | str, mime_type: str | None = None, *, filename: str | None = None,
               phone_number_id: str | None = None) -> Operation[str]:
        """Upload a file (path, bytes or binary file object) and return its media id.

        ``mime_type`` must be one the Cloud API accepts (``limits.MEDIA_RULES``); it is guessed from the
        file name when omitted. Type and size are checked before anything is sent.
        """
        pid = self.require_phone(phone_number_id)
        name = filename or _name_of(file)
        mime = _mime(mime_type, name)
        rule = MEDIA_RULES[_kind(mime)]
        if isinstance(file, str | Path):
            path = Path(file)
            with _open(path) as fh:
                _check_size(rule, _remaining(fh))
                _check_magic(mime, _peek(fh))
                media_id = yield from _upload(pid, fh, mime, name or path.name)
            return media_id
        content: bytes | IO[bytes]
        if isinstance(file, bytes | bytearray):
            content = bytes(file)
        elif _seekable(file) and file.tell() == 0:
            content = file  # streamed by httpx, which rewinds file objects: only safe from position 0
        elif _seekable(file):
            _check_size(rule, _remaining(file))
            content = file.read()
        else:
            content = file.read(rule.max_bytes + 1)  # unknown length: read at most one byte past the limit
        size = len(content) if isinstance(content, bytes) else _remaining(content)
        _check_size(rule, size)
        _check_magic(mime, content[:16] if isinstance(content, bytes) else _peek(content))
        return (yield from _upload(pid, content, mime, name or _default_name(mime)))

    @operation
    def media_url(self, media_id: str, *, phone_number_id: str | None = None) -> Operation[MediaInfo]:
        """Look up a media id: a download ``url`` (valid 5 minutes), ``mime_type``, ``sha256``, ``file_size``.

        With ``phone_number_id`` the lookup only succeeds if the media belongs to that number.
        """
        _check_id(media_id)
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        body = yield from call(Request("GET", media_id, params=params))
        return MediaInfo.from_graph(body, media_id)

    @operation
    def download(self, media: str | MediaInfo, *, to: Path | str | None = None,
                 phone_number_id: str | None = None) -> Operation[bytes | Path]:
        """Download media by id or :class:`MediaInfo`: its bytes, or the ``Path`` written when ``to`` is set.

        The content is checked against the announced sha256 (:class:`ChecksumMismatch` otherwise); a file
        is streamed to a temporary name beside ``to`` and renamed only once it is complete and verified.
        A stale URL (401/403/404) is looked up again once when the media id is known.
        """
        target = _target(to)
        info = media if isinstance(media, MediaInfo) else None
        media_id = media.id if isinstance(media, MediaInfo) else media
        if info is None:
            _check_id(media_id)
            info = yield from type(self).media_url.flow(self, media_id, phone_number_id=phone_number_id)
        for attempt in (1, 2):
            self._check_download_host(info.url)
            if target is None:
                response = yield Request("GET", info.url, absolute=True)
            else:
                part = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
                try:
                    response = yield Request("GET", info.url, absolute=True, stream_to=part)
                    if response.status_code < 400:
                        _verify(info, response.sha256 or "", response.streamed_bytes)
                        os.replace(part, target)
                finally:
                    part.unlink(missing_ok=True)
            if attempt == 1 and media_id and response.status_code in _STALE_URL_STATUSES:
                info = yield from type(self).media_url.flow(self, media_id, phone_number_id=phone_number_id)
                continue
            check(response)
            if target is not None:
                return target
            _verify(info, hashlib.sha256(response.content).hexdigest(), len(response.content))
            return response.content
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    @operation
    def delete_media(self, media_id: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Delete an uploaded media file; True when the Cloud API confirms."""
        _check_id(media_id)
        params = {"phone_number_id": phone_number_id} if phone_number_id else None
        body = yield from call(Request("DELETE", media_id, params=params))
        return success(body, "media delete")

    def _check_download_host(self, url: str) -> None:
        """Refuse to send the access token anywhere but Meta's media hosts or our own ``base_url`` host."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            raise UnexpectedResponse(f"media url is not an http(s) URL: {url[:200]!r}")
        if host == (urlsplit(self.base_url).hostname or "").lower():
            return
        if parts.scheme == "https" and any(host == h or host.endswith("." + h) for h in _MEDIA_HOSTS):
            return
        raise UnexpectedResponse(f"media url points at {host!r}, not a Meta media host: the access token "
                                 "is not sent there")


def _upload(pid: str, content: bytes | IO[bytes], mime: str, name: str) -> Operation[str]:
    body = yield from call(Request(
        "POST", f"{pid}/media",
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": (name, content, mime)},
    ))
    media_id = body.get("id") if isinstance(body, dict) else None
    if not isinstance(media_id, str) or not media_id:
        raise UnexpectedResponse(f"upload answered without a media id: {body!r:.200}")
    return media_id


def _mime(mime_type: str | None, name: str | None) -> str:
    if mime_type is None:
        guessed = mimetypes.guess_type(name)[0] if name else None
        if guessed is None:
            raise errors.ValidationError("mime_type", "is required (it cannot be guessed from the file name)")
        mime_type = guessed
    return mime_type.split(";", 1)[0].strip().lower()


def _kind(mime: str) -> MediaKind:
    kind = media_kind_for_mime(mime)
    if kind is None:
        accepted = ", ".join(sorted({m for r in MEDIA_RULES.values() for m in r.mime_types}))
        raise errors.ValidationError("mime_type", f"{mime!r} is not a media type the Cloud API accepts "
                                                  f"({accepted})")
    return kind


def _check_size(rule: MediaRule, size: int) -> None:
    if size <= 0:
        raise errors.ValidationError("file", "is empty", size=size, limit=rule.max_bytes)
    if size > rule.max_bytes:
        raise errors.ValidationError("file", f"is too large for {rule.kind} media", size=size,
                                     limit=rule.max_bytes)


def _check_magic(mime: str, head: bytes) -> None:
    signatures = _MAGIC.get(mime)
    if mime == "image/webp":
        ok = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    elif signatures is not None:
        ok = head.startswith(signatures)
    else:
        return
    if not ok:
        raise errors.ValidationError("mime_type", f"the file content is not {mime}")


def _verify(info: MediaInfo, actual_hex: str, size: int) -> None:
    expected = (info.sha256 or "").strip()
    if not expected:
        return
    # The media endpoint gives hex; webhook media objects give base64. Accept either spelling.
    as_b64 = base64.b64encode(bytes.fromhex(actual_hex)).decode() if actual_hex else ""
    if expected.lower() != actual_hex and expected != as_b64:
        raise ChecksumMismatch(info.id or None, expected, actual_hex, size)


def _check_id(media_id: str) -> None:
    if not isinstance(media_id, str) or not media_id.strip():
        raise errors.ValidationError("media_id", "must not be empty")
    if "/" in media_id or "?" in media_id or "#" in media_id or media_id in (".", ".."):
        raise errors.ValidationError("media_id", f"{media_id!r} is not a media id")


def _target(to: Path | str | None) -> Path | None:
    if to is None:
        return None
    path = Path(to)
    if path.is_dir():
        raise errors.ValidationError("to", f"{path} is a directory; give a file path")
    if not path.parent.is_dir():
        raise errors.ValidationError("to", f"directory {path.parent} does not exist")
    return path


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise errors.ValidationError("file", f"{path} does not exist") from None
    except IsADirectoryError:
        raise errors.ValidationError("file", f"{path} is a directory") from None
    except OSError as exc:
        raise errors.ValidationError("file", f"{path} cannot be read: {exc.strerror}") from None


def _seekable(fh: IO[bytes]) -> bool:
    try:
        return fh.seekable()
    except (AttributeError, ValueError):
        return False


def _remaining(fh: IO[bytes]) -> int:
    pos = fh.tell()
    end = fh.seek(0, os.SEEK_END)
    fh.seek(pos)
    return end - pos


def _peek(fh: IO[bytes]) -> bytes:
    pos = fh.tell()
    head = fh.read(16)
    fh.seek(pos)
    return head


def _name_of(file: MediaFile | str) -> str | None:
    if isinstance(file, str | Path):
        return Path(file).name
    name = getattr(file, "name", None)
    # Pseudo-files are named like "<stdin>"; that is no file name to show a recipient.
    return Path(name).name if isinstance(name, str) and name and not name.startswith("<") else None


def _default_name(mime: str) -> str:
    return "file" + (mimetypes.guess_extension(mime) or "")


__all__ = ["MediaApi", "MediaFile"]
