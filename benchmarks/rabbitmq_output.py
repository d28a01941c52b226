"""RabbitMQ output: events/s the relay publishes with publisher confirms, per batch size.

    python -m benchmarks.rabbitmq_output [--events 20000] [--batches 50 200 1000]

A private ``rabbitmq-server`` node (Debian's package, as the tests start it: tests/outputs/rabbit.py)
with one durable queue bound to every event; the relay reads a SQLite event table (the tests' small
log), publishes persistent messages to the topic exchange, waits for the confirms of each batch and
advances its cursor in a SQLite delivery store. The figure is end to end: log read, JSON, AMQP, the
broker's confirm (persistent, durable queue), cursor write. Results: benchmarks/results/rabbitmq_output.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.outputs.eventlog import SqliteEventLog
from tests.outputs.rabbit import RabbitNode

from wacloud.delivery import EventCursors, open_store
from wacloud.events.rabbitmq import RabbitMQSink
from wacloud.events.relay import Relay

RESULTS = Path(__file__).parent / "results" / "rabbitmq_output.json"


async def run_once(url: str, tmp: Path, n: int, batch: int) -> dict[str, Any]:
    """Relay ``n`` fresh events with batches of ``batch``; events/s from the first read to the last confirm."""
    log = SqliteEventLog(tmp / f"log-{batch}.db")
    events = log.append_many(n, ["106540352242922", "106540352242923"])
    store = open_store(f"sqlite:///{tmp / f'store-{batch}.db'}")
    sink = RabbitMQSink(url, exchange=f"bench.{batch}", queue=f"bench.{batch}")
    relay = Relay(log, sink, EventCursors(store), batch=batch, poll_s=0.01)
    await sink.publish(events[:1])  # connect and declare outside the timing
    started = time.perf_counter()
    while relay.stats.position < events[-1].position:
        await relay.step()
    elapsed = time.perf_counter() - started
    await sink.close()
    store.close()
    return {"events": n, "batch": batch, "seconds": round(elapsed, 3), "events_per_s": round(n / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--batches", type=int, nargs="+", default=[50, 200, 1000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        node = RabbitNode(tmp / "node")
        node.start()
        try:
            rows = [asyncio.run(run_once(node.url, tmp, args.events, b)) for b in args.batches]
        finally:
            node.close()
    for row in rows:
        print(f"batch {row['batch']:>5}: {row['events']} events in {row['seconds']} s = {row['events_per_s']} events/s")
    RESULTS.write_text(json.dumps({"rabbitmq_output": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
