"""Hostile input at the HTTP API (issue 12): every bad value is a 4xx naming it, before anything is written."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud.gateway._db import Database
from wacloud.gateway._history import History

from .conftest import LiveGateway

HELLO = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}


def _post_raw(live: LiveGateway, path: str, body: Any, **kw: Any) -> httpx.Response:
    """POST JSON as escapes (``\\ud800`` cannot be encoded as UTF-8, so httpx's json= refuses it)."""
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return live.http.post(path, content=json.dumps(body), headers=headers, **kw)


def _job_count(live: LiveGateway) -> int:
    return len(live.http.get("/v1/jobs", params={"limit": 1000}).json()["jobs"])


@pytest.mark.parametrize(
    ("text", "what"), [("a\ud800b", "surrogate"), ("a\x00b", "NUL"), ("\udfff", "surrogate")]
)
def test_text_that_cannot_be_encoded_or_stored_is_422_and_nothing_is_queued(
    live: LiveGateway, text: str, what: str
) -> None:
    before = _job_count(live)
    resp = _post_raw(live, "/v1/messages", {"to": "+15551239001", "type": "text", "text": {"body": text}})
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["field"] == "text.body" and what in err["reason"]
    nested = {"to": "+15551239001", **HELLO}
    nested["template"] = {**HELLO["template"], "components": [
        {"type": "body", "parameters": [{"type": "text", "text": text}]}]}
    resp = _post_raw(live, "/v1/messages", nested)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "template.components[0].parameters[0].text"
    assert _job_count(live) == before


def test_an_unknown_key_holding_a_surrogate_is_named_escaped_not_a_500(live: LiveGateway) -> None:
    body = {"to": "+15551239001", "type": "text", "text": {"body": "hi"}, "x\ud800": 1}
    resp = _post_raw(live, "/v1/messages", body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "'x\\ud800'"


def test_a_key_name_with_nul_is_422(live: LiveGateway) -> None:
    resp = _post_raw(live, "/v1/keys", {"name": "ops\x00team"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "name" and "NUL" in resp.json()["error"]["reason"]
    assert all("\x00" not in k["name"] for k in live.http.get("/v1/keys").json()["keys"])


def test_the_key_store_refuses_a_nul_in_a_key_name(tmp_path: Path) -> None:
    from wacloud.errors import ValidationError
    from wacloud.gateway._keys import KeyStore

    keys = KeyStore(Database(f"sqlite:///{tmp_path / 'k.db'}"))
    with pytest.raises(ValidationError) as info:
        keys.create("ops\x00team")
    assert info.value.field == "name" and keys.list() == []


def test_a_job_id_beyond_64_bits_is_404(live: LiveGateway) -> None:
    for job_id in ("9223372036854775808", "99999999999999999999999999", "-9223372036854775809"):
        resp = live.http.get(f"/v1/jobs/{job_id}")
        assert resp.status_code == 404, resp.text
        assert resp.json()["error"]["field"] == "job_id"


def test_a_group_send_to_a_phone_number_is_422(live: LiveGateway) -> None:
    before = _job_count(live)
    body = {"to": "+15551239002", "recipient_type": "group", "type": "text", "text": {"body": "hi"}}
    resp = live.http.post("/v1/messages", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "to" and "group id" in resp.json()["error"]["reason"]
    # A real group id is well-formed but not something the gateway's outbox queues.
    resp = live.http.post("/v1/messages", json={**body, "to": "120363025246125486@g.us"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["field"] == "recipient_type"
    assert _job_count(live) == before


def test_authorization_without_bearer_says_what_is_expected(live: LiveGateway) -> None:
    for value in (live.key, f"Basic {live.key}", "Bearer", ""):
        resp = httpx.get(f"{live.url}/v1/jobs", headers={"Authorization": value})
        assert resp.status_code == 401, value
        reason = resp.json()["error"]["reason"]
        assert "Bearer <key>" in reason and live.key not in resp.text
        assert "missing API key" not in reason, (value, reason)
    missing = httpx.get(f"{live.url}/v1/jobs")
    assert "missing API key" in missing.json()["error"]["reason"]


@pytest.mark.parametrize(
    ("method", "path", "param"),
    [
        ("GET", "/v1/jobs", "campaign_id"),
        ("GET", "/v1/keys", "x"),
        ("GET", "/v1/conversations", "wa_id"),
        ("GET", "/v1/jobs/1", "verbose"),
        ("POST", "/v1/messages", "priority"),
        ("GET", "/v1/templates", "zzz"),
    ],
)
def test_unknown_query_parameters_are_422_naming_them(live: LiveGateway, method: str, path: str, param: str) -> None:
    body = {"to": "+15551239003", **HELLO} if method == "POST" else None
    before = _job_count(live)
    resp = live.http.request(method, path, params={param: "x"}, json=body)
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["field"] == param and "unknown query parameter" in err["reason"]
    assert _job_count(live) == before
    # Without the key, the answer is still 401 (the key is checked first).
    assert httpx.request(method, f"{live.url}{path}", params={param: "x"}).status_code == 401


def test_jobs_filter_by_campaign(live: LiveGateway) -> None:
    """``/v1/jobs?campaign=`` is a real filter: a campaign's jobs only (it used to be ignored)."""
    live.http.post("/v1/messages", json={"to": "+15551239011", **HELLO}).raise_for_status()
    resp = live.http.get("/v1/jobs", params={"campaign": "no-such-campaign"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["jobs"] == []


def test_known_query_parameters_still_work(live: LiveGateway) -> None:
    assert live.http.get("/v1/jobs", params={"state": "queued", "limit": 5}).status_code == 200
    assert live.http.get("/v1/conversations", params={"limit": 5}).status_code == 200
    resp = live.http.post("/v1/messages", params={"category": "utility"}, json={"to": "+15551239004", **HELLO})
    assert resp.status_code == 202, resp.text


def test_campaign_errors_name_campaign_fields_and_count_recipients_from_0(live: LiveGateway) -> None:
    recipients = [{"to": "+15551239010"}, {"to": "12"}, {"to": "+15551239011"}]
    # A bad recipient: 0-based, like the request validation's own paths.
    resp = live.http.post("/v1/campaigns", json={"template": "hello_world", "recipients": recipients})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "recipients.1.to", resp.text
    too_long = [{"to": "+15551239010"}, {"to": "1" * 65}]
    resp = live.http.post("/v1/campaigns", json={"template": "hello_world", "recipients": too_long})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "recipients.1.to", resp.text
    # A bad campaign-level value is the campaign's, not the first recipient's.
    good = [{"to": "+15551239012"}, {"to": "+15551239013"}]
    resp = live.http.post("/v1/campaigns", json={"template": "hello_world", "recipients": good, "category": "promo"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "category", resp.text
    resp = live.http.post("/v1/campaigns", json={"template": "hello_world\x00", "recipients": good})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "template", resp.text


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_sends_with_one_idempotency_key_log_one_conversation_row(live: LiveGateway, round_: int) -> None:
    wa_id = f"1555123902{round_}"
    body = {"to": f"+{wa_id}", **HELLO}
    clients = [httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {live.key}"}, timeout=60)
               for _ in range(25)]

    def send(i: int) -> httpx.Response:
        return clients[i % 25].post("/v1/messages", json=body, headers={"Idempotency-Key": f"race-{round_}"})

    try:
        for c in clients:  # connections open before the burst, so the requests really overlap
            c.get("/healthz")
        with ThreadPoolExecutor(max_workers=25) as pool:
            answers = list(pool.map(send, range(50)))
    finally:
        for c in clients:
            c.close()
    assert {r.status_code for r in answers} == {202}
    assert len({r.json()["id"] for r in answers}) == 1
    logged = live.http.get(f"/v1/conversations/{wa_id}/messages").json()["messages"]
    assert len(logged) == 1 and logged[0]["job_id"] == answers[0].json()["id"]


def test_the_conversation_log_migration_keeps_one_row_per_job(tmp_path: Path) -> None:
    # A database an older version wrote: a plain index on job_id and the race's duplicate rows.
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("""CREATE TABLE wacloud_gw_messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT, wa_id TEXT NOT NULL, direction TEXT NOT NULL,
            type TEXT NOT NULL, wamid TEXT, job_id TEXT, status TEXT, summary TEXT NOT NULL,
            ts DOUBLE PRECISION NOT NULL, body TEXT, name TEXT)""")
        conn.execute("CREATE INDEX wacloud_gw_messages_job ON wacloud_gw_messages (job_id)")
        rows = [("1", None, "queued"), ("1", "wamid.A", "read"), ("1", None, "queued"),
                ("2", None, "queued"), ("2", None, "queued"), (None, "wamid.IN", None), (None, "wamid.IN2", None)]
        for job_id, wamid, status in rows:
            conn.execute("INSERT INTO wacloud_gw_messages (wa_id, direction, type, wamid, job_id, status, summary, "
                         "ts, body) VALUES ('155', 'out', 'text', ?, ?, ?, 'hi', 1.0, NULL)", (wamid, job_id, status))
    history = History(Database(f"sqlite:///{path}"))
    with sqlite3.connect(path) as conn:
        kept = conn.execute("SELECT id, job_id, wamid FROM wacloud_gw_messages ORDER BY id").fetchall()
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert kept == [(2, "1", "wamid.A"), (4, "2", None), (6, None, "wamid.IN"), (7, None, "wamid.IN2")]
    assert "wacloud_gw_messages_job" not in indexes
    history.record_outbound("155", "2", {"type": "text", "text": {"body": "again"}})
    history.record_outbound("155", "3", {"type": "text", "text": {"body": "new"}})
    assert [m.job_id for m in history.messages("155")].count("2") == 1
    History(Database(f"sqlite:///{path}"))  # opening again is a no-op
