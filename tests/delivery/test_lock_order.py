"""One lock order on PostgreSQL: a status webhook's transaction and the worker's settle never deadlock.

Settle takes its accepted wamids' locks first, then the job rows, then the recipients' pair buckets, and
the event log's lock last. A webhook's statuses used to learn their customer's ids first: learning a new
id moves the pair bucket the sends so far were paced under (a row lock), and only then the status took its
wamid's lock. With a settle of that wamid in between, each waited for the other: PostgreSQL aborted one
(seen about one run in eight of ``test_campaign_cost_equals_the_sandbox_pricing``).

The tests hold a webhook's transaction at each point of its work, on a real PostgreSQL, while a settle
of the same wamid runs on another connection: both must finish, without an error and without a retry.
In a batch (several store calls in one transaction), each call's events are appended together at the end,
in order: the event log's lock is held for the commit only.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

import pytest

from wacloud.delivery import JobState, Outbox, open_store
from wacloud.delivery.model import NewJob, Outcome, StatusChange, StatusInput
from wacloud.delivery.statuses import JoinableStore, handle_statuses, in_one_transaction
from wacloud.identity import CustomerIds
from wacloud.webhooks import parse
from wacloud.webhooks.updates import StatusUpdate

PID = "106540352242922"
TO = "16505550188"
BSUID = "US.13491208655302741918"
TEXT = {"messaging_product": "whatsapp", "to": TO, "type": "text", "text": {"body": "hi"}}


def _status(wamid: str) -> list[StatusUpdate]:
    """A ``sent`` status naming the customer by phone number and BSUID (a status webhook of 2026)."""
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PID},
        "statuses": [{"id": wamid, "status": "sent", "timestamp": str(int(time.time())), "recipient_id": TO,
                      "recipient_user_id": BSUID}],
    }}]}]}
    return [u for u in parse(json.dumps(body).encode()) if isinstance(u, StatusUpdate)]


class _Paused(Outbox):
    """An outbox whose webhook handling stops at one step (``at``) until told to go on."""

    def __init__(self, *args: Any, at: str, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.at = at
        self.reached = threading.Event()
        self.go = threading.Event()

    def _pause(self, step: str) -> None:
        if step == self.at:
            self.reached.set()
            assert self.go.wait(10), "never told to go on"

    def apply_statuses(self, items: Any, *, fbtrace_id: str | None = None) -> list[StatusChange]:
        self._pause("apply")
        return super().apply_statuses(items, fbtrace_id=fbtrace_id)

    def learn(self, ids: CustomerIds, timestamp: datetime | float | None = None) -> str | None:
        self._pause("learn")
        return super().learn(ids, timestamp)


@pytest.mark.parametrize("at", ["apply", "learn"])
def test_a_status_and_the_settle_of_its_wamid_never_deadlock(pg_store_url: str, at: str) -> None:
    hook = _Paused(open_store(pg_store_url), phone_number_id=PID, at=at)
    worker = open_store(pg_store_url)  # the worker's own connection
    try:
        now = time.time()
        (job_id, _), = worker.add([NewJob(PID, TO, TEXT, False)], now)
        # Claimed before the customer is known: the pair bucket is keyed by the phone number, and the
        # status's ids (phone and BSUID, new) move it to the contact's key.
        (job,) = worker.claim(PID, 1, now, lease_s=60, worker="w", pair_interval_s=0.05, pair_burst=1)
        worker.mark_sending([job.id], now, lease_s=60, worker="w")
        errors: list[BaseException] = []

        def webhook() -> None:
            try:
                in_one_transaction(hook.store, lambda: handle_statuses(hook, _status("wamid.LOCK")))
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=webhook)
        thread.start()
        assert hook.reached.wait(10)
        settled: list[Any] = []
        settler = threading.Thread(target=lambda: settled.append(worker.settle(
            [Outcome(job.id, JobState.ACCEPTED, now, wamid="wamid.LOCK", worker="w", pair_tat=now + 1.0)])))
        settler.start()
        time.sleep(0.3)  # the settle reaches the lock the webhook's transaction holds, or that it will want
        hook.go.set()
        thread.join(20)
        settler.join(20)
        assert not thread.is_alive() and not settler.is_alive()
        assert errors == []
        assert len(settled) == 1
        got = worker.get(job_id)
        assert got is not None and got.state in (JobState.ACCEPTED, JobState.SENT)
        # Whichever came first, the status is applied: directly, or replayed from the early ones.
        for early in settled[0]:
            hook._settler().replay_early(early)
        got = worker.get(job_id)
        assert got is not None and got.state is JobState.SENT and got.wamid == "wamid.LOCK"
        contact = worker.find_contact(PID, BSUID)
        assert contact is not None and contact.ids is not None and contact.ids.wa_id == TO
        assert isinstance(worker, JoinableStore)
        buckets = worker.transact(lambda tx: tx.rows("SELECT recipient, tat FROM pair_buckets"))
        # One bucket, the person's, at least as late as the settle's bump.
        assert [(r, t >= now + 1.0 - 1e-6) for r, t in buckets] == [(contact.contact_id, True)]
    finally:
        hook.go.set()
        hook.close()
        worker.close()


def test_a_batch_appends_its_events_at_its_end_in_call_order(store_url: str) -> None:
    store = open_store(store_url)
    try:
        now = time.time()
        ids = [i for i, _ in store.add([NewJob(PID, f"1650555020{k}", TEXT, False) for k in range(2)], now)]
        store.claim(PID, 2, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=1)
        store.mark_sending(ids, now, lease_s=60, worker="w")
        store.settle([Outcome(ids[0], JobState.ACCEPTED, now, wamid="wamid.B0", worker="w")])
        assert isinstance(store, JoinableStore)
        before = store.transact(lambda tx: tx.rows("SELECT count(*) FROM events"))[0][0]
        with store.batch():
            store.apply_statuses([StatusInput("wamid.B0", "sent", now + 1)], now=now + 1)
            store.settle([Outcome(ids[1], JobState.ACCEPTED, now + 2, wamid="wamid.B1", worker="w")])
            store.apply_statuses([StatusInput("wamid.B0", "delivered", now + 3),
                                  StatusInput("wamid.B1", "sent", now + 3)], now=now + 3)
            # Inside the batch nothing is appended yet: the log's lock is not taken before the commit.
            assert store.transact(lambda tx: tx.rows("SELECT count(*) FROM events"))[0][0] == before
        rows = store.transact(lambda tx: tx.rows(f"SELECT position, data FROM events WHERE position > {before} "
                                                 "ORDER BY position"))
        made = [(json.loads(d)["job_id"], json.loads(d)["state"]) for _, d in rows]
        assert made == [(ids[0], "sent"), (ids[1], "accepted"), (ids[0], "delivered"), (ids[1], "sent")]
        assert [p for p, _ in rows] == list(range(before + 1, before + 5))  # contiguous, in call order
    finally:
        store.close()


def test_a_failed_batch_appends_nothing(store_url: str) -> None:
    store = open_store(store_url)
    try:
        now = time.time()
        (job_id, _), = store.add([NewJob(PID, TO, TEXT, False)], now)
        store.claim(PID, 1, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=1)
        store.mark_sending([job_id], now, lease_s=60, worker="w")
        assert isinstance(store, JoinableStore)
        before = store.transact(lambda tx: tx.rows("SELECT count(*) FROM events"))[0][0]
        with pytest.raises(RuntimeError), store.batch():
            store.settle([Outcome(job_id, JobState.ACCEPTED, now, wamid="wamid.F", worker="w")])
            raise RuntimeError("the caller's own step failed")
        assert store.transact(lambda tx: tx.rows("SELECT count(*) FROM events"))[0][0] == before
        got = store.get(job_id)
        assert got is not None and got.state is JobState.SENDING  # rolled back with its events
    finally:
        store.close()
