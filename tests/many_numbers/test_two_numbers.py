"""Two numbers in two WABAs behind one gateway: own rates, own webhooks, unrouted ones kept apart,
the throughput upgrade, keys limited to a number (sandbox over HTTP, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .conftest import A, B, TwoNumbers, database_url, start_two_numbers, wait_for

A_ID, B_ID = A["phone_number_id"], B["phone_number_id"]
#: A paces at 4 msg/s, B at 8 (12 once upgraded): small rates, so two shared cores keep up.
NUMBERS = [
    {**A, "name": "Brand A", "mps": 4},
    {**B, "name": "Brand B", "mps": 8, "max_mps": 12},
]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def two(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNumbers]:
    tmp = tmp_path_factory.mktemp("two")
    with pytest.MonkeyPatch.context():
        for url in database_url(request.param, tmp):
            yield from start_two_numbers(tmp, NUMBERS, database_url=url)


def _rate(times: list[float]) -> float:
    """Messages per second between the first and the last acceptance."""
    return (len(times) - 1) / (times[-1] - times[0])


def _done(two: TwoNumbers, jobs: list[dict[str, Any]]) -> bool:
    states = [two.http.get(f"/v1/jobs/{j['id']}").json()["state"] for j in jobs]
    return all(s in ("accepted", "sent", "delivered", "read") for s in states)


def test_numbers_are_listed_with_their_rate_waba_and_backlog(two: TwoNumbers) -> None:
    numbers = two.http.get("/v1/numbers").json()["numbers"]
    assert [(n["phone_number_id"], n["waba_id"], n["name"]) for n in numbers] == [
        (A_ID, A["waba_id"], "Brand A"), (B_ID, B["waba_id"], "Brand B")]
    # The rate follows the level the sandbox reports (STANDARD): each number's configured mps.
    assert {n["phone_number_id"]: (n["throughput_level"], n["rate"]) for n in numbers} == {
        A_ID: ("STANDARD", 4.0), B_ID: ("STANDARD", 8.0)}
    assert all(n["paused"] is False and n["backlog"] >= 0 and n["quality"] == "GREEN" for n in numbers)


def test_two_numbers_send_concurrently_each_at_its_own_rate(two: TwoNumbers) -> None:
    before = {pid: len(two.accepted_at(pid)) for pid in (A_ID, B_ID)}
    jobs = [two.send(A_ID, f"+1555200{i:04d}") for i in range(13)]
    jobs += [two.send(B["display_phone_number"], f"+1555300{i:04d}") for i in range(25)]  # "from" by display
    assert {j["phone_number_id"] for j in jobs[:13]} == {A_ID} and {j["phone_number_id"] for j in jobs[13:]} == {B_ID}
    wait_for(lambda: _done(two, jobs), 60, "every job accepted")
    a = two.accepted_at(A_ID)[before[A_ID]:]
    b = two.accepted_at(B_ID)[before[B_ID]:]
    assert (len(a), len(b)) == (13, 25)
    rate_a, rate_b = _rate(a), _rate(b)
    print(f"measured: number A {rate_a:.2f} msg/s (paced to 4), number B {rate_b:.2f} msg/s (paced to 8)")
    # Pacing never exceeds a number's rate (GCRA: n messages take at least (n-1)/rate seconds).
    assert rate_a <= 4 * 1.1 and rate_b <= 8 * 1.1
    # Concurrently: B's sends happen while A's do, and B (twice A's rate) finishes its 25 first.
    assert b[0] < a[-1] and rate_b > rate_a * 1.3


def test_each_inbound_webhook_lands_on_its_number(two: TwoNumbers) -> None:
    for pid, customer in ((A_ID, "15554440001"), (B_ID, "15554440002")):
        resp = two.sandbox.control.post("/inbound", json={"from": customer, "to": pid, "type": "text",
                                                          "text": {"body": f"hello {pid}"}})
        assert resp.status_code == 200, resp.text

    def conversations(number: str) -> set[str]:
        found = two.http.get("/v1/conversations", params={"number": number}).json()["conversations"]
        return {c["wa_id"] for c in found}

    wait_for(lambda: "15554440001" in conversations(A_ID) and "15554440002" in conversations(B_ID), 20,
             "each conversation on its number")
    assert "15554440002" not in conversations(A_ID) and "15554440001" not in conversations(B_ID)
    # The display number selects the same number.
    assert conversations(B["display_phone_number"]) == conversations(B_ID)
    # The customer's message is B's, not A's.
    msgs = two.http.get("/v1/conversations/15554440002/messages", params={"number": B_ID}).json()["messages"]
    assert [m["direction"] for m in msgs] == ["in"]
    assert two.http.get("/v1/conversations/15554440002/messages",
                        params={"number": A_ID}).json()["messages"] == []


def test_a_webhook_for_a_number_not_served_is_kept_apart(two: TwoNumbers) -> None:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15559999999", "phone_number_id": "399999999999999"},
             "contacts": [{"profile": {"name": "Stray"}, "wa_id": "15557770000"}],
             "messages": [{"from": "15557770000", "id": "wamid.stray-1", "timestamp": "1767225600",
                           "type": "text", "text": {"body": "for another gateway"}}]}
    assert two.post_webhook(value).status_code == 200
    assert two.post_webhook(value).status_code == 200  # Meta's redelivery: kept once

    def kept() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = two.http.get("/v1/webhooks/unrouted").json()["updates"]
        return [u for u in found if u["phone_number_id"] == "399999999999999"]

    [stray] = wait_for(kept, 20, "the stray update kept apart")
    assert stray["kind"] == "MessageUpdate" and stray["body"]["id"] == "wamid.stray-1"
    assert two.http.get("/v1/webhooks/unrouted").json()["counts"]["399999999999999"] == 1
    # Never mixed in: no conversation, on any number, and no log line.
    assert all(c["wa_id"] != "15557770000" for c in two.http.get("/v1/conversations").json()["conversations"])
    assert two.http.get("/v1/conversations/15557770000/messages").json()["messages"] == []
    metrics = httpx.get(f"{two.url}/metrics").text
    assert 'wacloud_webhooks_unrouted_total{phone_number_id="399999999999999"} 1.0' in metrics


def test_a_key_limited_to_number_a_gets_403_on_b(two: TwoNumbers) -> None:
    made = two.http.post("/v1/keys", json={"name": "brand-a", "numbers": [A["display_phone_number"]]})
    assert made.status_code == 201 and made.json()["numbers"] == [A_ID]
    limited = httpx.Client(base_url=two.url, headers={"Authorization": f"Bearer {made.json()['key']}"}, timeout=20)
    try:
        body = {"to": "+15556660001", "type": "text", "text": {"body": "x"}}
        denied = limited.post("/v1/messages", json={**body, "from": B_ID})
        assert denied.status_code == 403 and denied.json()["error"]["field"] == "from"
        assert B_ID in denied.json()["error"]["reason"]
        ok = limited.post("/v1/messages", json=body)  # its one number needs no "from"
        assert ok.status_code == 202 and ok.json()["phone_number_id"] == A_ID
        b_job = two.send(B_ID, "+15556660002")
        assert limited.get(f"/v1/jobs/{b_job['id']}").status_code == 403
        assert limited.get("/v1/jobs", params={"number": B_ID}).status_code == 403
        assert {j["phone_number_id"] for j in limited.get("/v1/jobs").json()["jobs"]} == {A_ID}
        assert [n["phone_number_id"] for n in limited.get("/v1/numbers").json()["numbers"]] == [A_ID]
        escalate = limited.post("/v1/keys", json={"name": "sneaky", "numbers": [B_ID]})
        assert escalate.status_code == 403
    finally:
        limited.close()


def test_from_is_required_with_several_numbers_and_must_be_served(two: TwoNumbers) -> None:
    body = {"to": "+15556660003", "type": "text", "text": {"body": "x"}}
    missing = two.http.post("/v1/messages", json=body)
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "from"
    unknown = two.http.post("/v1/messages", json={**body, "from": "123"})
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "from"
    campaign = two.http.post("/v1/campaigns", json={"template": "hello_world", "recipients": [{"to": "+15556660004"}]})
    assert campaign.status_code == 422 and campaign.json()["error"]["field"] == "from"
    bad_filter = two.http.get("/v1/jobs", params={"number": "123"})
    assert bad_filter.status_code == 422 and bad_filter.json()["error"]["field"] == "number"


def test_a_campaign_goes_out_from_its_number(two: TwoNumbers) -> None:
    resp = two.http.post("/v1/campaigns", json={"from": B_ID, "template": "hello_world", "id": "cmp-b",
                                                "recipients": [{"to": "+15558880001"}, {"to": "+15558880002"}]})
    assert resp.status_code == 202, resp.text
    jobs = two.http.get("/v1/jobs", params={"campaign": "cmp-b"}).json()["jobs"]
    assert len(jobs) == 2 and {j["phone_number_id"] for j in jobs} == {B_ID}
    assert two.http.get("/v1/campaigns/cmp-b").json()["total"] == 2


def test_pausing_one_number_holds_only_its_messages(two: TwoNumbers) -> None:
    paused = two.http.post(f"/v1/numbers/{A_ID}/pause", params={"seconds": 600})
    assert paused.status_code == 200 and paused.json()["paused"] is True
    held = two.send(A_ID, "+15559990001")
    goes = two.send(B_ID, "+15559990002")
    wait_for(lambda: _done(two, [goes]), 20, "B's message sent while A is paused")
    assert two.http.get(f"/v1/jobs/{held['id']}").json()["state"] == "queued"
    numbers = {n["phone_number_id"]: n for n in two.http.get("/v1/numbers").json()["numbers"]}
    assert numbers[A_ID]["backlog"] >= 1 and not numbers[B_ID]["paused"]
    metrics = httpx.get(f"{two.url}/metrics", params={"number": A_ID}).text
    assert f'wacloud_number_paused{{phone_number_id="{A_ID}"}} 1.0' in metrics and B_ID not in metrics
    resumed = two.http.post(f"/v1/numbers/{A['display_phone_number']}/resume")
    assert resumed.status_code == 200 and resumed.json()["paused"] is False
    wait_for(lambda: _done(two, [held]), 20, "A's message sent once resumed")
