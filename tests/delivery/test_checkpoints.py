"""WAL checkpoints run in a thread of their own, never inside a commit that holds the file's writer lock.

A connection's automatic checkpoint copied pages back and fsynced the file inside the COMMIT that crossed
1,000 pages, with every other writer of the process queued behind it. Our connections turn it off and a
background thread checkpoints about every ``TARGET_PAGES`` pages of log; these tests check that the log is
still checkpointed and started over (it does not grow without bound) and that a file gone meanwhile is never
re-created.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from wacloud.delivery import _checkpoints
from wacloud.delivery._priority import PriorityLock
from wacloud.delivery.sqlite import SqliteStore, sqlite_transaction, take_over_checkpoints
from wacloud.gateway._db import Database


def _autocheckpoint(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])


def test_our_connections_leave_checkpoints_to_the_thread(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "outbox.db")
    try:
        assert _autocheckpoint(store._conn) == 0
    finally:
        store.close()
    db = Database(f"sqlite:///{tmp_path / 'gw.db'}")
    assert _autocheckpoint(db._connect_sqlite(1.0)) == 0


def _drained() -> None:
    deadline = time.monotonic() + 10
    while any(f.queued for f in _checkpoints._files.values()):
        assert time.monotonic() < deadline, "the checkpoint thread did not do its work"
        time.sleep(0.002)


def _wal_pages_after(path: Path, commits: int, *, taken_over: bool) -> int:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, blob BLOB)")
    if taken_over:
        take_over_checkpoints(conn)
    else:
        conn.execute("PRAGMA wal_autocheckpoint=0")  # and nobody counts: the log only grows
    for n in range(commits):
        with sqlite_transaction(conn, True, str(path) if taken_over else ":memory:") as tx:
            tx.run("INSERT INTO t (blob) VALUES (?)", [os.urandom(3000)])
        if n % 10 == 0:
            _drained()  # a real writer pauses between commits; this loop would starve the thread
    conn.close()
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size // 4096 if wal.exists() else 0


def test_the_log_is_checkpointed_and_reused_while_commits_go_on(tmp_path: Path) -> None:
    commits = 4 * _checkpoints.TARGET_PAGES
    # Keep a reader open so closing the last connection does not checkpoint and delete the log for us.
    unmanaged, managed = tmp_path / "alone.db", tmp_path / "ours.db"
    readers = []
    for path in (unmanaged, managed):
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, blob BLOB)")
        readers.append(conn)
    grown = _wal_pages_after(unmanaged, commits, taken_over=False)
    kept = _wal_pages_after(managed, commits, taken_over=True)
    for conn in readers:
        conn.close()
    assert grown >= commits  # a page a commit at least: nothing copied back
    assert kept < grown / 2, (kept, grown)


def test_a_checkpoint_of_a_removed_file_does_not_create_it(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    assert _checkpoints.checkpoint(str(path), PriorityLock()) is None
    time.sleep(0.01)
    assert not path.exists()
