"""Events out: delivery rate to subscribers, and webhook ack latency with a dead subscriber.

    python -m benchmarks.events_delivery [--events 3000] [--webhooks 400]

1. Delivery: ``--events`` events in a SQLite log, delivered by the subscription dispatcher (the gateway's
   code, in this process) to 1 and to 10 real HTTP subscribers on loopback (threaded servers answering 200).
   Reports events/s per subscription and deliveries/s in all, until every cursor reached the head.
2. Isolation: a real gateway (uvicorn, sandbox mode, SQLite) takes ``--webhooks`` signed inbound-message
   webhooks one after another; p50/p99 of the 200 ack, with no subscription, then with a subscription to a
   dead subscriber (accepts connections, never answers) that holds every one of its connections.
Results go to benchmarks/results/events.json. Figures vary with the machine (2 shared cores here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from benchmarks import corpus
from wacloud.delivery import open_store
from wacloud.events import DeliveryPolicy, EventLog, NewEvent, SubscriptionDispatcher, SubscriptionStore, append
from wacloud.gateway._app import create_app
from wacloud.gateway._db import Database
from wacloud.gateway._settings import load_settings
from wacloud.identity import CustomerIds
from wacloud.sandbox import ServerThread
from wacloud.webhooks.signature import sign

RESULTS = Path(__file__).parent / "results" / "events.json"


class _Counter:
    """A subscriber answering 200 to everything, counting requests."""

    def __init__(self) -> None:
        self.count = 0
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                with lock:
                    owner.count += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _BlackHole:
    """A dead subscriber: accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.held: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        for c in self.held:
            c.close()
        self.sock.close()


def delivery_rate(n_events: int, n_subs: int) -> dict[str, Any]:
    """Events/s to ``n_subs`` subscribers (each gets every event)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/events.db"
        open_store(url).close()
        db = Database(url)
        for first in range(0, n_events, 500):
            last = min(n_events, first + 500)
            batch = [NewEvent("message.received", corpus.PHONE_NUMBER_ID, {"i": i},
                              CustomerIds(wa_id=f"1555{i % 200:07d}")) for i in range(first, last)]
            db.run(lambda tx, b=batch: append(tx, b))
        log, store = EventLog(db.run), SubscriptionStore(db.run)
        subs = [_Counter() for _ in range(n_subs)]
        for s in subs:
            store.create(s.url, types=None, numbers=None, cursor=0)

        async def run() -> float:
            dispatcher = SubscriptionDispatcher(store, log, DeliveryPolicy())
            started = time.perf_counter()
            task = asyncio.create_task(dispatcher.run())
            while min(s.count for s in subs) < n_events:  # noqa: ASYNC110 - the counters live in server threads
                await asyncio.sleep(0.02)
            took = time.perf_counter() - started
            await dispatcher.stop()
            task.cancel()
            return took

        took = asyncio.run(run())
        for s in subs:
            s.close()
        db.close()
    return {"subscribers": n_subs, "events": n_events, "seconds": round(took, 2),
            "events_per_s_per_subscriber": round(n_events / took, 1),
            "deliveries_per_s": round(n_events * n_subs / took, 1)}


def ack_latency(n_webhooks: int, *, dead_subscriber: bool) -> dict[str, Any]:
    """p50/p99 webhook ack (ms) of a gateway, with or without a dead subscriber."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{tmp}/gw.db", app_secret=corpus.APP_SECRET,
                                 verify_token="bench", port=0)
        app = create_app(settings)
        _, key = app.state.gateway.keys.create("bench")
        server = ServerThread(app)
        server.start()
        base = f"http://127.0.0.1:{server.port}"
        hole = _BlackHole() if dead_subscriber else None
        bodies = corpus.bodies(n_webhooks + 50, kinds=["text"], seed=5)
        lat: list[float] = []
        with httpx.Client(base_url=base, timeout=30) as http:
            if hole is not None:
                r = http.post("/v1/subscriptions", json={"url": hole.url}, headers={"Authorization": f"Bearer {key}"})
                assert r.status_code == 201, r.text
            for i, body in enumerate(bodies):
                started = time.perf_counter()
                r = http.post("/webhook", content=body, headers={"content-type": "application/json",
                                                                 "x-hub-signature-256": sign(body, corpus.APP_SECRET)})
                if i >= 50:  # the first ones warm up the process
                    lat.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, r.text
        server.stop()
        if hole is not None:
            hole.close()
    lat.sort()
    return {"dead_subscriber": dead_subscriber, "webhooks": len(lat),
            "p50_ms": round(statistics.median(lat), 2), "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 2)}


def main() -> None:
    """Run both parts and print/write the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=3000)
    ap.add_argument("--webhooks", type=int, default=400)
    args = ap.parse_args()
    out: dict[str, Any] = {"delivery": [], "ack": []}
    for n in (1, 10):
        row = delivery_rate(args.events, n)
        print(json.dumps(row))
        out["delivery"].append(row)
    for dead in (False, True):
        row = ack_latency(args.webhooks, dead_subscriber=dead)
        print(json.dumps(row))
        out["ack"].append(row)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
