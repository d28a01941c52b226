"""WAL checkpoints made apart from the writers: one daemon thread for the process, its own connections.

A connection left to itself checkpoints inside the COMMIT that takes the log past 1,000 pages: it copies
the pages back and fsyncs the file while its thread still holds the file's writer lock
(:func:`wacloud.delivery.sqlite.writer_lock`), so every writer of the process, the delivery worker's
included, waited tens of milliseconds behind that one commit. Our connections turn that off
(:func:`take_over`) and count their commits here. When a file's log has grown by about
:data:`TARGET_PAGES` (judged by its commits: the interval adapts to the pages each checkpoint found), this
module's thread checkpoints it in two steps: first beside the writers (SQLite lets a checkpoint and a
write run at once), which copies nearly everything, then holding the writer lock for the few pages written
meanwhile, so the log is complete and the next writer starts it over (a log never fully copied only grows).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from dataclasses import dataclass, field
from urllib.parse import quote

from wacloud.delivery._priority import PriorityLock

#: Pages of log between two checkpoints, as SQLite's own automatic checkpoint (4 MB).
TARGET_PAGES = 1000
#: Commits between two checkpoints of a file: the first interval, and its bounds as it adapts (a
#: campaign's status batch writes ~50 pages, a single update 2 or 3).
FIRST_EVERY, MIN_EVERY, MAX_EVERY = 50, 5, 1000


@dataclass(slots=True)
class _File:
    every: int = field(default_factory=lambda: FIRST_EVERY)  # read when the file is first seen (tests set it)
    commits: int = 0
    queued: bool = False


_files: dict[str, _File] = {}
_due: queue.SimpleQueue[tuple[str, PriorityLock]] = queue.SimpleQueue()
_guard = threading.Lock()
_thread: threading.Thread | None = None


def take_over(conn: sqlite3.Connection) -> None:
    """``conn``'s commits no longer checkpoint; :func:`committed` calls on its file do it instead."""
    conn.execute("PRAGMA wal_autocheckpoint=0")


def committed(path: str, lock: PriorityLock) -> None:
    """One more write transaction committed on the file ``path`` (its real path; ``lock``: its writer
    lock); when its log has grown enough, a checkpoint of it is queued (one at a time per file)."""
    global _thread
    with _guard:
        state = _files.get(path)
        if state is None:
            state = _files[path] = _File()
        state.commits += 1
        due = state.commits >= state.every and not state.queued
        if due:
            state.commits, state.queued = 0, True
            if _thread is None:
                _thread = threading.Thread(target=_run, name="wacloud-checkpoints", daemon=True)
                _thread.start()
    if due:
        _due.put((path, lock))


def _run() -> None:
    while True:
        path, lock = _due.get()
        pages = checkpoint(path, lock)
        with _guard:
            state = _files[path]
            state.queued = False
            if pages is not None:  # aim the next one at TARGET_PAGES from what this one found
                state.every = max(MIN_EVERY, min(MAX_EVERY, state.every * TARGET_PAGES // max(pages, 1)))


def checkpoint(path: str, lock: PriorityLock) -> int | None:
    """Checkpoint ``path`` on a connection of its own: PASSIVE beside the writers (it copies what no reader
    still needs and waits for nobody), then RESTART holding ``lock`` for what they wrote meanwhile (it waits
    up to 0.1 s for readers, so the next writer starts the log over). The pages the log held (None when
    the file could not be checkpointed). A file gone meanwhile is skipped (``mode=rw`` never creates one)."""
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=0.1, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if lock.acquire(1.0, urgent=False):
            try:
                conn.execute("PRAGMA wal_checkpoint(RESTART)")
            finally:
                lock.release()
        return int(row[1]) if row is not None and int(row[1]) >= 0 else None
    except sqlite3.Error:
        return None  # the next one catches up; the log grows meanwhile
    finally:
        conn.close()
