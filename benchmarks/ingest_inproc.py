"""Webhook ingest without the HTTP server: our ASGI app driven in-process, CPU per request by thread.

    python -m benchmarks.ingest_inproc [--requests 10000] [--concurrency 32] [--store off sqlite]

Each signed body of the mixed corpus goes through ``WebhookApp`` as uvicorn would hand it over (scope,
receive, send), ``--concurrency`` at a time, in one uvloop event loop; the durable receiver is the one
``benchmarks/_ours.py`` builds (the gateway's SQLite webhook store). Per store: CPU µs per request of
the process and of each thread (the event loop's, the store's lane), SQLite write transactions per
request (counted at the store's transaction function), and whether every update was handled and the
inbox emptied. Without uvicorn's own ~35 µs per request, the receiver's share stands out; the
transaction count is the figure the durable path is built around (one per request).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import _harness as h
from benchmarks import corpus
from benchmarks._receiver_server import HANDLED, ours_app

TRANSACTIONS: collections.Counter[str] = collections.Counter()


def count_transactions() -> None:
    """Count the SQLite store's write transactions (wraps the functions they go through)."""
    import wacloud.delivery.sqlite as sq

    inner = sq.sqlite_transaction

    @contextlib.contextmanager
    def counted(conn: sqlite3.Connection, write: bool, where: str, *rest: Any) -> Iterator[Any]:
        TRANSACTIONS["write" if write else "read"] += 1
        with inner(conn, write, where, *rest) as tx:
            yield tx

    sq.sqlite_transaction = counted

    # The group writes go straight to their connection (not through sqlite_transaction): one each.
    import wacloud.gateway._webhook_store as ws

    group = ws._FrontStore.write_group

    def counted_group(store: Any, *args: Any, **kwargs: Any) -> Any:
        TRANSACTIONS["write"] += 1
        return group(store, *args, **kwargs)

    ws._FrontStore.write_group = counted_group  # type: ignore[method-assign]


def thread_cpu() -> dict[int, float]:
    """CPU seconds (user + system) of each thread of this process, by native id."""
    import psutil

    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


def run(store: str, signed: list[tuple[bytes, str]], updates: int, concurrency: int, tmp: Path) -> dict[str, Any]:
    """Drive the app over every body once (after a warm-up of 500); the figures of the measured part.

    ``updates``: how many updates the bodies hold (all handled once the inbox is drained).
    """
    db = tmp / f"{store}.db"
    app = ours_app(corpus.APP_SECRET, f"sqlite:///{db}" if store == "sqlite" else None)
    HANDLED["updates"] = 0

    async def one(body: bytes, sig: str) -> None:
        scope = {"type": "http", "method": "POST", "path": "/webhook", "query_string": b"",
                 "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                             (b"content-length", str(len(body)).encode()), (b"x-hub-signature-256", sig.encode())]}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if sent[0]["status"] != 200:
            raise AssertionError(f"answered {sent[0]['status']}")

    async def lifespan() -> tuple[asyncio.Queue[dict[str, Any]], asyncio.Task[None]]:
        """Start the app through the ASGI lifespan, as uvicorn does (its start-up work included)."""
        import wacloud.webhooks.asgi as asgi

        asgi._gc_tuned = False  # each store stands for a server process of its own: its start-up tunes the GC
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        started = asyncio.get_running_loop().create_future()

        async def send(message: dict[str, Any]) -> None:
            if message["type"].startswith("lifespan.startup") and not started.done():
                started.set_result(message["type"])

        inbox.put_nowait({"type": "lifespan.startup"})
        task = asyncio.create_task(app({"type": "lifespan"}, inbox.get, send))
        if await started != "lifespan.startup.complete":
            raise AssertionError("the app did not start")
        return inbox, task

    async def main() -> dict[str, Any]:
        life, life_task = await lifespan()
        gate = asyncio.Semaphore(concurrency)

        async def limited(body: bytes, sig: str) -> None:
            async with gate:
                await one(body, sig)

        await asyncio.gather(*(limited(b, s) for b, s in signed[:500]))
        measured = signed[500:]
        deadline = time.monotonic() + 30
        # Polled: the handler only bumps a counter (an Event would add work to the measured path).
        while HANDLED["updates"] < 480 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        gc.collect()
        TRANSACTIONS.clear()
        before, cpu0, wall0 = thread_cpu(), time.process_time(), time.perf_counter()
        await asyncio.gather(*(limited(b, s) for b, s in measured))
        deadline = time.monotonic() + 30
        while HANDLED["updates"] < updates and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)  # processing after the answers: counted too
        cpu, wall, after = time.process_time() - cpu0, time.perf_counter() - wall0, thread_cpu()
        names = {t.native_id: t.name for t in threading.enumerate()}
        n = len(measured)
        threads: dict[str, float] = {}
        for k, v in after.items():  # threads of one name (a pool's) added up
            name = names.get(k, "exited")
            threads[name] = threads.get(name, 0.0) + (v - before.get(k, 0.0)) / n * 1e6
        left = None
        if store == "sqlite":
            with sqlite3.connect(db) as conn:
                left = conn.execute("SELECT count(*) FROM webhook_inbox").fetchone()[0]
        life.put_nowait({"type": "lifespan.shutdown"})
        await life_task
        return {"cpu_us_per_req": cpu / n * 1e6, "req_per_s": n / wall,
                "threads_cpu_us_per_req": {k: round(v, 1) for k, v in threads.items() if v >= 0.5},
                "write_tx_per_req": TRANSACTIONS["write"] / n, "handled_all": HANDLED["updates"] == updates,
                "inbox_rows_left": left}

    import uvloop

    return uvloop.run(main())


def main() -> None:
    """Run each store; print its figures and the one-line summary."""
    parser = h.base_parser(__doc__ or "")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--store", nargs="+", default=["off", "sqlite"], choices=["off", "sqlite"])
    args = parser.parse_args()
    count_transactions()
    from wacloud.webhooks import parse

    bodies = corpus.bodies(args.requests + 500, mix="realistic", seed=11)
    signed = corpus.signed(bodies)
    updates = sum(len(parse(body)) for body in bodies)
    figures: dict[str, Any] = {"requests": args.requests, "concurrency": args.concurrency}
    with tempfile.TemporaryDirectory() as tmp:
        for store in args.store:
            r = figures[store] = run(store, signed, updates, args.concurrency, Path(tmp))
            print(f"{store:7} CPU {r['cpu_us_per_req']:6.1f} µs/req (threads {r['threads_cpu_us_per_req']}), "
                  f"{r['write_tx_per_req']:.2f} write transactions/req, {r['req_per_s']:,.0f} req/s, "
                  f"all handled {r['handled_all']}, inbox rows left {r['inbox_rows_left']}", flush=True)
    summary = ", ".join(f"{s} {figures[s]['cpu_us_per_req']:.0f} µs CPU/req ({figures[s]['write_tx_per_req']:.2f} "
                        "write tx/req)" for s in args.store)
    h.report("ingest_inproc", figures, summary, args.json)


if __name__ == "__main__":
    main()
