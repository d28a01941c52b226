"""The media routes take media ids only: nothing else is fetched or deleted with the business token."""

from __future__ import annotations

import http.client
from typing import Any
from urllib.parse import urlsplit

import httpx

from .conftest import LiveGateway


def _raw(live: LiveGateway, method: str, path: str) -> tuple[int, str]:
    """A request whose path is sent as is (httpx would resolve ``..``)."""
    parts = urlsplit(live.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=20)
    try:
        conn.request(method, path, headers={"Authorization": f"Bearer {live.key}"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()


def _error(resp: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = resp.json()["error"]
    return body


def test_dot_segments_and_non_numeric_ids_are_refused(live: LiveGateway) -> None:
    for path in ("/v1/media/..", "/v1/media/.", "/v1/media/abc", "/v1/media/..%2F..", "/v1/media/..:x/content"):
        for method in ("GET", "DELETE"):
            status, text = _raw(live, method, path)
            assert status in (404, 405, 422), (method, path, status, text)
            assert status != 500
    bad = live.http.get("/v1/media/12ab")
    assert bad.status_code == 422 and _error(bad)["field"] == "media_id"


def test_the_phone_number_and_waba_are_not_media(live: LiveGateway) -> None:
    creds = live.gw.creds
    for object_id in (creds.phone_number_id, creds.waba_id):
        for resp in (live.http.get(f"/v1/media/{object_id}"), live.http.get(f"/v1/media/{object_id}/content"),
                     live.http.delete(f"/v1/media/{object_id}")):
            assert resp.status_code == 404, (resp.request.method, resp.request.url, resp.text)
            assert _error(resp)["field"] == "media_id"
    # The number is still there and still works.
    assert live.http.get("/v1/profile").status_code == 200


def test_a_graph_object_that_is_not_media_is_neither_shown_nor_deleted(live: LiveGateway) -> None:
    live.template("media_route_probe", "Hello there")
    template_id = _template_id(live)
    info = live.http.get(f"/v1/media/{template_id}")
    assert info.status_code == 404 and _error(info)["field"] == "media_id", info.text
    assert "media" in _error(info)["reason"]
    content = live.http.get(f"/v1/media/{template_id}/content")
    assert content.status_code == 404, content.text
    deleted = live.http.delete(f"/v1/media/{template_id}")
    assert deleted.status_code == 404, deleted.text
    assert _template_id(live) == template_id  # still there


def _template_id(live: LiveGateway) -> str:
    page = live.http.get("/v1/templates", params={"name": "media_route_probe"}).json()
    found = [t for t in page["data"] if t["name"] == "media_route_probe"]
    assert found and found[0].get("id"), page
    return str(found[0]["id"])


PNG = b"\x89PNG\r\n\x1a\n"


def _open_upload(live: LiveGateway, head: bytes, *, length: int | None = None) -> Any:
    """A raw connection that has sent the request line, the headers and ``head`` of the body."""
    import socket

    parts = urlsplit(live.url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    sock.sendall((f"POST /v1/media HTTP/1.1\r\nHost: {parts.hostname}\r\nAuthorization: Bearer {live.key}\r\n"
                  f"Content-Type: multipart/form-data; boundary=XyZ\r\n{framing}\r\n\r\n").encode())
    if head:
        sock.sendall(head if length is not None else b"%x\r\n%s\r\n" % (len(head), head))
    return sock


def _answer(sock: Any) -> tuple[int, str]:
    data = b""
    while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1].decode(errors="replace")


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def test_an_oversized_upload_is_refused_before_its_body_is_read(live: LiveGateway) -> None:
    # Content-Length says 400 MB: the answer comes without the body being sent at all.
    sock = _open_upload(live, b"", length=400 * 1024 * 1024)
    try:
        status, body = _answer(sock)
    finally:
        sock.close()
    assert status == 413 and '"field":"file"' in body, body


def test_an_upload_is_refused_as_soon_as_it_passes_the_cap_of_its_type(live: LiveGateway) -> None:
    # Chunked (no length known): the type comes first, then 6 MB of a PNG (cap 5 MB), and the body
    # is never finished. The gateway must answer 413 without waiting for the rest (it used to read all).
    head = (b'--XyZ\r\nContent-Disposition: form-data; name="type"\r\n\r\nimage/png\r\n'
            b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + PNG)
    sock = _open_upload(live, head)
    try:
        chunk = b"\0" * (256 * 1024)
        for _ in range(24):  # 6 MB
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, body = _answer(sock)
    finally:
        sock.close()
    assert status == 413, body
    assert '"field":"file"' in body and '"limit":5242880' in body


def test_a_large_upload_within_its_cap_and_a_type_after_the_file(live: LiveGateway) -> None:
    big = PNG + b"\0" * (3 * 1024 * 1024)  # spooled to disk, streamed on to the Cloud API
    up = live.http.post("/v1/media", files={"file": ("big.png", big, "image/png")})
    assert up.status_code == 201 and up.json()["file_size"] == len(big), up.text
    assert live.http.get(f"/v1/media/{up.json()['id']}/content").content == big
    # The type field after the file (curl -F file=@x -F type=...): the cap is checked at the end.
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="doc.bin"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + PNG + b"\0" * (6 * 1024 * 1024) + (
        f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nimage/png\r\n--{boundary}--\r\n'
    ).encode()
    late = live.http.post("/v1/media", content=body,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert late.status_code == 413 and _error(late)["field"] == "file", late.text
    missing = live.http.post("/v1/media", files={"other": ("x.png", PNG, "image/png")})
    assert missing.status_code == 422 and _error(missing)["field"] == "file"
    not_form = live.http.post("/v1/media", content=PNG, headers={"Content-Type": "image/png"})
    assert not_form.status_code == 422 and _error(not_form)["field"] == "file"


def test_upstream_failures_are_502_with_a_reason(live: LiveGateway) -> None:
    up = live.http.post("/v1/media", files={"file": ("p.png", PNG + b"\0" * 32, "image/png")})
    media_id = up.json()["id"]
    try:
        for fault in ({"error_500_rate": 1.0}, {"drop_rate": 1.0}):
            # With the key: the control API may require the gateway's key.
            assert live.http.post("/sandbox/_sandbox/faults", json=fault).status_code == 200
            for resp in (live.http.get(f"/v1/media/{media_id}"), live.http.get(f"/v1/media/{media_id}/content"),
                         live.http.delete(f"/v1/media/{media_id}")):
                assert resp.status_code == 502, (fault, resp.request.method, resp.text)
                assert _error(resp)["reason"]
            live.http.delete("/sandbox/_sandbox/faults")
    finally:
        live.http.delete("/sandbox/_sandbox/faults")
    assert live.http.get(f"/v1/media/{media_id}").status_code == 200  # nothing was deleted
