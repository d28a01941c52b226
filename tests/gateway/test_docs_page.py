"""``/docs`` works offline: Swagger UI and its assets come from this machine, not a CDN."""

from __future__ import annotations

import re

import httpx

from .conftest import LiveGateway


def test_docs_page_loads_its_assets_from_the_gateway(live: LiveGateway) -> None:
    page = httpx.get(f"{live.url}/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/docs/static/") for a in assets), assets
    assert "cdn" not in page.text.lower()
    for asset in assets:
        got = httpx.get(f"{live.url}{asset}")
        assert got.status_code == 200 and got.content, asset
    assert len(httpx.get(f"{live.url}/docs/static/swagger-ui-bundle.js").content) > 100_000  # the real bundle
    assert "'/openapi.json'" in page.text or '"/openapi.json"' in page.text
    assert httpx.get(f"{live.url}/openapi.json").json()["info"]["title"] == "wacloud gateway"
