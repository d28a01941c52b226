"""A payload of several statuses goes to the outbox and the conversation log as one batch each.

A real sandbox-mode gateway over HTTP: messages are sent and read (the sandbox's own status webhooks),
then a signed payload with a ``played`` status for each message arrives at ``/webhook``. Its statuses
are applied together: nothing moves backwards, each gets its ``message.status`` event once, and a
redelivery of the payload adds nothing. A batch longer than ``STATUS_CHUNK`` goes in chunks of that many
(each chunk's transactions are short, so the delivery worker never waits behind a whole burst).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

from wacloud.gateway import _webhook
from wacloud.webhooks.signature import sign

from .conftest import APP_SECRET, start_gateway, wait_for

CUSTOMERS = [f"+1650555{i:04d}" for i in range(5)]


def _payload(gw: Any, wamids: list[str], wa_ids: list[str]) -> bytes:
    pid = gw.creds.phone_number_id
    statuses = [{"id": w, "status": "played", "timestamp": str(int(time.time())), "recipient_id": r}
                for w, r in zip(wamids, wa_ids, strict=True)]
    body = {"object": "whatsapp_business_account", "entry": [{"id": gw.creds.waba_id or "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"display_phone_number": "15550001111", "phone_number_id": pid},
                                       "statuses": statuses}}]}]}
    return json.dumps(body).encode()


def test_a_payload_of_statuses_is_applied_as_one_batch(tmp_path: Path, monkeypatch: Any) -> None:
    batches: list[int] = []
    chunks: list[int] = []
    monkeypatch.setattr(_webhook, "STATUS_CHUNK", 2)

    def prepare(app: Any) -> None:
        dispatcher = app.state.gateway.webhook_app.receiver.dispatcher
        real, real_chunk = dispatcher._statuses, dispatcher._status_chunk

        def spy(items: list[Any]) -> None:
            batches.append(len(items))
            real(items)

        def spy_chunk(items: list[Any]) -> None:
            chunks.append(len(items))
            real_chunk(items)

        dispatcher._statuses = spy
        dispatcher._status_chunk = spy_chunk

    server, gw = start_gateway(tmp_path / "batch.db", prepare=prepare)
    try:
        hello = {"type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
        jobs = [gw.http.post("/v1/messages", json={**hello, "to": to}).json() for to in CUSTOMERS]
        done = [gw.wait_job(job["id"], {"read"}) for job in jobs]
        wamids = [job["wamid"] for job in done]
        wa_ids = [to.lstrip("+") for to in CUSTOMERS]

        def status_events() -> list[dict[str, Any]]:
            page = gw.http.get("/v1/events", params={"types": "message.status", "limit": 1000}).json()
            return [e for e in page["events"] if e["data"]["wamid"] in wamids]

        wait_for(lambda: len(status_events()) >= 3 * len(wamids), 15, "the sandbox's statuses in the log")
        before = len(status_events())
        raw = _payload(gw.gw, wamids, wa_ids)
        headers = {"content-type": "application/json", "x-hub-signature-256": sign(raw, APP_SECRET)}
        for _ in range(2):  # Meta redelivers: the second copy adds nothing
            assert httpx.post(f"{gw.url}/webhook", content=raw, headers=headers).status_code == 200
        wait_for(lambda: len(status_events()) >= before + len(wamids), 15, "the played statuses in the log")
        time.sleep(0.3)
        assert len(batches) >= 1 and max(batches) == len(wamids)  # the whole payload, as one batch
        assert chunks and max(chunks) == 2 and sum(chunks) == sum(batches)  # applied in chunks of 2, all of it
        events = status_events()
        assert len(events) == before + len(wamids)  # once each, the redelivery added none
        assert sorted(e["data"]["wamid"] for e in events if e["data"]["status"] == "played") == sorted(wamids)
        for job in jobs:  # forward only: "played" counts as read, so nothing moved
            got = gw.http.get(f"/v1/jobs/{job['id']}").json()
            assert got["state"] == "read"
        for wa_id, wamid in zip(wa_ids, wamids, strict=True):
            msgs = gw.http.get(f"/v1/conversations/{wa_id}/messages").json()["messages"]
            mine = [m for m in msgs if m.get("wamid") == wamid]
            assert len(mine) == 1 and mine[0]["status"] in ("read", "played"), mine
    finally:
        gw.http.close()
        server.stop()
