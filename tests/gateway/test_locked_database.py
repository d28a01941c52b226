"""A database another process locks (or makes read-only) never freezes the gateway.

A real second SQLite connection holds ``BEGIN EXCLUSIVE`` on the gateway's own database file: the
event loop must keep answering (``/healthz``), readiness must turn 503 within a few seconds, a signed
webhook must get a quick 503 (Meta redelivers it) instead of hanging, and once the lock is released
everything works again, nothing lost.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx

from wacloud.webhooks import signature

from .conftest import APP_SECRET, LiveGateway, start_gateway, wait_for

PHONE_ID = "100000000000001"  # the sandbox-mode gateway's first number (others are kept apart)
#: Generous bounds: what matters is seconds, not the 30-60 s the gateway used to hang for.
HEALTH_S = 2.0
READY_S = 8.0
WEBHOOK_S = 8.0


def _message(text: str) -> tuple[str, bytes]:
    wamid = f"wamid.locked-db-{time.monotonic_ns()}"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": "15551230000"}],
        "messages": [{"from": "15551230000", "id": wamid, "timestamp": str(int(time.time())),
                      "type": "text", "text": {"body": text}}],
    }
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}
    return wamid, json.dumps(body).encode()


def _timed(fn: object, *args: object, **kwargs: object) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    resp = fn(*args, **kwargs)  # type: ignore[operator]
    return resp, time.monotonic() - started


def _post(gw: LiveGateway, raw: bytes) -> tuple[httpx.Response, float]:
    headers = {"Content-Type": "application/json", signature.HEADER: signature.sign(raw, APP_SECRET)}
    return _timed(httpx.post, f"{gw.url}/webhook", content=raw, headers=headers, timeout=40)


def test_a_locked_database_never_freezes_the_gateway(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    server, gw = start_gateway(db)
    locker = sqlite3.connect(db, isolation_level=None, timeout=30)
    try:
        assert gw.http.get("/readyz").status_code == 200
        first, raw = _message("before the lock")
        assert _post(gw, raw)[0].status_code == 200

        locker.execute("BEGIN EXCLUSIVE")  # another process holds the database's write lock
        time.sleep(1.5)  # the webhook retry poll and the workers now wait on the lock
        for _ in range(3):
            resp, took = _timed(httpx.get, f"{gw.url}/healthz", timeout=40)
            assert resp.status_code == 200 and took < HEALTH_S, (resp.status_code, took)
        resp, took = _timed(gw.http.get, "/readyz", timeout=40)
        assert resp.status_code == 503 and took < READY_S, (resp.status_code, took)
        assert resp.json()["checks"]["database"] != "ok"
        locked, raw_locked = _message("during the lock")
        resp, took = _post(gw, raw_locked)
        assert resp.status_code == 503 and took < WEBHOOK_S, (resp.status_code, took)
        resp, took = _timed(httpx.get, f"{gw.url}/healthz", timeout=40)
        assert resp.status_code == 200 and took < HEALTH_S, (resp.status_code, took)

        locker.execute("ROLLBACK")
        wait_for(lambda: gw.http.get("/readyz").status_code == 200, 20, "readiness after the lock")
        assert _post(gw, raw_locked)[0].status_code == 200  # Meta's redelivery goes through

        def logged() -> bool:
            text = json.dumps(gw.http.get("/v1/conversations/+15551230000/messages").json())
            return first in text and locked in text

        # Nothing lost: the redelivered one, and the one whose processing the lock interrupted (retried).
        wait_for(logged, 30, "both messages in the conversation log")
    finally:
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
        gw.http.close()
        server.stop()
