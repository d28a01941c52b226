"""The HTTP API over real HTTP, against the embedded sandbox: send, follow, converse, campaigns, media."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import APP_SECRET, VERIFY_TOKEN, LiveGateway, start_gateway, wait_for

CUSTOMER = "+15551230001"
HELLO = {
    "to": CUSTOMER,
    "type": "template",
    "template": {"name": "hello_world", "language": {"code": "en_US"}},
}


def test_api_key_missing_wrong_revoked_is_401(live: LiveGateway) -> None:
    missing = httpx.get(f"{live.url}/v1/jobs")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "missing API key" in missing.json()["error"]["reason"]
    wrong = httpx.get(f"{live.url}/v1/jobs", headers={"Authorization": "Bearer wk_not-a-real-key"})
    assert wrong.status_code == 401 and "wk_not-a-real-key" not in wrong.text
    created = live.http.post("/v1/keys", json={"name": "short-lived"})
    assert created.status_code == 201
    new = created.json()
    assert httpx.get(f"{live.url}/v1/jobs", headers={"X-API-Key": new["key"]}).status_code == 200
    revoked = live.http.delete(f"/v1/keys/{new['id']}")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    after = httpx.get(f"{live.url}/v1/jobs", headers={"Authorization": f"Bearer {new['key']}"})
    assert after.status_code == 401 and "revoked" in after.json()["error"]["reason"]
    listed = live.http.get("/v1/keys").json()["keys"]
    assert {k["id"] for k in listed} >= {new["id"]} and all("key" not in k for k in listed)


def test_send_template_follow_it_to_read(live: LiveGateway) -> None:
    resp = live.http.post("/v1/messages", json=HELLO)
    assert resp.status_code == 202, resp.text
    job = live.wait_job(resp.json()["id"], {"read"})
    assert job["wamid"].startswith("wamid.")
    assert [e["state"] for e in job["history"]] == ["queued", "accepted", "sent", "delivered", "read"]
    by_wamid = live.http.get(f"/v1/messages/{job['wamid']}").json()
    assert by_wamid["id"] == job["id"]
    # The sandbox's record agrees: the customer received it once.
    got = live.http.get(f"/sandbox/_sandbox/customers/{CUSTOMER[1:]}/messages").json()["received"]
    assert [m["id"] for m in got].count(job["wamid"]) == 1


def test_idempotency_key_sends_once(live: LiveGateway) -> None:
    body = {**HELLO, "to": "+15551230002"}
    first = live.http.post("/v1/messages", json=body, headers={"Idempotency-Key": "order-77"}).json()
    second = live.http.post("/v1/messages", json=body, headers={"Idempotency-Key": "order-77"}).json()
    assert first["id"] == second["id"]
    live.wait_job(first["id"], {"delivered", "read"})
    other = {**body, "template": {"name": "hello_world", "language": {"code": "en_GB"}}}
    reused = live.http.post("/v1/messages", json=other, headers={"Idempotency-Key": "order-77"})
    assert reused.status_code == 409 and reused.json()["error"]["field"] == "Idempotency-Key"
    received = live.http.get("/sandbox/_sandbox/customers/15551230002/messages").json()["received"]
    assert len(received) == 1


def test_bad_bodies_get_422_with_field_and_reason(live: LiveGateway) -> None:
    long_text = {"to": CUSTOMER, "type": "text", "text": {"body": "x" * 4097}}
    resp = live.http.post("/v1/messages", json=long_text)
    assert resp.status_code == 422
    err = resp.json()["error"]
    assert err["field"].endswith("body") and "4096" in err["reason"] + str(err)
    bad_phone = live.http.post("/v1/messages", json={**HELLO, "to": "12"})
    assert bad_phone.status_code == 422 and bad_phone.json()["error"]["field"] == "to"
    not_json = live.http.post("/v1/messages", content=b"{nope", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.json()["error"]["reason"]
    unknown_job = live.http.get("/v1/jobs/999999")
    assert unknown_job.status_code == 404 and unknown_job.json()["error"]["field"] == "job_id"
    bad_state = live.http.get("/v1/jobs", params={"state": "nonsense"})
    assert bad_state.status_code == 422


def test_customer_writes_then_a_text_reply_is_delivered(live: LiveGateway) -> None:
    wa_id = "15551230003"
    # Free-form text before the customer wrote: the outbox refuses it locally (window closed).
    early = live.http.post("/v1/messages", json={"to": wa_id, "type": "text", "text": {"body": "hi?"}}).json()
    failed = live.wait_job(early["id"], {"failed"})
    assert failed["error"]["code"] == 131047
    # With a fallback template, the same text goes out as that template instead.
    rescued = live.http.post(
        "/v1/messages",
        params={"fallback_template": "hello_world"},
        json={"to": wa_id, "type": "text", "text": {"body": "hi?"}},
    ).json()
    sent = live.wait_job(rescued["id"], {"delivered", "read"})
    assert sent["type"] == "template"
    live.inject(wa_id, text="Hello, is my order ready?", profile_name="Ana")
    convo = wait_for(
        lambda: [
            c
            for c in live.http.get("/v1/conversations").json()["conversations"]
            if c["wa_id"] == wa_id and c["inbound"]
        ],
        10,
        "the inbound message to be logged",
    )
    assert convo[0]["name"] == "Ana"
    reply = live.http.post("/v1/messages", json={"to": wa_id, "type": "text", "text": {"body": "Yes!"}}).json()
    live.wait_job(reply["id"], {"read"})
    msgs = wait_for(
        lambda: (
            [
                m
                for m in live.http.get(f"/v1/conversations/{wa_id}/messages").json()["messages"]
                if m["job_id"] == reply["id"] and m["status"] == "read"
            ]
            and live.http.get(f"/v1/conversations/{wa_id}/messages").json()["messages"]
        ),
        10,
        "the reply's read status in the conversation log",
    )
    inbound_wamid = next(m["wamid"] for m in msgs if m["direction"] == "in")
    marked = live.http.post(f"/v1/messages/{inbound_wamid}/read", params={"typing": "true"})
    assert marked.status_code == 200 and marked.json() == {"success": True}
    seen = live.http.get(f"/sandbox/_sandbox/customers/{wa_id}/messages").json()["sent"]
    assert [m["read"] for m in seen if m["id"] == inbound_wamid] == [True]
    too_long = live.http.post(f"/v1/messages/{'w' * 300}/read")
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "wamid"
    summaries = [(m["direction"], m["summary"]) for m in msgs]
    assert ("in", "Hello, is my order ready?") in summaries and ("out", "Yes!") in summaries


def test_campaign_runs_to_read_with_progress(live: LiveGateway) -> None:
    recipients = [{"to": f"+1555124{i:04d}"} for i in range(20)]
    started = live.http.post(
        "/v1/campaigns", json={"template": "hello_world", "recipients": recipients, "id": "spring-sale"}
    )
    assert started.status_code == 202, started.text
    assert started.json()["total"] == 20
    done = wait_for(
        lambda: (p := live.http.get("/v1/campaigns/spring-sale").json())["states"].get("read") == 20 and p,
        20,
        "every campaign message to be read",
    )
    assert done["failed_by_code"] == {} and done["done"]
    again = live.http.post(
        "/v1/campaigns", json={"template": "hello_world", "recipients": recipients, "id": "spring-sale"}
    ).json()
    assert again["duplicates"] == 20 and again["total"] == 20
    missing = live.http.get("/v1/campaigns/nope")
    assert missing.status_code == 404
    bad = live.http.post("/v1/campaigns", json={"template": "hello_world", "recipients": [{"to": "1"}]})
    assert bad.status_code == 422 and bad.json()["error"]["field"].startswith("recipients")


def test_media_upload_info_download_delete(live: LiveGateway) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    up = live.http.post("/v1/media", files={"file": ("pic.png", png, "image/png")})
    assert up.status_code == 201, up.text
    media_id = up.json()["id"]
    info = live.http.get(f"/v1/media/{media_id}").json()
    assert info["mime_type"] == "image/png" and info["file_size"] == len(png)
    assert live.http.get(f"/v1/media/{media_id}/content").content == png
    assert live.http.delete(f"/v1/media/{media_id}").json() == {"deleted": True}
    gone = live.http.get(f"/v1/media/{media_id}")
    assert gone.status_code in (400, 404) and gone.json()["error"]["code"]
    wrong_type = live.http.post("/v1/media", files={"file": ("x.exe", b"MZ", "application/x-msdownload")})
    assert wrong_type.status_code == 422


def test_operations_endpoints(live: LiveGateway) -> None:
    assert httpx.get(f"{live.url}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{live.url}/readyz")
    assert ready.status_code == 200 and set(ready.json()["checks"].values()) == {"ok"}
    live.wait_job(live.http.post("/v1/messages", json={**HELLO, "to": "+15551230009"}).json()["id"], {"read"})
    text = httpx.get(f"{live.url}/metrics").text
    assert 'wacloud_sends_total{code="0",outcome="accepted"}' in text
    assert "wacloud_queue_depth" in text and "wacloud_pacing_tokens" in text
    assert 'wacloud_webhook_latency_seconds_count{status="200"}' in text
    assert 'wacloud_jobs{state="read"}' in text
    docs = httpx.get(f"{live.url}/openapi.json").json()
    assert "/v1/messages" in docs["paths"] and httpx.get(f"{live.url}/docs").status_code == 200


def test_webhook_endpoint_checks_signature_and_handshake(live: LiveGateway) -> None:
    from wacloud.webhooks import signature

    ok = httpx.get(
        f"{live.url}/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "12345"},
    )
    assert ok.status_code == 200 and ok.text == "12345"
    bad = httpx.get(
        f"{live.url}/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
    )
    assert bad.status_code == 403
    body = b'{"object": "whatsapp_business_account", "entry": []}'
    unsigned = httpx.post(f"{live.url}/webhook", content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    signed = httpx.post(
        f"{live.url}/webhook",
        content=body,
        headers={"Content-Type": "application/json", signature.HEADER: signature.sign(body, APP_SECRET)},
    )
    assert signed.status_code == 200


def test_no_secret_in_any_answer(live: LiveGateway) -> None:
    secrets = [APP_SECRET, VERIFY_TOKEN, live.key, live.gw.creds.token]
    answers = [
        httpx.get(f"{live.url}/healthz"),
        httpx.get(f"{live.url}/readyz"),
        httpx.get(f"{live.url}/metrics"),
        httpx.get(f"{live.url}/openapi.json"),
        httpx.get(f"{live.url}/docs"),
        httpx.get(f"{live.url}/v1/jobs", headers={"Authorization": f"Bearer {live.key}x"}),
        live.http.get("/v1/jobs"),
        live.http.get("/v1/keys"),
        live.http.get("/v1/conversations"),
        live.http.post("/v1/messages", json={"to": "+1555", "type": "text"}),
        live.http.get("/v1/media/123"),
        live.http.get("/sandbox/_sandbox/config"),
        httpx.post(f"{live.url}/webhook", content=b"{}", headers={"Content-Type": "application/json"}),
    ]
    for resp in answers:
        for secret in secrets:
            assert secret not in resp.text, (resp.request.url, secret[:4])


def test_crashed_workers_restart_and_readiness_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wacloud.gateway._workers as workers

    monkeypatch.setattr(workers, "WORKER_RESTART_FIRST_S", 2.0)
    crashes = {"left": 1}

    def prepare(app: Any) -> None:
        outbox = app.state.gateway.outbox
        real_run = outbox.run

        async def flaky_run(**kwargs: Any) -> Any:
            # Fault injection: the first run dies as it would on a lost database connection.
            if crashes["left"]:
                crashes["left"] -= 1
                raise ConnectionError("database went away")
            return await real_run(**kwargs)

        outbox.run = flaky_run

    server, gw = start_gateway(tmp_path / "crash.db", prepare=prepare)
    try:
        first = httpx.get(f"{gw.url}/readyz")
        assert first.status_code == 503 and first.json()["checks"]["workers"] == "restarting"
        wait_for(lambda: httpx.get(f"{gw.url}/readyz").status_code == 200, 10, "the workers to be back")
        assert gw.gw.workers.restarts == 1
        job = gw.http.post("/v1/messages", json={**HELLO, "to": "+15551239999"}).json()
        gw.wait_job(job["id"], {"delivered", "read"})
    finally:
        gw.http.close()
        server.stop()


def test_a_status_waits_out_a_database_outage(tmp_path: Path) -> None:
    from wacloud.delivery import StoreError

    outage = {"left": 3}

    def prepare(app: Any) -> None:
        outbox = app.state.gateway.outbox
        real_apply = outbox.apply_statuses

        def flaky_apply(items: Any, **kwargs: Any) -> Any:
            # Fault injection: the database is down for the first few status writes (a payload's
            # statuses together, then one by one when the receiver falls back to single updates).
            if outage["left"]:
                outage["left"] -= 1
                raise StoreError("connection refused")
            return real_apply(items, **kwargs)

        outbox.apply_statuses = flaky_apply
        outbox.handle_retry_s = 0  # no waiting inside the outbox: the receiver's retry is under test
        # The receiver retries the payload (it stays pending meanwhile); quick retries for the test.
        receiver = app.state.gateway.webhook_app.receiver
        receiver.retry_first_s, receiver.retry_poll_s = 0.05, 0.05

    server, gw = start_gateway(tmp_path / "outage.db", prepare=prepare)
    try:
        job = gw.http.post("/v1/messages", json={**HELLO, "to": "+15551238888"}).json()
        done = gw.wait_job(job["id"], {"read"})
        assert outage["left"] == 0
        assert [e["state"] for e in done["history"]][-1] == "read"
        # ``retried`` counts failed *payload attempts*. The three statuses come in one to three payloads
        # (the sandbox batches the statuses that fall due together), and a failing update no longer
        # stops the others of its payload (issue 12 item 3): each payload fails once, is retried once
        # for all its failed updates, and nothing is set aside.
        stats = gw.gw.webhook_app.receiver.stats
        assert 1 <= stats.retried <= 3 and stats.dead_lettered == 0, stats
    finally:
        gw.http.close()
        server.stop()


def test_gateway_database_unreachable_is_503_not_500(tmp_path: Path) -> None:
    home = tmp_path / "data"
    home.mkdir()
    server, gw = start_gateway(home / "gw.db")
    try:
        assert gw.http.get("/v1/keys").status_code == 200
        # The directory disappears under the running gateway (a lost volume): SQLite cannot open the file.
        home.rename(tmp_path / "moved")
        home.write_text("not a directory")
        resp = gw.http.get("/v1/keys")
        assert resp.status_code == 503 and resp.headers["retry-after"] == "5"
        assert "database is unavailable" in resp.json()["error"]["reason"]
        assert httpx.get(f"{gw.url}/readyz").status_code == 503
    finally:
        gw.http.close()
        server.stop()


def test_a_restarted_gateway_gets_new_wamids_from_its_embedded_sandbox(tmp_path: Path) -> None:
    # The sandbox's id counters restart with the process; the store keeps the old wamids, so a
    # repeated wamid would send the new message's statuses (and log entry) to the old job.
    db = tmp_path / "restart.db"
    jobs = []
    for _ in range(2):
        server, gw = start_gateway(db)
        try:
            job = gw.http.post("/v1/messages", json={**HELLO, "to": "+15551230077"}).json()
            jobs.append(gw.wait_job(job["id"], {"read"}))
        finally:
            gw.http.close()
            server.stop()
    first, second = jobs
    assert first["wamid"] != second["wamid"]
    assert [e["state"] for e in second["history"]] == ["queued", "accepted", "sent", "delivered", "read"]
    server, gw = start_gateway(db)
    try:
        # The first job kept its own history: no status of the second send landed on it.
        assert gw.http.get(f"/v1/jobs/{first['id']}").json()["history"] == first["history"]
    finally:
        gw.http.close()
        server.stop()
