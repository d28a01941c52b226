"""SIGKILL the gateway while it delivers 1,200 events to a slow subscriber that fails 20 % of attempts.

After a restart every event reaches the subscriber (each id of the log at least once), no number's sequence
has a gap, each contact's events first arrive in log order, and every signature verifies with
``standardwebhooks.Webhook(secret).verify``. Then a replay from a cursor in the middle of the stream
delivers exactly the events after it (all of them, none before). On SQLite and on PostgreSQL.

1,200 events (3,000 before: ~60 s per store, the slowest tests of the suite): the checks are per event, so
more events add time, not coverage. 1,200 is still six of the gateway's 200-event batches: the kill comes
after 300 deliveries (past a first batch, the second one in flight), 600 more are appended while the
gateway is down; each number still gets 300 sequence numbers, each of the 40 contacts 30 events to keep
in order, and the replay covers the last 400.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from benchmarks import _harness as h
from tests.events.receiver import Subscriber

from wacloud.delivery import open_store
from wacloud.events import EventLog, NewEvent, append
from wacloud.gateway._db import Database
from wacloud.identity import CustomerIds

KEY = "events-kill-test-key"
NUMBERS = [f"10000000000000{i}" for i in range(1, 5)]


def _traffic(db: Database, start: int, n: int) -> None:
    """``n`` events over 4 numbers and 40 customers, appended 100 per transaction."""
    for first in range(start, start + n, 100):
        batch = [NewEvent("message.received", NUMBERS[i % 4], {"i": i},
                          CustomerIds(wa_id=f"1555{(i % 40):07d}")) for i in range(first, min(first + 100, start + n))]
        db.run(lambda tx, b=batch: append(tx, b))


def _wait(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_sigkill_during_delivery_loses_nothing(store_url: str, tmp_path: Path) -> None:
    total, before_kill = 1200, 600
    store = open_store(store_url)  # migrated: the event log exists before the gateway starts
    store.close()
    db = Database(store_url)
    sub = Subscriber(fail_rate=0.2, delay_s=0.02, seed=11)  # 20 ms an answer, one in five a 500
    env = {"WACLOUD_DATABASE_URL": store_url, "WACLOUD_API_KEYS": KEY, "WACLOUD_LOG_LEVEL": "WARNING",
           "WACLOUD_SUBSCRIPTION_RETRY_BASE_S": "0.02", "WACLOUD_SUBSCRIPTION_RETRY_MAX_S": "0.3",
           "WACLOUD_SUBSCRIPTION_MAX_ATTEMPTS": "40", "WACLOUD_SUBSCRIPTION_PAUSE_AFTER": "1000",
           # The longest lease: a restart must take over from the dead pid at once, and the replay must
           # start when the API pokes the idle task (its own wait, a third of the lease, is 20 minutes).
           "WACLOUD_SUBSCRIPTION_LEASE_S": "3600"}

    def start() -> h.Server:
        return h.spawn("tests.events.gateway_main", [], ready_path="/healthz", env=env,
                       log=tmp_path / "gateway.log", timeout=60)

    gw = start()
    try:
        http = httpx.Client(base_url=gw.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=20)
        created = http.post("/v1/subscriptions", json={"url": sub.url, "types": ["message.received"],
                                                       "start": "oldest"})
        assert created.status_code == 201, created.text
        sub.secret = created.json()["secret"]
        _traffic(db, 0, before_kill)
        _wait(lambda: len(sub.got.ids) >= 300, 120, "deliveries before the kill")
    finally:
        gw.kill()  # SIGKILL, mid-stream
    delivered_at_kill = len(set(sub.got.ids))
    assert delivered_at_kill < before_kill, "the kill came too late to test anything"
    _traffic(db, before_kill, total - before_kill)  # the world goes on while the gateway is down
    log_ids = {e.id: e.position for e in EventLog(db.run).read(0, 10 * total)}
    assert len(log_ids) == total
    gw = start()
    try:
        http = httpx.Client(base_url=gw.base_url, headers={"Authorization": f"Bearer {KEY}"}, timeout=20)
        sub_path = f"/v1/subscriptions/{created.json()['id']}"
        _wait(lambda: len(set(sub.got.ids)) >= total, 300, "every event after the restart")
        _wait(lambda: http.get(sub_path).json()["cursor"] >= total, 60, "the cursor to reach the head")
        status = http.get(sub_path).json()
        got = sub.got
        assert got.bad_signatures == 0 and got.failed > 0
        assert got.ids == [e["id"] for e in got.events]  # the webhook-id header is the event's id
        assert set(got.ids) == set(log_ids)  # every id of the log, at least once; nothing else
        by_id = {e["id"]: e for e in got.events}
        # Replay from a cursor mid-stream: exactly the events after it, each at least once, none before.
        cursor = sorted(log_ids.values())[total * 2 // 3]
        sub.got = replayed = type(got)()
        assert http.post(f"{sub_path}/replay", json={"from": cursor}).json()["cursor"] == cursor
        _wait(lambda: http.get(sub_path).json()["cursor"] >= total, 300, "the replay to reach the head")
    finally:
        gw.kill()
        sub.close()
        db.close()
    assert set(replayed.ids) == {i for i, p in log_ids.items() if p > cursor}
    assert replayed.bad_signatures == 0 and replayed.failed > 0
    assert sorted(e["data"]["i"] for e in by_id.values()) == list(range(total))
    for number in NUMBERS:
        seqs = sorted(e["seq"] for e in by_id.values() if e["phone_number_id"] == number)
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == total // 4
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for e in got.events:
        if e["id"] not in seen:
            seen.add(e["id"])
            first_seen[e["contact"]["wa_id"]].append(e["position"])
    assert all(p == sorted(p) for p in first_seen.values())
    assert status["cursor"] >= total and status["delivery"]["dead_lettered"] == 0
    print(f"delivered at kill: {delivered_at_kill}; requests: {got.attempts} (failed {got.failed}); "
          f"redelivered ids: {len(got.ids) - len(set(got.ids))}; replayed {len(set(replayed.ids))} after {cursor}")
