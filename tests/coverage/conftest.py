"""Fixtures of the coverage tests: one sandbox-mode gateway per module, and helpers for its control API."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.conftest import LiveGateway, start_gateway

SDP_OFFER = "v=0\r\no=- 3626166318745852955 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
SDP_ANSWER = "v=0\r\no=- 7777 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=setup:active\r\n"


def control(live: LiveGateway, path: str, expect: int = 200, **body: Any) -> Any:
    """POST to the embedded sandbox's control API (``/_sandbox`` + ``path``) and check the status (``expect``)."""
    r = httpx.post(f"{live.sandbox}/_sandbox{path}", json=body, headers=live.control_headers, timeout=10)
    assert r.status_code == expect, r.text
    return r.json()


def control_get(live: LiveGateway, path: str) -> Any:
    """GET from the embedded sandbox's control API."""
    r = httpx.get(f"{live.sandbox}/_sandbox{path}", headers=live.control_headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """A sandbox-mode gateway shared by a test module (its own database file)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
                mp.delenv(name)
        server, gateway = start_gateway(tmp_path_factory.mktemp("cov") / "wacloud.db")
    try:
        yield gateway
    finally:
        gateway.http.close()
        server.stop()
