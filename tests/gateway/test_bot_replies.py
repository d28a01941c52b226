"""A bot run by the gateway (``wacloud serve --app``) replies through the outbox: a job, durable, retried.

The embedded sandbox answers the first send attempt with a 500 (fault injection through its control
API); the reply is not lost: the outbox retries it and it reaches the customer, once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from wacloud.bot import Application, OutboxReplies, filters
from wacloud.webhooks import MessageUpdate

from .conftest import LiveGateway, start_gateway, wait_for

CUSTOMER = "15557100001"


def _received(live: LiveGateway, text: str) -> list[dict[str, Any]]:
    got = httpx.get(f"{live.sandbox}/_sandbox/customers/{CUSTOMER}/messages", headers=live.control_headers,
                    timeout=10).json()["received"]
    return [m for m in got if text in json.dumps(m)]


def _faults(live: LiveGateway, **faults: Any) -> None:
    if faults:
        r = httpx.post(f"{live.sandbox}/_sandbox/faults", json=faults, headers=live.control_headers, timeout=10)
    else:
        r = httpx.delete(f"{live.sandbox}/_sandbox/faults", headers=live.control_headers, timeout=10)
    assert r.status_code == 200, r.text


def test_a_bot_reply_is_an_outbox_job_retried_after_a_5xx(tmp_path: Path) -> None:
    bot = Application()  # as `wacloud serve --app mybot:app` loads it: no client, no replies set

    @bot.on_message(filters.text)
    async def echo(msg: MessageUpdate) -> None:
        await msg.reply_text("echo: " + (msg.text or ""), quote=True)

    def prepare(app: Any) -> None:
        app.state.gateway.attach_bot(bot)

    server, live = start_gateway(tmp_path / "gw.db", prepare=prepare)
    try:
        _faults(live, error_500_rate=1.0)
        injected = live.inject(CUSTOMER, text="ping 7")
        outbox = live.gw.outbox

        def failed_once() -> Any:
            jobs = outbox.jobs(to=CUSTOMER)
            return jobs if jobs and jobs[0].attempts >= 1 else None

        [job] = wait_for(failed_once, 20, "the reply's first (failing) attempt")
        assert job.priority == 1  # the priority lane, ahead of campaigns
        assert job.body["text"]["body"] == "echo: ping 7"
        assert job.body["context"]["message_id"] == injected["id"]  # quoted
        assert not _received(live, "echo: ping 7")  # the 500: nothing reached the customer yet
        _faults(live)
        done = wait_for(lambda: live.http.get(f"/v1/jobs/{job.id}").json()["state"] in ("delivered", "read"),
                        30, "the retried reply to be delivered")
        assert done
        api_job = live.http.get(f"/v1/jobs/{job.id}").json()
        assert api_job["attempts"] >= 2 and api_job["wamid"].startswith("wamid.")
        assert len(_received(live, "echo: ping 7")) == 1
        # The conversation log has the reply, tied to its job.
        msgs = live.http.get(f"/v1/conversations/{CUSTOMER}/messages").json()["messages"]
        assert [m["job_id"] for m in msgs if m["direction"] == "out"] == [job.id]
        assert isinstance(bot.replies, OutboxReplies)
    finally:
        live.http.close()
        server.stop()


def test_direct_mode_sends_with_the_client_and_makes_no_job(tmp_path: Path) -> None:
    bot = Application(replies="direct")

    @bot.on_message(filters.text)
    async def echo(msg: MessageUpdate) -> None:
        await msg.reply_text("direct: " + (msg.text or ""))

    def prepare(app: Any) -> None:
        app.state.gateway.attach_bot(bot)

    server, live = start_gateway(tmp_path / "gw.db", prepare=prepare)
    try:
        live.inject(CUSTOMER, text="hi")
        wait_for(lambda: _received(live, "direct: hi"), 20, "the direct reply")
        assert live.gw.outbox.jobs(to=CUSTOMER) == []
    finally:
        live.http.close()
        server.stop()
