"""Failed dispatches: the payload stays pending, is retried with backoff, and is set aside at the end.

A *system* failure (an exception out of the dispatcher: the store, the gateway's outbox, a plain
``on_update`` callable) is retried; a *bot handler's* exception (user code inside an Application)
is logged and the update counts as handled.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest

from wacloud.bot import Application
from wacloud.webhooks import Update
from wacloud.webhooks.receiver import WebhookReceiver
from wacloud.webhooks.store import MemoryDedupStore, MemoryInboxStore

from . import payloads as p
from .servers import serve_asgi, wait_for


class Flaky:
    """A system dispatcher whose update ``fail_on`` raises the first ``times`` times."""

    def __init__(self, fail_on: str | None = None, times: int = 1) -> None:
        self.fail_on = fail_on
        self.left = times
        self.seen: list[str] = []
        self.calls: list[str] = []

    def __call__(self, update: Update) -> None:
        self.calls.append(update.update_id)
        if update.update_id == self.fail_on and self.left:
            self.left -= 1
            raise ConnectionError("database connection lost")
        self.seen.append(update.update_id)


def _receiver(fn: Any, **kw: Any) -> WebhookReceiver:
    kw.setdefault("inbox", MemoryInboxStore())
    kw.setdefault("dedup", MemoryDedupStore())
    return WebhookReceiver(app_secret=p.SECRET, on_update=fn, retry_first_s=0.0, **kw)


def _post(rec: WebhookReceiver, *messages: dict[str, Any]) -> None:
    raw = p.body(p.inbound(*messages))
    status, _, delivery = rec.accept(raw, p.signed_headers(raw))
    assert status == 200 and delivery is not None
    rec.process_sync(delivery)


def test_a_system_failure_keeps_the_payload_and_the_retry_runs_only_what_was_not_done() -> None:
    m1, m2, m3 = (p.msg("text", {"body": str(i)}) for i in range(3))
    flaky = Flaky(fail_on=m2["id"])
    rec = _receiver(flaky)
    _post(rec, m1, m2, m3)
    # m2's failure does not hold back m3, which is handled at once.
    assert flaky.seen == [m1["id"], m3["id"]] and len(rec.inbox) == 1  # type: ignore[arg-type]
    assert rec.stats.retried == 1 and rec.stats.processed == 0
    assert rec.run_due_sync() == 1
    # m1 and m3 are not run again; m2 (failed) is, once.
    assert flaky.seen == [m1["id"], m3["id"], m2["id"]]
    assert len(rec.inbox) == 0 and rec.stats.processed == 1  # type: ignore[arg-type]
    assert rec.run_due_sync() == 0
    _post(rec, m2)  # Meta's redelivery
    assert flaky.seen.count(m2["id"]) == 1


def test_retries_back_off_and_end_in_the_dead_letters_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    clock = [100.0]
    inbox = MemoryInboxStore(clock=lambda: clock[0])
    message = p.msg("text", {"body": "poison"})
    flaky = Flaky(fail_on=message["id"], times=99)
    rec = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, on_update=flaky, max_attempts=4,
                          retry_first_s=1.0, retry_max_s=3.0)
    caplog.set_level(logging.WARNING)
    _post(rec, message)
    for delay in (1.0, 2.0, 3.0):  # doubling, capped at retry_max_s
        clock[0] += delay - 0.01
        assert rec.run_due_sync() == 0, "retried before its backoff"
        clock[0] += 0.01
        assert rec.run_due_sync() == 1
    assert flaky.calls == [message["id"]] * 4 and flaky.seen == []
    assert rec.stats.retried == 3 and rec.stats.dead_lettered == 1
    assert len(inbox) == 0 and list(inbox.dead_letters) == [1]
    raw, reason = inbox.dead_letters[1]
    assert message["id"].encode() in raw and "ConnectionError" in reason and message["id"] in reason
    clock[0] += 1000
    assert rec.run_due_sync() == 0  # set aside: never retried again
    assert any("dead-lettered" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_without_an_inbox_the_retry_is_kept_in_memory() -> None:
    message = p.msg("text", {"body": "x"})
    flaky = Flaky(fail_on=message["id"])
    rec = WebhookReceiver(app_secret=p.SECRET, on_update=flaky, retry_first_s=0.0)
    _post(rec, message)
    assert rec.retries_waiting == 1 and flaky.seen == []
    assert rec.run_due_sync() == 1 and flaky.seen == [message["id"]] and rec.retries_waiting == 0


def test_without_an_inbox_the_dead_letter_is_kept_in_memory() -> None:
    message = p.msg("text", {"body": "x"})
    rec = WebhookReceiver(app_secret=p.SECRET, on_update=Flaky(message["id"], times=9), max_attempts=2,
                          retry_first_s=0.0)
    _post(rec, message)
    rec.run_due_sync()
    assert rec.stats.dead_lettered == 1 and rec.retries_waiting == 0
    [(payload, reason)] = rec.dead_letters
    assert payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"] == message["id"]
    assert "ConnectionError" in reason


def test_a_failing_dedup_store_is_a_system_failure_too() -> None:
    class Down(MemoryDedupStore):
        def __init__(self) -> None:
            super().__init__()
            self.down = True

        def first_seen(self, key: str) -> bool:
            if self.down:
                raise OSError("store unreachable")
            return super().first_seen(key)

    dedup = Down()
    flaky = Flaky()
    rec = _receiver(flaky, dedup=dedup)
    message = p.msg("text", {"body": "x"})
    _post(rec, message)
    assert flaky.seen == [] and rec.stats.retried == 1  # not processed blind (it could be a duplicate)
    dedup.down = False
    assert rec.run_due_sync() == 1 and flaky.seen == [message["id"]]


def test_a_bot_handler_exception_counts_as_handled(caplog: pytest.LogCaptureFixture) -> None:
    app = Application(app_secret=p.SECRET, inbox=MemoryInboxStore())
    calls: list[str] = []

    @app.on_message()
    def buggy(msg: Update) -> None:
        calls.append(msg.update_id)
        raise KeyError("bug")

    message = p.msg("text", {"body": "x"})
    raw = p.body(p.inbound(message))
    assert app.handle_post(raw, p.signed_headers(raw))[0] == 200
    rec = app.receiver
    assert calls == [message["id"]] and rec.stats.processed == 1 and rec.stats.retried == 0
    assert len(rec.inbox) == 0  # type: ignore[arg-type]
    assert rec.run_due_sync() == 0 and calls == [message["id"]]
    assert any(message["id"] in r.getMessage() and r.exc_info for r in caplog.records)


def test_the_asgi_app_retries_in_the_background_over_http() -> None:
    m1, m2 = p.msg("text", {"body": "1"}), p.msg("text", {"body": "2"})
    flaky = Flaky(fail_on=m1["id"], times=2)
    rec = WebhookReceiver(app_secret=p.SECRET, inbox=MemoryInboxStore(), on_update=flaky,
                          retry_first_s=0.05, retry_poll_s=0.05)
    with serve_asgi(rec_app(rec)) as url:
        for m in (m1, m2):
            raw = p.body(p.inbound(m))
            assert httpx.post(url + "/", content=raw, headers=p.signed_headers(raw)).status_code == 200
        assert wait_for(lambda: len(flaky.seen) == 2, timeout=10)
    assert sorted(flaky.seen) == sorted([m1["id"], m2["id"]]) and rec.stats.retried == 2
    assert len(rec.inbox) == 0  # type: ignore[arg-type]


def rec_app(rec: WebhookReceiver) -> Any:
    from wacloud.webhooks import WebhookApp

    return WebhookApp(rec)


def test_bad_retry_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        WebhookReceiver(app_secret=p.SECRET, max_attempts=0)
    with pytest.raises(ValueError, match="lease_s"):
        WebhookReceiver(app_secret=p.SECRET, lease_s=0)


def test_a_lease_is_renewed_while_a_slow_handler_runs() -> None:
    inbox = MemoryInboxStore()
    release_at = time.monotonic() + 0.6
    other = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, on_update=lambda u: None)
    taken: list[int] = []

    def slow(update: Update) -> None:
        # While this runs for longer than the lease, another receiver keeps trying to claim it.
        while time.monotonic() < release_at:
            taken.append(len(other.pending()))
            time.sleep(0.05)

    rec = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, on_update=slow, lease_s=0.2)
    _post(rec, p.msg("text", {"body": "slow"}))
    assert taken and not any(taken) and len(inbox) == 0


def test_when_the_store_cannot_schedule_the_retry_it_is_retried_from_memory_and_kept_leased() -> None:
    class NoSchedule(MemoryInboxStore):
        def inbox_retry_later(self, id: int, delay_s: float, reason: str) -> None:
            raise OSError("store unreachable")

    inbox = NoSchedule()
    message = p.msg("text", {"body": "x"})
    flaky = Flaky(fail_on=message["id"])
    rec = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, on_update=flaky, lease_s=0.2, retry_first_s=0.0)
    _post(rec, message)
    assert rec.retries_waiting == 1 and len(inbox) == 1
    other = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, on_update=flaky)
    time.sleep(0.5)  # several leases long: still renewed, because this process still holds it
    assert other.pending() == []
    assert rec.run_due_sync() == 1 and flaky.seen == [message["id"]] and len(inbox) == 0
    assert rec._keeper is not None and not rec._keeper.holds(1)


def test_a_retry_does_not_take_over_a_duplicate_that_another_payload_owns() -> None:
    clock = [0.0]
    inbox, dedup = MemoryInboxStore(clock=lambda: clock[0]), MemoryDedupStore()
    owned, other = p.msg("text", {"body": "owned elsewhere"}), p.msg("text", {"body": "fails once"})
    assert dedup.first_seen(owned["id"])  # another stored copy claimed it and is still handling it
    flaky = Flaky(fail_on=other["id"])
    a = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, dedup=dedup, on_update=flaky)
    _post(a, owned, other)  # Meta's redelivery plus a new message, in one payload
    assert flaky.calls == [other["id"]] and len(inbox) == 1
    clock[0] += 1000  # process a is gone; b takes the payload over from the store
    b_flaky = Flaky()
    b = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, dedup=dedup, on_update=b_flaky)
    assert b.run_due_sync() == 1
    assert b_flaky.seen == [other["id"]] and len(inbox) == 0  # the owned one is left to its owner


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # uvicorn exits
def test_serving_an_application_without_a_secret_refuses_to_start() -> None:
    with pytest.raises(RuntimeError, match="did not start"), serve_asgi(Application()):
        pass


async def test_the_refusal_says_what_to_set() -> None:
    inbox: list[dict[str, Any]] = [{"type": "lifespan.startup"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await Application()({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "app_secret" in sent[0]["message"] and "allow_unsigned=True" in sent[0]["message"]


def test_an_unreachable_store_does_not_lose_the_retries_kept_in_memory() -> None:
    class Down(MemoryInboxStore):
        def inbox_retry_later(self, id: int, delay_s: float, reason: str) -> None:
            raise OSError("store unreachable")

        def inbox_claim(self, limit: int, lease_s: float) -> list[tuple[int, bytes, int]]:
            raise OSError("store unreachable")

    inbox = Down()
    message = p.msg("text", {"body": "x"})
    flaky = Flaky(fail_on=message["id"])
    rec = WebhookReceiver(app_secret=p.SECRET, inbox=inbox, on_update=flaky, retry_first_s=0.0)
    _post(rec, message)
    assert rec.run_due_sync() == 1 and flaky.seen == [message["id"]] and len(inbox) == 0
