"""The events API on a real gateway (sandbox mode, uvicorn on loopback) and a real HTTP subscriber."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.events.receiver import Subscriber
from tests.gateway.conftest import LiveGateway, start_gateway, wait_for


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[LiveGateway]:
    server, live = start_gateway(tmp_path / "wacloud.db", subscription_retry_base_s=0.05,
                                 subscription_retry_max_s=0.2, subscription_max_attempts=3,
                                 subscription_pause_after=6, subscription_lease_s=3)
    try:
        yield live
    finally:
        live.http.close()
        server.stop()


def _subscribe(live: LiveGateway, sub: Subscriber, **extra: Any) -> dict[str, Any]:
    resp = live.http.post("/v1/subscriptions", json={"url": sub.url, **extra})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    assert body["secret"].startswith("whsec_")
    sub.secret = body["secret"]
    return body


def _chatter(live: LiveGateway, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        live.inject(f"1555000{i:04d}", type="text", text={"body": f"hello {i}"})


def _all(live: LiveGateway, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = params.pop("after", 0)
    while True:
        page = live.http.get("/v1/events", params={"after": after, "limit": 7, **params}).json()
        out += page["events"]
        after = page["next"]
        if not page["has_more"]:
            return out


def test_pull_pages_filters_and_bad_input(gw: LiveGateway) -> None:
    _chatter(gw, 5)
    wait_for(lambda: len(_all(gw, types="message.received")) == 5, 15, "five inbound events")
    received = _all(gw, types="message.received")
    assert [e["data"]["message"]["text"]["body"] for e in received] == [f"hello {i}" for i in range(5)]
    assert all(e["contact"]["wa_id"].startswith("1555000") for e in received)
    everything = _all(gw)
    assert [e["position"] for e in everything] == list(range(1, len(everything) + 1))
    assert _all(gw, number="no-such-number") == []
    bad = gw.http.get("/v1/events", params={"types": "message.received,nope"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "types"
    assert gw.http.get("/v1/events", params={"after": -1}).status_code == 422
    assert gw.http.get("/v1/events", params={"limit": 0}).status_code == 422
    assert gw.http.get("/v1/events", params={"bogus": 1}).status_code == 422
    assert httpx.get(f"{gw.url}/v1/events").status_code == 401


def test_subscription_gets_signed_events_and_replay_returns_exactly_those_after_the_cursor(
        gw: LiveGateway, subscriber: Subscriber) -> None:
    created = _subscribe(gw, subscriber, types=["message.received"])
    _chatter(gw, 6)
    wait_for(lambda: len(subscriber.got.events) == 6, 20, "six deliveries")
    assert subscriber.got.bad_signatures == 0
    # Different customers are delivered in parallel: compare as sets (per-contact order: test_kill).
    assert sorted(e["data"]["message"]["text"]["body"] for e in subscriber.got.events) == \
        [f"hello {i}" for i in range(6)]
    assert subscriber.got.ids == [e["id"] for e in subscriber.got.events]
    cursor = sorted(e["position"] for e in subscriber.got.events)[2]
    subscriber.got.events.clear()
    resp = gw.http.post(f"/v1/subscriptions/{created['id']}/replay", json={"from": cursor})
    assert resp.status_code == 200 and resp.json()["cursor"] == cursor
    wait_for(lambda: len(subscriber.got.events) >= 3, 20, "the replay")
    time.sleep(0.5)  # nothing more may come: the replay is exactly the events after the cursor
    assert sorted(e["data"]["message"]["text"]["body"] for e in subscriber.got.events) == \
        ["hello 3", "hello 4", "hello 5"]
    shown = gw.http.get(f"/v1/subscriptions/{created['id']}").json()
    assert "secret" not in shown and shown["delivery"]["delivered"] >= 9 and shown["delivery"]["last_status"] == 200
    assert shown["recent_attempts"][-1]["status"] == 200
    assert [s["id"] for s in gw.http.get("/v1/subscriptions").json()["subscriptions"]] == [created["id"]]
    assert gw.http.delete(f"/v1/subscriptions/{created['id']}").status_code == 200
    assert gw.http.get(f"/v1/subscriptions/{created['id']}").status_code == 404


def test_a_dead_subscriber_is_paused_and_flagged_then_resumed_with_nothing_lost(
        gw: LiveGateway, subscriber: Subscriber) -> None:
    subscriber.dead = True
    created = _subscribe(gw, subscriber, types=["message.received"])
    sub_url = f"/v1/subscriptions/{created['id']}"
    _chatter(gw, 3)
    paused = wait_for(lambda: (s := gw.http.get(sub_url).json())["state"] == "paused" and s, 30, "the pause")
    assert paused["failing"] is True and "failed attempts in a row" in paused["paused_reason"]
    assert paused["delivery"]["last_status"] == 500 and paused["delivery"]["failed_attempts"] >= 3
    subscriber.dead = False
    assert gw.http.post(f"{sub_url}/resume").json()["state"] == "active"
    # Resuming sends the backlog and the dead letters the outage caused.
    wait_for(lambda: len({e["id"] for e in subscriber.got.events}) == 3, 20, "the backlog after resume")
    wait_for(lambda: gw.http.get(sub_url).json()["dead_letters"] == [], 10, "no dead letter left")
    assert gw.http.get(sub_url).json()["failing"] is False


def test_dead_letters_are_kept_and_replayable(gw: LiveGateway, subscriber: Subscriber) -> None:
    created = _subscribe(gw, subscriber, types=["message.received"])
    sub_url = f"/v1/subscriptions/{created['id']}"
    # Every request about "hello 1" fails; the others pass, so the subscription is not paused.
    original = subscriber.handle

    def picky(body: bytes, headers: dict[str, str]) -> int:
        if b"hello 1" in body and not getattr(subscriber, "forgive", False):
            return 500
        return original(body, headers)

    subscriber.handle = picky  # type: ignore[method-assign]
    _chatter(gw, 3)
    dead = wait_for(lambda: gw.http.get(sub_url).json()["dead_letters"], 20, "a dead letter")
    assert len(dead) == 1 and dead[0]["attempts"] == 3
    wait_for(lambda: len(subscriber.got.events) == 2, 20, "the other two")
    subscriber.forgive = True  # type: ignore[attr-defined]
    assert gw.http.post(f"{sub_url}/replay", json={"dead_letters": True}).json()["requeued_dead_letters"] == 1
    wait_for(lambda: len(subscriber.got.events) == 3, 20, "the replayed dead letter")
    assert subscriber.got.events[-1]["data"]["message"]["text"]["body"] == "hello 1"
    wait_for(lambda: gw.http.get(sub_url).json()["dead_letters"] == [], 10, "the dead letter gone")


def test_subscription_input_is_checked(gw: LiveGateway) -> None:
    bad = [({"url": "ftp://example.com/x"}, "url"), ({"url": "http://x.test", "types": ["nope"]}, "types"),
           ({"url": "http://x.test", "extra": 1}, "extra"), ({"url": "http://x.test", "start": "yesterday"}, "start")]
    for body, field in bad:
        resp = gw.http.post("/v1/subscriptions", json=body)
        assert resp.status_code == 422, (body, resp.text)
        assert field in (resp.json()["error"].get("field") or ""), resp.text
    assert gw.http.post("/v1/subscriptions/sub_nope/replay", json={"from": 1}).status_code == 404
    created = gw.http.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/x"}).json()
    resp = gw.http.post(f"/v1/subscriptions/{created['id']}/replay", json={"from": "not a time"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "from"
    assert gw.http.post(f"/v1/subscriptions/{created['id']}/replay", json={}).status_code == 422
    assert gw.http.post(f"/v1/subscriptions/{created['id']}/pause").json()["state"] == "paused"


def _sse(live: LiveGateway, headers: dict[str, str], params: dict[str, Any], want: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    with httpx.stream("GET", f"{live.url}/v1/events/stream", params=params, timeout=30,
                      headers={"Authorization": f"Bearer {live.key}", **headers}) as resp:
        assert resp.status_code == 200
        current: dict[str, Any] = {}
        for line in resp.iter_lines():
            if line.startswith("id:"):
                current["id"] = line[3:].strip()
            elif line.startswith("data:"):
                current["data"] = json.loads(line[5:].strip())
            elif not line and "data" in current:
                got.append(current)
                current = {}
                if len(got) == want:
                    return got
    return got


def test_sse_follows_and_resumes_with_last_event_id(gw: LiveGateway) -> None:
    _chatter(gw, 4)
    wait_for(lambda: len(_all(gw, types="message.received")) == 4, 15, "four inbound events")
    logged = [e["data"]["message"]["text"]["body"] for e in _all(gw, types="message.received")]
    # Four customers' messages are handled concurrently: the log's order (not the sending order) is the truth.
    assert sorted(logged) == ["hello 0", "hello 1", "hello 2", "hello 3"]
    first = _sse(gw, {}, {"after": 0, "types": "message.received"}, 2)
    assert [e["data"]["data"]["message"]["text"]["body"] for e in first] == logged[:2]
    assert all(e["id"] == str(e["data"]["position"]) for e in first)
    rest = _sse(gw, {"Last-Event-ID": first[-1]["id"]}, {"types": "message.received"}, 2)
    assert [e["data"]["data"]["message"]["text"]["body"] for e in rest] == logged[2:]
    resp = httpx.get(f"{gw.url}/v1/events/stream", headers={"Authorization": f"Bearer {gw.key}",
                                                             "Last-Event-ID": "abc"}, timeout=10)
    assert resp.status_code == 422


def _post_webhook(live: LiveGateway, field: str, value: dict[str, Any]) -> None:
    from tests.gateway.conftest import APP_SECRET

    from wacloud.webhooks.signature import sign

    body = json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "200000000000001", "time": int(time.time()), "changes": [{"field": field, "value": value}]}]}).encode()
    resp = httpx.post(f"{live.url}/webhook", content=body, timeout=10,
                      headers={"content-type": "application/json", "x-hub-signature-256": sign(body, APP_SECRET)})
    assert resp.status_code == 200, resp.text


def test_template_and_number_webhooks_become_events(gw: LiveGateway) -> None:
    template = {"event": "PAUSED", "message_template_id": 77, "message_template_name": "order_update",
                "message_template_language": "en_US", "reason": "LOW_QUALITY"}
    _post_webhook(gw, "message_template_status_update", template)
    _post_webhook(gw, "message_template_quality_update", {
        "previous_quality_score": "GREEN", "new_quality_score": "YELLOW", "message_template_id": 77,
        "message_template_name": "order_update", "message_template_language": "en_US"})
    _post_webhook(gw, "phone_number_quality_update", {"display_phone_number": "15550000001",
                                                      "event": "THROUGHPUT_UPGRADE"})
    _post_webhook(gw, "phone_number_quality_update", {"display_phone_number": "15550000001", "event": "DOWNGRADE",
                                                      "current_limit": "TIER_1K"})
    wanted = "template.status_changed,template.quality_changed,number.throughput_changed,number.quality_changed"
    wait_for(lambda: len(_all(gw, types=wanted)) == 4, 15, "four account events")
    got = _all(gw, types=wanted)
    assert [e["type"] for e in got] == wanted.split(",")
    assert got[0]["data"]["value"] == template and got[0]["contact"] is None
    assert {e["phone_number_id"] for e in got} == {"waba:200000000000001"}
    assert [e["seq"] for e in got] == [1, 2, 3, 4]


def test_retention_prunes_old_events_in_a_running_gateway(tmp_path: Path) -> None:
    from wacloud.events import NewEvent, append

    server, live = start_gateway(tmp_path / "wacloud.db", events_retention_days=0.0001)  # about 9 s
    try:
        db = live.gw.events_db
        old, fresh = time.time() - 3600, time.time() + 3600
        db.run(lambda tx: append(tx, [NewEvent("account.updated", "waba:1", {"old": True}, at=old),
                                      NewEvent("account.updated", "waba:1", {"old": False}, at=fresh)]))
        wait_for(lambda: [e["data"] for e in _all(live, types="account.updated")] == [{"old": False}], 20,
                 "the old event pruned")
    finally:
        live.http.close()
        server.stop()


def test_a_customers_new_number_and_new_identity_become_events(gw: LiveGateway) -> None:
    """Meta's two system notices, through the sandbox and the gateway's webhook path, each one event."""
    old, new = "15550004242", "15550004343"
    gw.inject(old, type="text", text={"body": "hello"})
    wait_for(lambda: gw.http.get(f"/v1/contacts/{old}").status_code == 200, 15, "the contact")
    contact_id = gw.http.get(f"/v1/contacts/{old}").json()["contact_id"]
    moved = httpx.post(f"{gw.sandbox}/_sandbox/customers/{old}/number", json={"wa_id": new},
                       headers=gw.control_headers, timeout=10)
    assert moved.status_code == 200, moved.text
    wait_for(lambda: _all(gw, types="contact.identity_changed"), 15, "the number change event")
    gw.inject(new, system={"type": "customer_identity_changed", "identity": {"hash": "h-new"}})
    wait_for(lambda: len(_all(gw, types="contact.identity_changed")) == 2, 15, "the identity event")
    number, identity = _all(gw, types="contact.identity_changed")
    assert number["data"]["reason"] == "user_changed_number" and number["data"]["new_wa_id"] == new
    assert number["data"]["previous"]["wa_id"] == old and number["contact"]["wa_id"] == new
    assert identity["data"]["reason"] == "customer_identity_changed"
    assert identity["data"]["identity"]["hash"] == "h-new" and identity["data"]["previous_hash"] is None
    assert {number["contact"]["contact_id"], identity["contact"]["contact_id"]} == {contact_id}  # one person
