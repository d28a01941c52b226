"""Closing the gateway's database while another thread is inside a transaction on its SQLite connection
waits for that transaction (closing a sqlite3 connection under a running statement can crash the process)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from wacloud.gateway._db import Database


def test_close_waits_for_a_transaction_in_another_thread(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'gw.db'}")
    db.execute("CREATE TABLE t (x INTEGER)")
    inside, go = threading.Event(), threading.Event()
    result: dict[str, Any] = {}

    def work(tx: Any) -> list[tuple[Any, ...]]:
        tx.run("INSERT INTO t (x) VALUES (1)")
        inside.set()
        go.wait(10)
        return tx.rows("SELECT count(*) FROM t")

    def reader() -> None:
        try:
            result["rows"] = db.run(work)
        except Exception as exc:  # what closing under it would cause
            result["error"] = exc

    t = threading.Thread(target=reader)
    t.start()
    assert inside.wait(10)
    closer = threading.Thread(target=db.close)
    closer.start()
    time.sleep(0.2)  # let close() reach the connection (not an assertion: it only gives the race a chance)
    go.set()
    t.join(10)
    closer.join(10)
    assert result == {"rows": [(1,)]}
    assert not closer.is_alive()
    again = Database(f"sqlite:///{tmp_path / 'gw.db'}")
    assert again.execute("SELECT count(*) FROM t") == [(1,)]  # the transaction committed before the close
    again.close()
