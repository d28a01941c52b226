"""A chunk of statuses is one transaction of the gateway's database: the outbox's changes (here, statuses
kept until their send is recorded), the conversation log's rows (keyed by the contact the same transaction
learnt), their events and the number's contacts commit together, or (a failure) none of them does."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud.gateway._number_log import NumberLog
from wacloud.webhooks.signature import sign

from .conftest import APP_SECRET, start_gateway, wait_for


def _payload(pid: str, wamids: list[str], wa_ids: list[str]) -> bytes:
    statuses = [{"id": w, "status": "sent", "timestamp": str(int(time.time())), "recipient_id": r}
                for w, r in zip(wamids, wa_ids, strict=True)]
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"messaging_product": "whatsapp",
                                       "metadata": {"display_phone_number": "15550001111", "phone_number_id": pid},
                                       "statuses": statuses}}]}]}
    return json.dumps(body).encode()


def test_a_status_chunk_commits_outbox_and_log_together(tmp_path: Path) -> None:
    chunks: list[list[Any]] = []

    def prepare(app: Any) -> None:
        dispatcher = app.state.gateway.webhook_app.receiver.dispatcher
        real = dispatcher._status_chunk

        def spy(items: list[Any]) -> None:
            chunks.append(items)
            real(items)

        dispatcher._status_chunk = spy

    server, live = start_gateway(tmp_path / "chunk.db")
    gw = live.app.state.gateway
    prepare(live.app)
    dispatcher = gw.webhook_app.receiver.dispatcher
    try:
        wamids, wa_ids = ["wamid.chunk.1", "wamid.chunk.2"], ["16505550101", "16505550102"]
        raw = _payload(gw.creds.phone_number_id, wamids, wa_ids)
        headers = {"content-type": "application/json", "x-hub-signature-256": sign(raw, APP_SECRET)}
        assert httpx.post(f"{live.url}/webhook", content=raw, headers=headers).status_code == 200
        wait_for(lambda: len(gw.db.execute("SELECT 1 FROM wacloud_gw_messages WHERE wamid LIKE 'wamid.chunk.%'")) == 2,
                 15, "the statuses in the log")
        items = chunks[0]
        assert dispatcher._one_store([lane.outbox for _, lane in items]) is not None  # one transaction
        early = gw.db.execute("SELECT wamid FROM early_statuses WHERE wamid LIKE 'wamid.chunk.%' ORDER BY wamid")
        assert [r[0] for r in early] == wamids  # kept for when their sends are recorded
        rows = gw.db.execute("SELECT wamid, wa_id, contact FROM wacloud_gw_messages WHERE wamid LIKE 'wamid.chunk.%' "
                             "ORDER BY wamid")
        for (wamid, wa_id, contact), want in zip(rows, wa_ids, strict=True):
            # Keyed by the person the same transaction learnt the recipient to be.
            assert wa_id == want and contact == gw.outbox.contact(want).contact_id, (wamid, contact)
        touched = gw.db.execute("SELECT wamid FROM wacloud_gw_number_wamids WHERE wamid LIKE 'wamid.chunk.%'")
        assert len(touched) == 2

        # The log cannot be written (its table is gone): the outbox's part rolls back with it, the new
        # customer's contact included.
        new_wa_id = "16505550199"
        fresh = [(u.model_copy(update={"status": u.status.model_copy(update={
            "id": u.status.id + "x", "recipient_id": new_wa_id if n == 0 else u.status.recipient_id})}), lane)
            for n, (u, lane) in enumerate(items)]
        gw.db.execute("DROP TABLE wacloud_gw_number_wamids")
        with pytest.raises(Exception, match="wacloud_gw_number_wamids"):
            dispatcher._status_chunk(fresh)
        assert not gw.db.execute("SELECT 1 FROM early_statuses WHERE wamid LIKE 'wamid.chunk.%x'")
        assert not gw.db.execute("SELECT 1 FROM wacloud_gw_messages WHERE wamid LIKE 'wamid.chunk.%x'")
        assert gw.outbox.contact(new_wa_id) is None

        # Applied again once the table is back: the contact is learnt again (not taken as stored), and keys
        # the new customer's log row.
        NumberLog(gw.db)
        dispatcher._status_chunk(fresh)
        contact = gw.outbox.contact(new_wa_id)
        assert contact is not None
        row = gw.db.execute("SELECT contact FROM wacloud_gw_messages WHERE wa_id = ?", (new_wa_id,))
        assert [r[0] for r in row] == [contact.contact_id]
    finally:
        live.http.close()
        server.stop()
