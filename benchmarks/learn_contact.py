"""A customer's first status: learning their ids (phone number and BSUID) when a claim already paced them.

    python -m benchmarks.learn_contact [--n 2000] [--stores sqlite postgres]

Every recipient of a campaign is new at its first status webhook: the store makes their contact record,
links both ids, and moves the pair bucket the claim keyed by the phone number to the person. Reported, per
customer: wall µs of ``Store.learn_contact`` (one transaction each) and the statements it ran (counted at the
dialect's transaction). PostgreSQL needs ``WACLOUD_TEST_PG_DSN`` (a schema of its own, dropped after).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from typing import Any

from benchmarks import _harness as h
from wacloud.delivery import open_store
from wacloud.delivery._sql_base import Tx
from wacloud.identity import CustomerIds

PID = h.SANDBOX_PHONE_ID


@contextlib.contextmanager
def _counted() -> Iterator[list[int]]:
    """Counts the statements every dialect's transaction runs while the block runs."""
    count = [0]
    saved: list[tuple[type, str, Any]] = []
    for cls in Tx.__subclasses__():
        for name in ("rows", "run", "many"):
            original = cls.__dict__.get(name)
            if original is None:
                continue

            def counting(self: Tx, *args: Any, _original: Any = original, **kw: Any) -> Any:
                count[0] += 1
                return _original(self, *args, **kw)

            saved.append((cls, name, original))
            setattr(cls, name, counting)
    try:
        yield count
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)


def _measure(url: str, n: int) -> dict[str, float]:
    store = open_store(url)
    try:
        now = time.time()
        phones = [f"1555{k:07d}" for k in range(n)]
        for phone in phones:
            store.hold_recipient(PID, phone, now + 1)  # what the claim left, keyed by the number
        with _counted() as count:
            start = time.perf_counter()
            for k, phone in enumerate(phones):
                store.learn_contact(PID, CustomerIds(wa_id=phone, bsuid=f"US.{10**19 + k}"), time.time())
            elapsed = time.perf_counter() - start
        return {"us_per_customer": elapsed / n * 1e6, "statements_per_customer": count[0] / n}
    finally:
        store.close()


@contextlib.contextmanager
def _pg_url() -> Iterator[str]:
    import psycopg

    dsn = os.environ["WACLOUD_TEST_PG_DSN"]
    schema = "bench_" + secrets.token_hex(4)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{dsn}{'&' if '?' in dsn else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    args = parser.parse_args()
    figures: dict[str, dict[str, float]] = {}
    for kind in args.stores:
        if kind == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                figures[kind] = _measure(f"sqlite:///{tmp}/learn.db", args.n)
        elif os.environ.get("WACLOUD_TEST_PG_DSN"):
            with _pg_url() as url:
                figures[kind] = _measure(url, args.n)
        else:
            print("postgres: skipped (WACLOUD_TEST_PG_DSN is not set)")
            continue
        f = figures[kind]
        print(f"{kind}: {f['us_per_customer']:.0f} µs, {f['statements_per_customer']:.1f} statements per customer")
    summary = "; ".join(f"{k}: {h.fmt(f['us_per_customer'], 0)} µs, {h.fmt(f['statements_per_customer'], 1)} "
                        "statements per new customer" for k, f in figures.items())
    h.report("learn_contact", figures, summary, args.json)


if __name__ == "__main__":
    main()
