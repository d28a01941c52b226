"""Store batches: many store calls of one thread in one transaction (a webhook payload's statuses).

On SQLite and on the real PostgreSQL: the calls inside commit together; a failing call fails the whole
batch even when its caller caught the error (so the caller can redo the work call by call); a nested
batch joins the open one; other threads wait for the batch instead of interleaving.
"""

from __future__ import annotations

import threading
import time

import pytest

from wacloud.delivery import Store, StoreError
from wacloud.delivery.model import JobState, NewJob, Outcome
from wacloud.delivery.sqlite import SqliteStore
from wacloud.delivery.statuses import in_one_transaction

PID = "1000001"


TEXT = {"messaging_product": "whatsapp", "to": "1", "type": "text", "text": {"body": "hi"}}


def _accepted(store: Store, n: int) -> list[str]:
    """``n`` jobs sent and accepted, with wamids ``wamid.<i>``; their ids."""
    now = time.time()
    ids = [job_id for job_id, _ in store.add([NewJob(PID, f"1650555{i:04d}", TEXT, False) for i in range(n)], now)]
    claimed = store.claim(PID, n, now, lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=10)
    assert sorted(j.id for j in claimed) == sorted(ids)
    store.mark_sending(ids, now, lease_s=60, worker="w")
    store.settle([Outcome(i, JobState.ACCEPTED, now, wamid=f"wamid.{n}", worker="w") for n, i in enumerate(ids)])
    return ids


def _status(store: Store, n: int, status: str) -> bool:
    return store.apply_status(f"wamid.{n}", status, time.time(), now=time.time()).applied


def test_statuses_in_a_batch_commit_together(store: Store) -> None:
    ids = _accepted(store, 3)
    with store.batch():  # type: ignore[attr-defined]
        for n in range(3):
            assert _status(store, n, "delivered")
        with store.batch():  # type: ignore[attr-defined]  # nested: joins the open batch
            assert _status(store, 0, "read")
    states = [store.get(i).state for i in ids]  # type: ignore[union-attr]
    assert states == [JobState.READ, JobState.DELIVERED, JobState.DELIVERED]
    # The history of each job got its steps, in the same transaction as the state.
    assert [e.state for e in store.history(ids[0])][-3:] == ["sent", "delivered", "read"]


def test_a_failure_inside_rolls_the_whole_batch_back_even_when_caught(store: Store) -> None:
    ids = _accepted(store, 2)

    def work() -> None:
        _status(store, 0, "delivered")
        try:
            # A statement the database refuses, caught by its caller: the batch must not commit.
            with store._tx() as tx:  # type: ignore[attr-defined]
                tx.run("INSERT INTO no_such_table VALUES (1)")
        except Exception:
            pass
        _status(store, 1, "delivered")

    with pytest.raises(StoreError):
        in_one_transaction(store, work)
    assert [store.get(i).state for i in ids] == [JobState.ACCEPTED, JobState.ACCEPTED]  # type: ignore[union-attr]
    assert not store.in_batch  # type: ignore[attr-defined]
    # The store is usable afterwards, call by call.
    assert _status(store, 1, "delivered")
    assert store.get(ids[1]).state is JobState.DELIVERED  # type: ignore[union-attr]


def test_other_threads_wait_for_the_batch(tmp_path: object) -> None:
    store = SqliteStore(f"{tmp_path}/w.db")
    ids = _accepted(store, 1)
    seen: list[JobState] = []
    inside = threading.Event()

    def reader() -> None:
        inside.wait(5)
        job = store.get(ids[0])  # waits for the batch's lock, then sees its commit
        assert job is not None
        seen.append(job.state)

    t = threading.Thread(target=reader)
    t.start()
    with store.batch():
        _status(store, 0, "delivered")
        inside.set()
        time.sleep(0.2)  # the reader is blocked meanwhile (it cannot see a half-done batch)
        _status(store, 0, "read")
    t.join(10)
    assert seen == [JobState.READ]
    store.close()


def test_the_contact_lookup_uses_the_value_index_on_sqlite(tmp_path: object) -> None:
    # Ordering the lookup by (kind, value) made SQLite walk the whole primary key of the number
    # (every id it ever learnt) for each status webhook; the plan must search contact_ids_value.
    store = SqliteStore(f"{tmp_path}/p.db")
    plan = store._conn.execute(
        "EXPLAIN QUERY PLAN SELECT kind, value, contact_id FROM contact_ids WHERE phone_number_id = ? "
        "AND value IN (?)", (PID, "x")).fetchall()
    assert any("contact_ids_value" in str(row[-1]) for row in plan), plan
    store.close()
