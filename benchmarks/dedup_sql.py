"""The durable webhook's SQL alone: one request's transaction on SQLite, by layout of the dedup keys.

    python -m benchmarks.dedup_sql [--keys 80000] [--requests 5000] [--rounds 3]

No receiver, no HTTP: a request's write as the gateway's webhook store makes it (BEGIN IMMEDIATE, the
payload's row, its update's claim, the previous payload's "done" mark and removal, COMMIT), on a file whose
dedup table already holds ``--keys`` random keys (a busy week holds millions), in WAL mode with
``synchronous=NORMAL`` and a PASSIVE checkpoint every 500 commits (not timed: the store makes them in a thread
of its own). Thread CPU per request after 1,000 untimed ones, by variant, in interleaved rounds (each round a
fresh file per variant):

* ``rowid``: the table before migration 12 (rowid table, key index, age index: three b-trees), 2 MB cache;
* ``keyed``: ``WITHOUT ROWID`` without the age index (one b-tree), 2 MB cache;
* ``keyed+cache``: the same with a 32 MiB page cache (measured in the sixth pass, not kept);
* ``... returning``: the claim and the mark in one ``INSERT ... RETURNING`` (the fifth pass's statement)
  instead of a plain INSERT per claim (its row count) and one for the marks.

Last, the prune sweep of the ``keyed`` table (``InboxSql.prune``): CPU per key looked at.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks import _harness as h

_ROWID = ("CREATE TABLE webhook_dedup (key TEXT PRIMARY KEY, seen_at REAL NOT NULL)",
          "CREATE INDEX webhook_dedup_seen ON webhook_dedup (seen_at)")
_KEYED = ("CREATE TABLE webhook_dedup (key TEXT PRIMARY KEY, seen_at REAL NOT NULL) WITHOUT ROWID",)
_INBOX = ("CREATE TABLE webhook_inbox (id INTEGER PRIMARY KEY, raw BLOB NOT NULL, headers TEXT NOT NULL, "
          "received_at REAL NOT NULL, lease_until REAL, failures INTEGER NOT NULL DEFAULT 0, last_error TEXT, "
          "dead_at REAL)")
#: name: (schema, page cache in KiB, claims with RETURNING)
VARIANTS = {
    "rowid": (_ROWID, 2000, False),
    "rowid returning": (_ROWID, 2000, True),
    "keyed": (_KEYED, 2000, False),
    "keyed+cache": (_KEYED, 32_768, False),
    "keyed+cache returning": (_KEYED, 32_768, True),
}


def _key() -> str:
    return f"msg:wamid.HBgL{random.getrandbits(120):030x}"


def _open(path: Path, schema: tuple[str, ...], cache_kib: int, keys: int) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute(f"PRAGMA cache_size=-{cache_kib}")
    for statement in (*schema, _INBOX):
        conn.execute(statement)
    now = time.time()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO webhook_dedup VALUES (?, ?)",
                     ((k, now) for _ in range(keys // 2) for k in (_key(), "done:" + _key())))
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return conn


def run(variant: str, keys: int, requests: int, tmp: Path) -> float:
    """CPU µs per request's transaction for ``variant``."""
    schema, cache_kib, returning = VARIANTS[variant]
    conn = _open(tmp / f"{variant.replace(' ', '_')}.db", schema, cache_kib, keys)
    raw = os.urandom(900)
    headers = '{"content-type": "application/json", "x-hub-signature-256": "sha256=' + "0" * 64 + '"}'
    previous: tuple[int, str] | None = None
    spent = 0
    warm = min(1000, requests)  # untimed: the connection's cache fills as a long-running one's has
    for n in range(warm + requests):
        now = time.time()
        key = _key()
        if n == warm:
            spent = 0
        start = time.thread_time_ns()
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("INSERT INTO webhook_inbox (raw, headers, received_at, lease_until) VALUES (?, ?, ?, ?)",
                           (raw, headers, now, now + 30)).lastrowid
        if returning:
            keys_new = [(key, now)] + ([("done:" + previous[1], now)] if previous else [])
            new = {r[0] for r in conn.execute(
                "INSERT INTO webhook_dedup (key, seen_at) VALUES " + ",".join(["(?, ?)"] * len(keys_new))
                + " ON CONFLICT (key) DO NOTHING RETURNING key", [v for kv in keys_new for v in kv])}
        else:
            new = {key} if conn.execute("INSERT INTO webhook_dedup (key, seen_at) VALUES (?, ?) "
                                        "ON CONFLICT (key) DO NOTHING", (key, now)).rowcount > 0 else set()
            if previous:
                conn.execute("INSERT INTO webhook_dedup (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                             ("done:" + previous[1], now))
        if previous:
            conn.execute("DELETE FROM webhook_inbox WHERE id = ?", (previous[0],))
        conn.execute("COMMIT")
        spent += time.thread_time_ns() - start
        if n % 500 == 499:  # untimed: the store's checkpoints run in a thread of their own
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        assert key in new
        previous = (int(row or 0), key)
    conn.close()
    return spent / requests / 1000


def sweep(keys: int, tmp: Path) -> float:
    """CPU ns per key looked at by one full pass of ``InboxSql.prune`` over ``keys`` keys (a fifth old)."""
    import wacloud.delivery._sql_inbox as inbox
    from wacloud.delivery import open_store

    store = open_store(f"sqlite:///{tmp}/sweep.db")
    now = time.time()
    with store._tx() as tx:  # type: ignore[attr-defined]
        for _ in range(keys):
            tx.run("INSERT INTO webhook_dedup (key, seen_at) VALUES (?, ?)",
                   (_key(), now - 100 if random.random() < 0.2 else now))
    budget, inbox.SWEEP_MIN_KEYS = inbox.SWEEP_MIN_KEYS, keys + inbox.SWEEP_BATCH  # one call: the whole pass
    try:
        start = time.thread_time_ns()
        store.prune(now, dedup_ttl_s=50, early_ttl_s=50)
        spent = time.thread_time_ns() - start
    finally:
        inbox.SWEEP_MIN_KEYS = budget
        store.close()
    return spent / keys


def main() -> None:
    """Interleaved rounds of every variant; the medians last."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--keys", type=int, default=80_000, help="dedup keys already in the table")
    parser.add_argument("--requests", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="wacloud-dedup-sql-") as tmp:
        for n in range(args.rounds):
            for name in VARIANTS:
                with tempfile.TemporaryDirectory(dir=tmp) as round_tmp:
                    results[name].append(run(name, args.keys, args.requests, Path(round_tmp)))
            print(f"round {n + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in results.items())
                  + f" µs/request (load {os.getloadavg()[0]:.1f})", flush=True)
        swept = sweep(args.keys, Path(tmp))
    medians = {name: statistics.median(v) for name, v in results.items()}
    h.report("dedup_sql", {"us_per_request": results, "median": medians, "sweep_ns_per_key": swept},
             ", ".join(f"{k} {v:.1f}" for k, v in medians.items())
             + f" µs/request (median of {args.rounds}); sweep {swept:.0f} ns/key", args.json)


if __name__ == "__main__":
    main()
