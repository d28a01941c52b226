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
