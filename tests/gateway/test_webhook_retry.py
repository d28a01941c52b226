"""The gateway's webhook over real HTTP: system failures are retried, bot failures are not, nothing is lost.

Updates are POSTed, signed, to the running gateway's ``/webhook``. Faults are injected into the
outbox and the conversation log (the system) and into a bot handler (user code).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud.bot import Application
from wacloud.webhooks import MessageUpdate, Update, signature

from .conftest import APP_SECRET, LiveGateway, start_gateway, wait_for

PHONE_ID = "100000000000001"  # the sandbox-mode gateway's first number (others are kept apart)


def _message(n: int, text: str = "hi") -> tuple[str, bytes]:
    wamid = f"wamid.retry-test-{n}-{time.monotonic_ns()}"
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


def _post(gw: LiveGateway, raw: bytes) -> int:
    headers = {"Content-Type": "application/json", signature.HEADER: signature.sign(raw, APP_SECRET)}
    return httpx.post(f"{gw.url}/webhook", content=raw, headers=headers, timeout=10).status_code


def _fast_retries(app: Any, *, max_attempts: int = 8) -> Any:
    receiver = app.state.gateway.webhook_app.receiver
    receiver.retry_first_s, receiver.retry_max_s, receiver.retry_poll_s = 0.05, 0.2, 0.05
    receiver.max_attempts = max_attempts
    return receiver


def _inbox(db: Path) -> list[tuple[int, int, str | None, float | None]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute("SELECT id, failures, last_error, dead_at FROM webhook_inbox ORDER BY id"))


def test_a_failing_conversation_log_is_retried_and_the_bot_runs_once(tmp_path: Path) -> None:
    bot = Application()  # no secret: the gateway checks signatures, the bot only dispatches
    handled: list[str] = []
    bot.on_message()(lambda msg: handled.append(msg.message.id))
    outage = {"left": 2}

    def prepare(app: Any) -> None:
        gw = app.state.gateway
        gw.attach_bot(bot)
        real = gw.history.record_inbound

        def flaky(*args: Any, **kwargs: Any) -> Any:
            # Fault injection: the gateway's own database is down for the first two attempts.
            if outage["left"]:
                outage["left"] -= 1
                raise OSError("database is locked")
            return real(*args, **kwargs)

        gw.history.record_inbound = flaky
        _fast_retries(app)

    server, gw = start_gateway(tmp_path / "gw.db", prepare=prepare)
    try:
        wamid, raw = _message(1)
        assert _post(gw, raw) == 200
        wait_for(lambda: handled, 15, "the bot to see the message")
        receiver = gw.gw.webhook_app.receiver
        wait_for(lambda: receiver.stats.processed >= 1 and not _inbox(tmp_path / "gw.db"), 15,
                 "the payload to be done")
        assert outage["left"] == 0 and receiver.stats.retried == 2
        assert handled == [wamid]  # after the system recorded it, exactly once
        conv = gw.http.get("/v1/conversations/+15551230000/messages").json()
        assert wamid in json.dumps(conv)
        assert _post(gw, raw) == 200  # Meta's redelivery is a duplicate
        time.sleep(0.3)
        assert handled == [wamid]
    finally:
        gw.http.close()
        server.stop()


def test_a_failing_bot_handler_is_logged_and_not_retried(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bot = Application()
    calls: list[str] = []

    @bot.on_message()
    def broken(msg: MessageUpdate) -> None:
        calls.append(msg.message.id)
        raise RuntimeError("bug in the bot")

    def prepare(app: Any) -> None:
        app.state.gateway.attach_bot(bot)
        _fast_retries(app)

    caplog.set_level(logging.INFO)
    server, gw = start_gateway(tmp_path / "gw.db", prepare=prepare)
    try:
        wamid, raw = _message(2)
        assert _post(gw, raw) == 200
        receiver = gw.gw.webhook_app.receiver
        wait_for(lambda: receiver.stats.processed >= 1, 15, "the payload to be processed")
        time.sleep(0.3)  # a retry, if one were scheduled, would have run by now
        assert calls == [wamid] and receiver.stats.retried == 0 and not _inbox(tmp_path / "gw.db")
        assert any(wamid in r.getMessage() and r.exc_info for r in caplog.records if "broken" in r.getMessage())
        assert not any("signature checking is OFF" in r.getMessage() for r in caplog.records)
    finally:
        gw.http.close()
        server.stop()


def test_an_outbox_that_keeps_failing_dead_letters_the_payload(tmp_path: Path) -> None:
    from wacloud.delivery import StoreError

    attempts: list[str] = []
    bot_saw: list[Update] = []

    def prepare(app: Any) -> None:
        gw = app.state.gateway
        gw.attach_bot(bot_saw.append)  # a plain function bot

        def always_down(update: Any) -> Any:
            attempts.append(update.update_id)
            raise StoreError("connection refused")

        gw.outbox.handle = always_down
        _fast_retries(app, max_attempts=3)

    server, gw = start_gateway(tmp_path / "gw.db", prepare=prepare)
    try:
        wamid, raw = _message(3)
        assert _post(gw, raw) == 200
        receiver = gw.gw.webhook_app.receiver
        wait_for(lambda: receiver.stats.dead_lettered == 1, 15, "the payload to be dead-lettered")
        time.sleep(0.3)  # no further attempt after the last one
        assert attempts == [wamid] * 3 and bot_saw == []
        [(_, failures, reason, dead_at)] = _inbox(tmp_path / "gw.db")
        assert dead_at is not None and failures == 2 and reason and "StoreError" in reason and wamid in reason
        metrics = httpx.get(f"{gw.url}/metrics").text
        assert 'wacloud_webhook_payloads{outcome="dead_lettered"} 1.0' in metrics
        assert 'wacloud_webhook_payloads{outcome="retried"} 2.0' in metrics
    finally:
        gw.http.close()
        server.stop()


def test_one_update_that_keeps_failing_does_not_hold_back_the_others_of_its_payload(tmp_path: Path) -> None:
    # Fault injection: the conversation log refuses one message every time (as PostgreSQL refused a
    # NUL); the message after it in the same payload must still be logged and reach the bot, once.
    bad_wamid, raw_bad = _message(5, "first")
    good_wamid, raw_good = _message(6, "second")
    attempts: list[str] = []
    bot_saw: list[str] = []

    def prepare(app: Any) -> None:
        gw = app.state.gateway
        gw.attach_bot(lambda update: bot_saw.append(update.message.id))
        real = gw.history.record_inbound

        def refuses_one(wa_id: str, wamid: str | None, *args: Any, **kwargs: Any) -> Any:
            attempts.append(str(wamid))
            if wamid == bad_wamid:
                raise ValueError("this one cannot be stored")
            return real(wa_id, wamid, *args, **kwargs)

        gw.history.record_inbound = refuses_one
        _fast_retries(app, max_attempts=3)

    server, gw = start_gateway(tmp_path / "gw.db", prepare=prepare)
    try:
        payload = json.loads(raw_bad)
        second = json.loads(raw_good)["entry"][0]["changes"][0]["value"]["messages"][0]
        payload["entry"][0]["changes"][0]["value"]["messages"].append(second)
        assert _post(gw, json.dumps(payload).encode()) == 200
        receiver = gw.gw.webhook_app.receiver
        wait_for(lambda: receiver.stats.dead_lettered == 1, 15, "the payload to be dead-lettered")
        time.sleep(0.3)
        assert bot_saw == [good_wamid]  # at once, and once: the retries run only the failing update
        assert attempts == [bad_wamid, good_wamid, bad_wamid, bad_wamid]
        logged = gw.http.get("/v1/conversations/+15551230000/messages").json()["messages"]
        assert [m["wamid"] for m in logged] == [good_wamid]
        [(_, _, reason, dead_at)] = _inbox(tmp_path / "gw.db")
        assert dead_at is not None and reason and bad_wamid in reason and good_wamid not in reason
    finally:
        gw.http.close()
        server.stop()


def test_an_application_without_a_secret_is_refused_only_when_served(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    dispatcher = Application()  # fine as a plug-in: nothing logged, nothing refused
    unsigned = Application(allow_unsigned=True)
    assert not dispatcher.served and not unsigned.served
    assert not any("signature checking is OFF" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match="allow_unsigned"):
        dispatcher.asgi()
    unsigned.asgi()  # served without a secret, explicitly: allowed, with the warning
    assert unsigned.served
    assert any("signature checking is OFF" in r.getMessage() for r in caplog.records)
