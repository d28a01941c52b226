"""Hostile input on PostgreSQL (issue 12): NUL characters never reach a write, and one odd webhook
update never holds back the others of its payload; one conversation row per job under a race."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from wacloud.gateway._app import create_app
from wacloud.gateway._db import Database
from wacloud.gateway._history import History
from wacloud.gateway._settings import load_settings
from wacloud.sandbox import ServerThread, free_port
from wacloud.webhooks import signature

from .conftest import APP_SECRET, VERIFY_TOKEN, LiveGateway, wait_for

pytestmark = pytest.mark.postgres

HELLO = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}


@pytest.fixture
def pg_url() -> Iterator[str]:
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("CI is set but WACLOUD_TEST_PG_DSN is not")
        pytest.skip('WACLOUD_TEST_PG_DSN is not set (run: eval "$(bash .ci/postgres.sh)")')
    import psycopg

    schema = "gwin_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_live(pg_url: str) -> Iterator[tuple[LiveGateway, list[Any]]]:
    """A sandbox-mode gateway on PostgreSQL with a bot that records what it is given."""
    port = free_port()
    settings = load_settings(database_url=pg_url, port=port, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN)
    app = create_app(settings)
    seen: list[Any] = []
    gw = app.state.gateway
    gw.attach_bot(seen.append)
    receiver = gw.webhook_app.receiver
    receiver.retry_first_s, receiver.retry_max_s, receiver.retry_poll_s = 0.05, 0.1, 0.05
    _, key = gw.keys.create("tests")
    server = ServerThread(app, port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    try:
        yield LiveGateway(url=url, key=key, http=http, app=app), seen
    finally:
        http.close()
        server.stop()


def _message(wa_id: str, text: str) -> dict[str, Any]:
    return {"from": wa_id, "id": f"wamid.nul-{wa_id}-{time.monotonic_ns()}", "timestamp": str(int(time.time())),
            "type": "text", "text": {"body": text}}


def _payload(live: LiveGateway, messages: list[dict[str, Any]]) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": live.gw.settings.phone_number_id},
        "contacts": [{"profile": {"name": f"N\x00{m['from']}"}, "wa_id": m["from"]} for m in messages],
        "messages": messages,
    }
    body = {"object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}
    return json.dumps(body).encode()


def test_nul_in_a_text_body_or_a_key_name_is_422_and_nothing_is_written(pg_live: tuple[LiveGateway, list[Any]]) -> None:
    live, _ = pg_live
    resp = live.http.post("/v1/messages", json={"to": "+15551238001", "type": "text", "text": {"body": "a\x00b"}})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "text.body", resp.text
    assert live.http.get("/v1/jobs").json()["jobs"] == []
    resp = live.http.post("/v1/keys", json={"name": "a\x00b"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "name", resp.text
    assert [k["name"] for k in live.http.get("/v1/keys").json()["keys"]] == ["tests"]


def test_a_webhook_message_with_nul_does_not_hold_back_the_next_one(pg_live: tuple[LiveGateway, list[Any]]) -> None:
    live, seen = pg_live
    odd, fine = _message("15551238002", "bad\x00text"), _message("15551238003", "hello")
    raw = _payload(live, [odd, fine])
    headers = {"Content-Type": "application/json", signature.HEADER: signature.sign(raw, APP_SECRET)}
    assert httpx.post(f"{live.url}/webhook", content=raw, headers=headers, timeout=10).status_code == 200
    wait_for(lambda: len(seen) == 2, 20, "the bot to get both messages")
    assert [u.message.id for u in seen] == [odd["id"], fine["id"]]
    receiver = live.gw.webhook_app.receiver
    assert receiver.stats.dead_lettered == 0
    # Both are in the conversation log; the NUL is replaced, never stored.
    logged = live.http.get("/v1/conversations/15551238002/messages").json()["messages"]
    assert [m["summary"] for m in logged] == ["bad\ufffdtext"]
    assert live.http.get("/v1/conversations/15551238003/messages").json()["messages"][0]["summary"] == "hello"
    # Both opened their customer's 24-hour window in the outbox.
    for wa_id in ("15551238002", "15551238003"):
        contact = live.gw.outbox.contact(wa_id)
        assert contact is not None and contact.last_inbound is not None, wa_id


def test_concurrent_sends_with_one_idempotency_key_log_one_row_on_postgres(
    pg_live: tuple[LiveGateway, list[Any]],
) -> None:
    live, _ = pg_live
    body = {"to": "+15551238010", **HELLO}
    clients = [httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {live.key}"}, timeout=60)
               for _ in range(25)]
    try:
        for c in clients:
            c.get("/healthz")
        with ThreadPoolExecutor(max_workers=25) as pool:
            answers = list(pool.map(lambda i: clients[i % 25].post(
                "/v1/messages", json=body, headers={"Idempotency-Key": "pg-race"}), range(50)))
    finally:
        for c in clients:
            c.close()
    assert {r.status_code for r in answers} == {202}
    assert len({r.json()["id"] for r in answers}) == 1
    logged = live.http.get("/v1/conversations/15551238010/messages").json()["messages"]
    assert len(logged) == 1


def test_the_conversation_log_migration_on_postgres(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        db.execute("""CREATE TABLE wacloud_gw_messages (
            id BIGSERIAL PRIMARY KEY, wa_id TEXT NOT NULL, direction TEXT NOT NULL, type TEXT NOT NULL,
            wamid TEXT, job_id TEXT, status TEXT, summary TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
            body TEXT, name TEXT)""")
        db.execute("CREATE INDEX wacloud_gw_messages_job ON wacloud_gw_messages (job_id)")
        for job_id, wamid in (("1", None), ("1", "wamid.A"), ("1", None), ("2", None), ("2", None), (None, None)):
            db.execute("INSERT INTO wacloud_gw_messages (wa_id, direction, type, wamid, job_id, status, summary, ts) "
                       "VALUES ('155', 'out', 'text', ?, ?, 'queued', 'hi', 1.0)", (wamid, job_id))
        history = History(db)
        kept = db.execute("SELECT id, job_id, wamid FROM wacloud_gw_messages ORDER BY id")
        assert kept == [(2, "1", "wamid.A"), (4, "2", None), (6, None, None)]
        history.record_outbound("155", "2", {"type": "text", "text": {"body": "again"}})
        assert len(db.execute("SELECT 1 FROM wacloud_gw_messages WHERE job_id = '2'")) == 1
        History(db)
    finally:
        db.close()
