"""A username-only customer (no phone number) served end to end by ``wacloud serve``'s app (sandbox mode),
on SQLite and on PostgreSQL: found by username, answered by BSUID, one conversation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.gateway.conftest import LiveGateway, start_gateway, wait_for


@pytest.fixture
def live(store_url: str, tmp_path: Path) -> Iterator[LiveGateway]:
    """A sandbox-mode gateway on a fresh SQLite file or PostgreSQL schema."""
    server, gateway = start_gateway(tmp_path / "wacloud.db", database_url=store_url)
    try:
        yield gateway
    finally:
        gateway.http.close()
        server.stop()


def test_a_username_only_customer_is_served_end_to_end(live: LiveGateway) -> None:
    made = httpx.post(f"{live.sandbox}/_sandbox/customers", json={"username": "solo.user"},
                      headers=live.control_headers, timeout=10)
    assert made.status_code == 200, made.text
    bsuid = made.json()["user_id"]
    assert made.json()["phone"] is None
    live.inject(bsuid, text="hi, no phone here")

    # The webhook taught the gateway who this is: found by username, BSUID and contact id.
    # (The ids are learnt as the update is handled, the window opened a step later: wait for both.)
    contact = wait_for(lambda: (r := live.http.get("/v1/contacts/@solo.user")).status_code == 200
                       and r.json()["window_open"] and r.json(), 15, "the contact to be learned, window open")
    assert contact["bsuid"] == bsuid and contact["wa_id"] is None and contact["username"] == "solo.user"
    assert contact["address"] == bsuid and contact["window_open"] is True
    assert live.http.get(f"/v1/contacts/{bsuid}").json()["contact_id"] == contact["contact_id"]
    assert live.http.get(f"/v1/contacts/{contact['contact_id']}").json()["bsuid"] == bsuid
    assert live.http.get("/v1/contacts/@nobody.here").status_code == 404

    # A reply by BSUID, given in "to" (moved to "recipient") or in "recipient".
    for body in ({"to": bsuid, "type": "text", "text": {"body": "answer one"}},
                 {"recipient": bsuid, "type": "text", "text": {"body": "answer two"}}):
        resp = live.http.post("/v1/messages", json=body)
        assert resp.status_code == 202, resp.text
        job = live.wait_job(resp.json()["id"], {"accepted", "sent", "delivered", "read"})
        assert job["wamid"]
    received = httpx.get(f"{live.sandbox}/_sandbox/customers/{bsuid}/messages", headers=live.control_headers,
                         timeout=10).json()["received"]
    assert sorted(m["body"]["text"]["body"] for m in received) == ["answer one", "answer two"]
    assert all(m["body"]["recipient"] == bsuid and "to" not in m["body"] for m in received)

    # Authentication templates need a phone number: refused before any call, naming the field.
    otp = {"recipient": bsuid, "type": "template", "template": {"name": "otp", "language": {"code": "en_US"}}}
    refused = live.http.post("/v1/messages", json=otp, params={"category": "authentication"})
    assert refused.status_code == 422 and "recipient" in refused.text and "phone number" in refused.text

    # One conversation, by any id of the person.
    convo = wait_for(lambda: (m := live.http.get("/v1/conversations/@solo.user/messages").json()["messages"])
                     and len(m) >= 3 and m, 15, "the conversation to be logged")
    assert [m["direction"] for m in convo][:1] == ["in"] and {m["direction"] for m in convo} == {"in", "out"}
    assert {m["contact_id"] for m in convo} == {contact["contact_id"]}
