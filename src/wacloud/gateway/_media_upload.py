"""Reading a media upload (``multipart/form-data``) as a stream, with the size cap enforced as it arrives.

Parsing the form first (FastAPI's ``File()``) would take the whole file before any check: a 400 MB
upload cost as much memory, or disk, before it was refused. Here the file goes to a spooled temporary
file (memory up to 1 MB, then disk) and the upload is refused as soon as it passes the cap of its
media type (from :data:`wacloud.limits.MEDIA_RULES`): the ``type`` field when it comes before the file,
else the file part's own ``Content-Type``; the largest cap while neither names a media type.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO, Any, Final

from python_multipart.multipart import MultipartParser, parse_options_header

from wacloud.limits import MEDIA_RULES, media_kind_for_mime

#: The largest file any media type allows: the cap while the upload's type is not known yet.
MAX_MEDIA_BYTES: Final = max(rule.max_bytes for rule in MEDIA_RULES.values())
#: Room for the form's other fields and the multipart framing.
_FORM_OVERHEAD: Final = 64 * 1024
_MAX_FIELD_BYTES: Final = 1024
_MAX_PARTS: Final = 8
_SPOOL_BYTES: Final = 1024 * 1024


class UploadRejected(Exception):
    """The upload is refused: HTTP ``status``, a reason and the form field at fault."""

    def __init__(self, status: int, reason: str, field: str, **extra: Any) -> None:
        self.status = status
        self.reason = reason
        self.field = field
        self.extra = extra
        super().__init__(reason)


@dataclass
class Upload:
    """The uploaded file (spooled, rewound) and the form's ``type`` field."""

    file: IO[bytes]
    size: int
    filename: str | None
    content_type: str | None
    type: str | None

    @property
    def mime(self) -> str:
        """The MIME type to upload as: the ``type`` field, else the file part's own, else octet-stream."""
        return self.type or self.content_type or "application/octet-stream"

    def close(self) -> None:
        """Drop the spooled data."""
        self.file.close()


def cap_for(mime: str | None) -> int:
    """The size cap for ``mime`` (the largest of all while the type is unknown or not a media type)."""
    kind = media_kind_for_mime(mime) if mime else None
    return MEDIA_RULES[kind].max_bytes if kind is not None else MAX_MEDIA_BYTES


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    content_type: str | None = None
    data: bytearray = field(default_factory=bytearray)
    headers: dict[bytes, bytes] = field(default_factory=dict)


class _Reader:
    """python-multipart callbacks collect events; :meth:`feed` applies them after each chunk."""

    def __init__(self, boundary: bytes) -> None:
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_part_data": self._data, "on_part_end": self._end,
            "on_header_field": self._hfield, "on_header_value": self._hvalue,
            "on_header_end": self._hend, "on_headers_finished": self._headers_done,
        })
        self._events: list[tuple[str, bytes]] = []
        self._hname = b""
        self._hvalue_buf = b""
        self.part = _Part()
        self.parts = 0
        self.spool: tempfile.SpooledTemporaryFile[bytes] | None = None
        self.size = 0
        self.filename: str | None = None
        self.content_type: str | None = None
        self.type: str | None = None
        self.file_done = False

    # callbacks: record only (python-multipart is mid-parse; exceptions are raised from feed)
    def _begin(self) -> None:
        self._events.append(("begin", b""))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(("data", data[start:end]))

    def _end(self) -> None:
        self._events.append(("end", b""))

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self._hvalue_buf += data[start:end]

    def _hend(self) -> None:
        self._events.append(("header", self._hname.lower() + b"\0" + self._hvalue_buf))
        self._hname = self._hvalue_buf = b""

    def _headers_done(self) -> None:
        self._events.append(("headers_done", b""))

    def feed(self, chunk: bytes) -> None:
        """Parse ``chunk`` and apply what it held; raises :class:`UploadRejected`."""
        try:
            self.parser.write(chunk)
        except Exception as exc:  # python-multipart's parse errors
            raise UploadRejected(422, f"the multipart body is malformed: {exc}"[:300], "file") from None
        events, self._events = self._events, []
        for kind, value in events:
            self._apply(kind, value)

    def _apply(self, kind: str, value: bytes) -> None:
        part = self.part
        if kind == "begin":
            self.parts += 1
            if self.parts > _MAX_PARTS:
                raise UploadRejected(422, f"the form has more than {_MAX_PARTS} parts", "file")
            self.part = _Part()
        elif kind == "header":
            name, _, header = value.partition(b"\0")
            part.headers[name] = header
        elif kind == "headers_done":
            _, options = parse_options_header(part.headers.get(b"content-disposition", b""))
            part.name = options.get(b"name", b"").decode("utf-8", "replace")
            if part.name == "file":
                if self.spool is not None:
                    raise UploadRejected(422, "only one file per upload", "file")
                raw_name = options.get(b"filename")
                self.filename = raw_name.decode("utf-8", "replace") if raw_name else None
                ctype = part.headers.get(b"content-type")
                self.content_type = ctype.decode("latin-1").strip() if ctype else None
                self.spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed by Upload.close
        elif kind == "data":
            if part.name == "file" and self.spool is not None and not self.file_done:
                self.size += len(value)
                # The type known so far: the ``type`` field if it came first, else the part's own.
                cap = cap_for(self.type or self.content_type)
                if self.size > cap:
                    raise UploadRejected(413, f"the file is larger than {cap} bytes", "file", limit=cap)
                self.spool.write(value)
            else:
                if len(part.data) + len(value) > _MAX_FIELD_BYTES:
                    raise UploadRejected(422, f"is longer than {_MAX_FIELD_BYTES} bytes", part.name or "form")
                part.data.extend(value)
        elif kind == "end":
            if part.name == "file" and self.spool is not None:
                self.file_done = True
            elif part.name == "type":
                self.type = part.data.decode("utf-8", "replace").strip() or None
                if self.type is not None and len(self.type) > 255:
                    raise UploadRejected(422, "is longer than 255 characters", "type")
                if self.spool is not None and self.size > cap_for(self.type):
                    cap = cap_for(self.type)
                    raise UploadRejected(413, f"the file is larger than {cap} bytes", "file", limit=cap)

    def close(self) -> None:
        """Drop the spooled data (on a refusal)."""
        if self.spool is not None:
            self.spool.close()


def _boundary(content_type: str) -> bytes:
    ctype, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadRejected(422, "the upload must be multipart/form-data with a file field", "file")
    return boundary


async def read_upload(headers: Any, stream: AsyncIterator[bytes]) -> Upload:
    """Read a ``multipart/form-data`` upload (fields ``file`` and optional ``type``) from ``stream``.

    Raises :class:`UploadRejected` (413 as soon as the file passes its cap; 422 for a malformed form or
    a missing file). The caller owns the returned :class:`Upload` and must close it.
    """
    boundary = _boundary(headers.get("content-type", ""))
    length = headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_MEDIA_BYTES + _FORM_OVERHEAD:
        # Refused before any of the body is read (and before a client's Expect: 100-continue is answered).
        raise UploadRejected(413, f"the file is larger than {MAX_MEDIA_BYTES} bytes", "file",
                             limit=MAX_MEDIA_BYTES)
    reader = _Reader(boundary)
    try:
        async for chunk in stream:
            if chunk:
                reader.feed(chunk)
        try:
            reader.parser.finalize()
        except Exception as exc:
            raise UploadRejected(422, f"the multipart body is malformed: {exc}"[:300], "file") from None
        if reader.spool is None or not reader.file_done:
            raise UploadRejected(422, "is required (a multipart file field named 'file')", "file")
        if reader.size > cap_for(reader.type or reader.content_type):
            cap = cap_for(reader.type or reader.content_type)
            raise UploadRejected(413, f"the file is larger than {cap} bytes", "file", limit=cap)
    except BaseException:
        reader.close()
        raise
    reader.spool.seek(0)
    return Upload(reader.spool, reader.size, reader.filename, reader.content_type, reader.type)


__all__ = ["MAX_MEDIA_BYTES", "Upload", "UploadRejected", "cap_for", "read_upload"]
