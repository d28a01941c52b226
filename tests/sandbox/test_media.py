"""Media: multipart upload with MIME and size rules, URL info, authenticated download that expires, delete."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from sandbox.helpers import FILES, WA_ID, error_code, open_window, send, upload
from wacloud import limits
from wacloud.sandbox.testing import SandboxHandle


def _upload(sandbox: SandboxHandle, data: bytes, mime: str, **fields: str) -> httpx.Response:
    form = {"messaging_product": "whatsapp", "type": mime, **fields}
    return sandbox.http.post(f"/{sandbox.phone_number_id}/media", data=form, files={"file": ("f", data, mime)})


@pytest.mark.parametrize("kind", sorted(FILES))
def test_upload_info_download_delete(sandbox: SandboxHandle, kind: str) -> None:
    data, mime = FILES[kind]
    media_id = upload(sandbox, kind)
    info = sandbox.http.get(f"/{media_id}").json()
    assert info["id"] == media_id and info["messaging_product"] == "whatsapp"
    assert info["mime_type"] == mime
    assert info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["file_size"] == str(len(data))
    got = sandbox.http.get(info["url"])
    assert got.status_code == 200 and got.content == data and got.headers["content-type"].startswith(mime)
    assert sandbox.http.delete(f"/{media_id}").json() == {"success": True}
    assert error_code(sandbox.http.get(f"/{media_id}")) == 100
    assert sandbox.http.get(info["url"]).status_code == 404


def test_download_needs_the_token_and_expires(sandbox: SandboxHandle) -> None:
    media_id = upload(sandbox, "image")
    sandbox.freeze()
    url = sandbox.http.get(f"/{media_id}").json()["url"]
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    sandbox.advance(limits.MEDIA_URL_TTL_S - 1)
    assert sandbox.http.get(url).status_code == 200
    sandbox.advance(2)
    assert sandbox.http.get(url).status_code == 404
    fresh = sandbox.http.get(f"/{media_id}").json()["url"]
    assert sandbox.http.get(fresh).status_code == 200
    assert sandbox.http.get(fresh.replace("hash=", "hash=0")).status_code == 404


def test_media_belongs_to_its_number(sandbox: SandboxHandle) -> None:
    media_id = upload(sandbox, "image")
    assert sandbox.http.get(f"/{media_id}", params={"phone_number_id": sandbox.phone_number_id}).status_code == 200
    assert error_code(sandbox.http.get(f"/{media_id}", params={"phone_number_id": "1"})) == 100


def test_upload_rules(sandbox: SandboxHandle) -> None:
    assert error_code(_upload(sandbox, b"GIF89a", "image/gif")) == 131053
    too_big = b"0" * (limits.MEDIA_RULES[limits.MediaKind.STICKER].max_bytes + 1)
    r = _upload(sandbox, too_big, "image/webp")
    assert error_code(r) == 131053 and "larger" in r.json()["error"]["error_data"]["details"]
    assert error_code(_upload(sandbox, b"", "image/png")) == 131053
    r = sandbox.http.post(
        f"/{sandbox.phone_number_id}/media", data={"type": "image/png"}, files={"file": ("f", b"x", "image/png")}
    )
    assert error_code(r) == 100
    r = sandbox.http.post(
        f"/{sandbox.phone_number_id}/media", data={"messaging_product": "whatsapp", "type": "image/png"}
    )
    assert error_code(r) == 100
    r = sandbox.http.post(f"/{sandbox.phone_number_id}/media", json={"messaging_product": "whatsapp"})
    assert error_code(r) == 100
    # The boundary itself is fine.
    exact = b"0" * limits.STATIC_STICKER_MAX_BYTES
    assert _upload(sandbox, exact, "image/webp").status_code == 200


def test_send_by_id_checks_the_media(sandbox: SandboxHandle) -> None:
    open_window(sandbox)
    image = upload(sandbox, "image")
    pdf = upload(sandbox, "document")
    assert send(sandbox, {"to": WA_ID, "type": "image", "image": {"id": image, "caption": "c"}}).status_code == 200
    assert error_code(send(sandbox, {"to": WA_ID, "type": "image", "image": {"id": pdf}})) == 131053
    assert error_code(send(sandbox, {"to": WA_ID, "type": "video", "video": {"id": "424242"}})) == 131053
    r = send(sandbox, {"to": WA_ID, "type": "image", "image": {"id": image, "caption": "x" * 1025}})
    assert error_code(r) == 100
    assert error_code(send(sandbox, {"to": WA_ID, "type": "audio", "audio": {"id": image, "caption": "c"}})) == 100
    sandbox.freeze()
    sandbox.advance(limits.MEDIA_TTL_S + 1)
    assert error_code(send(sandbox, {"to": WA_ID, "type": "image", "image": {"id": image}})) == 131053


def test_bad_link_fails_asynchronously(sandbox: SandboxHandle) -> None:
    open_window(sandbox)
    r = send(sandbox, {"to": WA_ID, "type": "image", "image": {"link": "ftp://example.com/a.jpg"}})
    assert r.status_code == 200
    sandbox.wait_idle()
    assert sandbox.message(r.json()["messages"][0]["id"])["statuses"][0]["code"] == 131053
