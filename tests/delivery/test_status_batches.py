"""A payload's statuses applied together (``Store.apply_statuses``) end exactly as applied one by one.

On SQLite and the real PostgreSQL: random sequences of sent/delivered/read/played, repeats, statuses for
wamids not recorded yet (kept as early ones) and unknown words, over several jobs, applied to two stores
built the same way, one status at a time in one and as one batch in the other: the same jobs (states and
timestamps), the same history, the same events, the same early statuses and the same answers.
"""

from __future__ import annotations

import random
import time
from typing import Any

from wacloud.delivery import Store, open_store
from wacloud.delivery.model import JobState, NewJob, Outcome, StatusInput

PID = "1000001"
TEXT = {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "hi"}}
WORDS = ["sent", "delivered", "read", "played", "SENT", "deleted", "sent"]


def _accepted(store: Store, n: int, now: float) -> list[str]:
    ids = [job_id for job_id, _ in store.add([NewJob(PID, f"1650555{i:04d}", TEXT, False) for i in range(n)], now)]
    store.claim(PID, n, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=10)
    store.mark_sending(ids, now, lease_s=60, worker="w")
    store.settle([Outcome(i, JobState.ACCEPTED, now, wamid=f"wamid.{k}", worker="w") for k, i in enumerate(ids)])
    return ids


def _state(store: Store, ids: list[str]) -> dict[str, Any]:
    jobs = [store.get(i) for i in ids]
    events = store._tx(write=False)  # type: ignore[attr-defined]
    with events as tx:
        logged = tx.rows("SELECT type, phone_number_id, data FROM events ORDER BY position")
        early = tx.rows("SELECT wamid, status, ts FROM early_statuses ORDER BY wamid, status")
    return {
        "jobs": [(j.state, j.sent_at, j.delivered_at, j.read_at) for j in jobs if j is not None],
        "history": [[(e.state, e.at) for e in store.history(i)] for i in ids],
        "events": [(t, n, d) for t, n, d in logged],
        "early": [tuple(r) for r in early],
    }


def test_a_batch_ends_as_one_status_at_a_time(store_url: str, tmp_path: object) -> None:
    rng = random.Random(7)
    now = 1_700_000_000.0
    one = open_store(store_url)
    other_url = (f"sqlite:///{tmp_path}/other.db" if store_url.startswith("sqlite")
                 else store_url.replace("search_path%3D", "search_path%3Do"))
    if not store_url.startswith("sqlite"):
        import psycopg

        schema = "o" + store_url.split("search_path%3D", 1)[1]
        dsn = store_url.split("?options=", 1)[0].split("&options=", 1)[0]
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    batch = open_store(other_url)
    try:
        ids_one, ids_batch = _accepted(one, 6, now), _accepted(batch, 6, now)
        items = [StatusInput(f"wamid.{rng.randrange(8)}", rng.choice(WORDS), now + k) for k in range(60)]
        singly = [one.apply_status(i.wamid, i.status, i.ts, now=now + 100) for i in items]
        together = batch.apply_statuses(items, now=now + 100)
        assert [(c.applied, c.reason) for c in singly] == [(c.applied, c.reason) for c in together]
        assert [c.job.state if c.job else None for c in singly] == [c.job.state if c.job else None for c in together]
        a, b = _state(one, ids_one), _state(batch, ids_batch)
        assert a["jobs"] == b["jobs"] and a["history"] == b["history"] and a["early"] == b["early"]
        assert a["events"] == b["events"]  # the same events, in the same order, with the same content
        assert any(s is JobState.READ for s, *_ in a["jobs"]), "the sequence should reach read somewhere"
        assert a["early"], "statuses for wamid.6/7 (no job yet) are kept as early ones"
    finally:
        one.close()
        batch.close()
        if not store_url.startswith("sqlite"):
            import psycopg

            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_a_failed_status_in_a_batch_meets_the_policy_in_its_place(store_url: str) -> None:
    from wacloud.delivery import Outbox, RetryPolicy

    outbox = Outbox(open_store(store_url), phone_number_id=PID, policy=RetryPolicy())
    try:
        now = time.time()
        ids = _accepted(outbox.store, 2, now)
        changes = outbox.apply_statuses([
            StatusInput("wamid.0", "sent", now),
            StatusInput("wamid.1", "failed", now, error_code=131026, error_title="Message undeliverable"),
            StatusInput("wamid.0", "delivered", now + 1),
            StatusInput("wamid.1", "delivered", now + 1),  # after the failure was settled: ignored
        ])
        assert [c.applied for c in changes] == [True, True, True, False]
        assert outbox.job(ids[0]).state is JobState.DELIVERED  # type: ignore[union-attr]
        failed = outbox.job(ids[1])
        assert failed is not None and failed.state is JobState.FAILED and failed.error_code == 131026
    finally:
        outbox.close()
