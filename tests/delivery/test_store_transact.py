"""``transact``: a caller's own statements in the store's transaction (the gateway's log rows beside the
jobs they describe): inside a batch they commit, or roll back, with the batch's store calls."""

from __future__ import annotations

import pytest

from wacloud.delivery import Store
from wacloud.delivery.statuses import JoinableStore


def _notes(store: Store) -> list[str]:
    assert isinstance(store, JoinableStore)
    return [str(r[0]) for r in store.transact(lambda tx: tx.rows("SELECT note FROM scratch_notes ORDER BY note"))]


def test_transact_joins_the_open_batch(store: Store) -> None:
    assert isinstance(store, JoinableStore)
    store.transact(lambda tx: tx.run("CREATE TABLE scratch_notes (note TEXT NOT NULL)"))
    store.transact(lambda tx: tx.run("INSERT INTO scratch_notes (note) VALUES (?)", ("alone",)))
    assert _notes(store) == ["alone"]  # outside a batch: a transaction of its own, committed

    with store.batch():
        store.pause("15550001111", 2e9, "test")
        store.transact(lambda tx: tx.run("INSERT INTO scratch_notes (note) VALUES (?)", ("with the batch",)))
    assert _notes(store) == ["alone", "with the batch"] and store.paused("15550001111", 0.0) == (2e9, "test")

    with pytest.raises(RuntimeError), store.batch():
        store.pause("15550002222", 2e9, "test")
        store.transact(lambda tx: tx.run("INSERT INTO scratch_notes (note) VALUES (?)", ("rolled back",)))
        raise RuntimeError("a later step fails")
    assert _notes(store) == ["alone", "with the batch"] and store.paused("15550002222", 0.0) is None
