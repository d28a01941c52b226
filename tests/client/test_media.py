"""MediaApi on Client and AsyncClient: upload checks and multipart, URL lookup, verified download, delete."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud import errors
from wacloud.client.models import ChecksumMismatch, MediaInfo, UnexpectedResponse
from wacloud.limits import MEDIA_RULES, MediaKind

from .conftest import MEDIA_HOST, PHONE_ID, TOKEN, Api, FakeGraph, Live, no_network, parse_multipart

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-data" * 50
PDF = b"%PDF-1.7\n" + b"0" * 300
TO = "+1 809-123-4567"
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 100


class Unseekable(io.RawIOBase):
    """A pipe-like binary stream: readable, not seekable."""

    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        chunk = self._buf.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


def names(directory: Path) -> list[str]:
    """The file names in ``directory``."""
    return sorted(p.name for p in directory.iterdir())


def upload_parts(graph: FakeGraph) -> dict[str, Any]:
    request = graph.requests[-1]
    assert request.method == "POST" and request.url.path == f"/v25.0/{PHONE_ID}/media"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    return {p.name: p for p in parse_multipart(request)}


async def test_upload_bytes(api: Api, graph: FakeGraph) -> None:
    media_id = await api.call("upload", PNG, "image/png")
    assert media_id in graph.media
    parts = upload_parts(graph)
    assert set(parts) == {"messaging_product", "type", "file"}
    assert parts["messaging_product"].content == b"whatsapp"
    assert parts["type"].content == b"image/png"
    assert parts["file"].content == PNG
    assert parts["file"].content_type == "image/png"
    assert parts["file"].filename == "file.png"


async def test_upload_path_guesses_the_type(api: Api, graph: FakeGraph, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(PDF)
    media_id = await api.call("upload", path)
    parts = upload_parts(graph)
    assert parts["file"].filename == "report.pdf"
    assert parts["type"].content == b"application/pdf"
    assert graph.media[media_id] == (PDF, "application/pdf")
    await api.call("upload", str(path), "application/pdf", filename="renamed.pdf")
    assert upload_parts(graph)["file"].filename == "renamed.pdf"


async def test_upload_file_objects(api: Api, graph: FakeGraph, tmp_path: Path) -> None:
    buf = io.BytesIO(b"skip" + JPEG)
    buf.seek(4)  # only what is left from the current position is sent
    await api.call("upload", buf, "image/jpeg")
    assert upload_parts(graph)["file"].content == JPEG
    await api.call("upload", Unseekable(WEBP), "image/webp", filename="s.webp")
    parts = upload_parts(graph)
    assert (parts["file"].content, parts["type"].content) == (WEBP, b"image/webp")
    path = tmp_path / "voice.ogg"
    path.write_bytes(b"OggS" + b"\x00" * 50)
    with path.open("rb") as fh:
        await api.call("upload", fh, "audio/ogg; codecs=opus")
    parts = upload_parts(graph)
    assert parts["file"].filename == "voice.ogg" and parts["type"].content == b"audio/ogg"


@pytest.mark.parametrize(
    ("file", "mime", "field", "needle"),
    [
        (b"GIF89a...", "image/gif", "mime_type", "not a media type"),
        (b"data", None, "mime_type", "required"),
        (b"", "image/png", "file", "empty"),
        (JPEG, "image/png", "mime_type", "not image/png"),
        (PNG, "image/jpeg", "mime_type", "not image/jpeg"),
        (b"not a pdf", "application/pdf", "mime_type", "not application/pdf"),
        (b"RIFF\x00\x00\x00\x00WAVE", "image/webp", "mime_type", "not image/webp"),
    ],
)
async def test_upload_checks_type_locally(api: Api, file: bytes, mime: str | None, field: str,
                                          needle: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        await api.call("upload", file, mime, client=api.client(no_network))
    assert info.value.field == field and needle in str(info.value)


@pytest.mark.parametrize(("kind", "mime", "head"), [(MediaKind.IMAGE, "image/png", PNG[:8]),
                                                     (MediaKind.STICKER, "image/webp", WEBP[:16]),
                                                     (MediaKind.AUDIO, "audio/mpeg", b"ID3")])
async def test_upload_size_limit_boundary(api: Api, graph: FakeGraph, kind: MediaKind, mime: str,
                                          head: bytes) -> None:
    limit = MEDIA_RULES[kind].max_bytes
    at_limit = head + b"\x00" * (limit - len(head))
    assert await api.call("upload", at_limit, mime)
    with pytest.raises(errors.ValidationError) as info:
        await api.call("upload", at_limit + b"\x00", mime, client=api.client(no_network))
    assert (info.value.field, info.value.size, info.value.limit) == ("file", limit + 1, limit)
    # Unseekable streams are measured too (read up to one byte past the limit).
    with pytest.raises(errors.ValidationError):
        await api.call("upload", Unseekable(at_limit + b"\x00"), mime, client=api.client(no_network))


async def test_upload_path_problems(api: Api, tmp_path: Path) -> None:
    with pytest.raises(errors.ValidationError) as info:
        await api.call("upload", tmp_path / "missing.png", client=api.client(no_network))
    assert "does not exist" in str(info.value)
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(errors.ValidationError):
        await api.call("upload", tmp_path / "dir.png", client=api.client(no_network))
    big = tmp_path / "big.png"
    with big.open("wb") as fh:
        fh.write(PNG[:8])
        fh.truncate(MEDIA_RULES[MediaKind.IMAGE].max_bytes + 1)
    with pytest.raises(errors.ValidationError) as info:
        await api.call("upload", big, client=api.client(no_network))
    assert info.value.size == MEDIA_RULES[MediaKind.IMAGE].max_bytes + 1


async def test_upload_without_id_in_answer(api: Api, graph: FakeGraph) -> None:
    graph.fail_next(httpx.Response(200, json={"ok": True}))
    with pytest.raises(UnexpectedResponse):
        await api.call("upload", PNG, "image/png")


async def test_media_url(api: Api, graph: FakeGraph) -> None:
    media_id = await api.call("upload", PDF, "application/pdf")
    info = await api.call("media_url", media_id)
    assert isinstance(info, MediaInfo)
    assert info.id == media_id
    assert info.mime_type == "application/pdf"
    assert info.file_size == len(PDF)  # the API sends it as a string
    assert info.sha256 == hashlib.sha256(PDF).hexdigest()
    assert info.url.startswith(f"https://{MEDIA_HOST}/")
    await api.call("media_url", media_id, phone_number_id=PHONE_ID)
    assert graph.requests[-1].url.params["phone_number_id"] == PHONE_ID


@pytest.mark.parametrize("media_id", ["", "  ", "../me", "12/34", "1?x=2"])
async def test_bad_media_ids_are_refused(api: Api, media_id: str) -> None:
    for method in ("media_url", "delete_media", "download"):
        with pytest.raises(errors.ValidationError):
            await api.call(method, media_id, client=api.client(no_network))


async def test_download_bytes_verified(api: Api, graph: FakeGraph) -> None:
    media_id = await api.call("upload", JPEG, "image/jpeg")
    assert await api.call("download", media_id) == JPEG
    get = graph.requests[-1]
    assert get.url.host == MEDIA_HOST
    assert get.headers["authorization"] == f"Bearer {TOKEN}"  # Meta's download needs the token
    info = await api.call("media_url", media_id)
    count = len(graph.requests)
    assert await api.call("download", info) == JPEG  # from a MediaInfo: no second lookup
    assert len(graph.requests) == count + 1


async def test_download_checksum_mismatch(api: Api, graph: FakeGraph, tmp_path: Path) -> None:
    media_id = await api.call("upload", JPEG, "image/jpeg")
    graph.media_info_override["sha256"] = "0" * 64
    with pytest.raises(ChecksumMismatch) as info:
        await api.call("download", media_id)
    assert info.value.expected == "0" * 64
    assert info.value.actual == hashlib.sha256(JPEG).hexdigest()
    assert "sha256" in str(info.value) and media_id in str(info.value)
    target = tmp_path / "photo.jpg"
    with pytest.raises(ChecksumMismatch):
        await api.call("download", media_id, to=target)
    assert names(tmp_path) == []  # neither the file nor a partial one is left behind


async def test_download_accepts_base64_sha256(api: Api, graph: FakeGraph) -> None:
    import base64

    media_id = await api.call("upload", PNG, "image/png")
    graph.media_info_override["sha256"] = base64.b64encode(hashlib.sha256(PNG).digest()).decode()
    assert await api.call("download", media_id) == PNG


async def test_download_to_bad_targets(api: Api, tmp_path: Path) -> None:
    with pytest.raises(errors.ValidationError):
        await api.call("download", "123", to=tmp_path, client=api.client(no_network))
    with pytest.raises(errors.ValidationError):
        await api.call("download", "123", to=tmp_path / "no" / "such.bin", client=api.client(no_network))


async def test_download_transport_failure_leaves_no_partial_file(api: Api, graph: FakeGraph,
                                                                 tmp_path: Path) -> None:
    media_id = await api.call("upload", PNG, "image/png")
    await api.call("media_url", media_id)
    info = await api.call("media_url", media_id)
    graph.fail_next(httpx.ReadError("connection reset"))
    with pytest.raises(errors.TransportError):
        await api.call("download", info, to=tmp_path / "x.png")
    assert names(tmp_path) == []


async def test_stale_url_is_fetched_again_once(api: Api, graph: FakeGraph, tmp_path: Path) -> None:
    media_id = await api.call("upload", PNG, "image/png")
    graph.stale_downloads = 1
    assert await api.call("download", media_id) == PNG
    graph.stale_downloads = 1
    assert (await api.call("download", media_id, to=tmp_path / "a.png")).read_bytes() == PNG
    graph.stale_downloads = 2
    with pytest.raises(errors.InvalidRequest) as info:
        await api.call("download", media_id)
    assert info.value.http_status == 404


@pytest.mark.parametrize("url", ["https://attacker.example/steal?mid=1", "http://lookaside.fbsbx.com/x",
                                 "file:///etc/passwd", "https://fbsbx.com.evil.example/x"])
async def test_token_is_not_sent_to_foreign_hosts(api: Api, graph: FakeGraph, url: str) -> None:
    media_id = await api.call("upload", PNG, "image/png")
    graph.media_info_override["url"] = url
    count = len(graph.requests)
    with pytest.raises(UnexpectedResponse):
        await api.call("download", media_id)
    assert len(graph.requests) == count + 1  # only the lookup; the download was never attempted


async def test_media_info_without_url(api: Api, graph: FakeGraph) -> None:
    graph.fail_next(httpx.Response(200, json={"id": "1"}))
    with pytest.raises(UnexpectedResponse):
        await api.call("media_url", "1")


# --- against the sandbox, over real HTTP ------------------------------------------------------


async def test_media_round_trip(live: Live, tmp_path: Path) -> None:
    media_id = await live.call("upload", PNG, "image/png")
    info = await live.call("media_url", media_id)
    assert isinstance(info, MediaInfo)
    assert (info.id, info.mime_type, info.file_size) == (media_id, "image/png", len(PNG))
    assert info.sha256 == hashlib.sha256(PNG).hexdigest()
    assert await live.call("download", media_id) == PNG
    assert await live.call("download", info) == PNG
    target = await live.call("download", media_id, to=tmp_path / "copy.png")
    assert target.read_bytes() == PNG
    sent = await live.call("send_image", TO, media_id, caption="uploaded")
    assert live.sandbox.message(sent.wamid)["body"]["image"] == {"id": media_id, "caption": "uploaded"}
    assert await live.call("delete_media", media_id) is True
    with pytest.raises(errors.WhatsAppError):
        await live.call("media_url", media_id)


async def test_upload_a_file_and_stream_it_back(live: Live, tmp_path: Path) -> None:
    source = tmp_path / "report.pdf"
    source.write_bytes(PDF * 40)
    media_id = await live.call("upload", source)
    info = await live.call("media_url", media_id)
    assert info.mime_type == "application/pdf" and info.file_size == len(PDF) * 40
    out = await live.call("download", media_id, to=tmp_path / "back.pdf")
    assert out.read_bytes() == source.read_bytes()


async def test_download_replaces_a_file_only_when_complete(live: Live, tmp_path: Path) -> None:
    media_id = await live.call("upload", PDF, "application/pdf")
    target = tmp_path / "doc.pdf"
    target.write_bytes(b"old")
    assert await live.call("download", media_id, to=str(target)) == target
    assert target.read_bytes() == PDF
    assert names(tmp_path) == ["doc.pdf"]  # no temporary file left beside it
