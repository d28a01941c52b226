"""A small HTTP/1.1 load generator on raw asyncio streams (loopback only), for the ingest benchmarks.

httpx costs tens of microseconds of CPU per request, which on a 2-core machine would be taken from the
server under test; pre-encoded requests written to keep-alive sockets cost a few. Two modes:

- :func:`closed_loop`: C connections each send back-to-back for a fixed time (throughput at saturation).
- :func:`open_loop`: requests *scheduled* at a fixed rate; latency is measured from the scheduled time,
  not the moment a connection became free, so a slow server cannot hide its queueing delay
  ("coordinated omission").

Both are bounded by ``duration`` and a request cap; nothing loops forever.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field


def encode_post(path: str, body: bytes, headers: dict[str, str], host: str = "127.0.0.1") -> bytes:
    """A complete HTTP/1.1 POST request, ready to write to a socket."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
        "",
        "",
    ]
    return "\r\n".join(lines).encode("latin-1") + body


@dataclass
class Stats:
    """What a load run saw."""

    sent: int = 0
    done: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    late_starts: int = 0

    @property
    def ok(self) -> int:
        """Responses with status 200."""
        return self.statuses.get(200, 0)

    def as_dict(self) -> dict[str, object]:
        """The figures as plain JSON-able values (latencies summarised, in milliseconds)."""
        from benchmarks._harness import percentile

        lat = [x * 1000 for x in self.latencies]
        return {
            "sent": self.sent,
            "done": self.done,
            "ok": self.ok,
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
            "elapsed_s": self.elapsed,
            "throughput_rps": self.done / self.elapsed if self.elapsed else 0.0,
            "p50_ms": percentile(lat, 50),
            "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99),
            "max_ms": max(lat) if lat else float("nan"),
            "late_starts": self.late_starts,
        }


#: Idle keep-alive connections older than this are not reused: uvicorn closes them after 5 s, and a
#: request written to a socket the server is closing fails without ever reaching it.
MAX_IDLE_S = 2.0


class Conn:
    """One keep-alive connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.perf_counter()

    @classmethod
    async def open(cls, host: str, port: int) -> Conn:
        """Connect."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> int:
        """Write one request, read its whole response, return the status code."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = -1
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value)
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length > 0:
            await self.reader.readexactly(length)
        if b"connection: close" in head.lower():
            raise ConnectionResetError("server closed the connection")
        self.last_used = time.perf_counter()
        return status

    def close(self) -> None:
        """Close the socket."""
        self.writer.close()


async def closed_loop(
    host: str,
    port: int,
    requests: list[bytes],
    *,
    concurrency: int,
    duration: float,
    max_requests: int = 10_000_000,
) -> Stats:
    """``concurrency`` connections sending back-to-back for ``duration`` seconds."""
    stats = Stats()
    deadline = time.perf_counter() + duration
    counter = iter(range(max_requests))

    async def worker() -> None:
        conn: Conn | None = None
        while time.perf_counter() < deadline:
            i = next(counter, None)
            if i is None:
                return
            raw = requests[i % len(requests)]
            t0 = time.perf_counter()
            stats.sent += 1
            try:
                conn = conn or await Conn.open(host, port)
                status = await conn.request(raw)
                stats.statuses[status] += 1
                stats.latencies.append(time.perf_counter() - t0)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                stats.errors[type(exc).__name__] += 1
                if conn:
                    conn.close()
                conn = None
            stats.done += 1
            if conn is not None and time.perf_counter() - conn.last_used > MAX_IDLE_S:
                conn.close()
                conn = None
        if conn:
            conn.close()

    t_start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    stats.elapsed = time.perf_counter() - t_start
    return stats


async def open_loop(
    host: str, port: int, requests: list[bytes], *, rate: float, duration: float, max_connections: int = 256
) -> Stats:
    """Requests scheduled every ``1/rate`` s for ``duration`` s; latency from the scheduled instant."""
    stats = Stats()
    idle: list[Conn] = []
    open_conns = 0
    slots = asyncio.Semaphore(max_connections)
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * duration)

    async def one(raw: bytes, scheduled: float) -> None:
        nonlocal open_conns
        async with slots:
            conn = idle.pop() if idle else None
            while conn is not None and time.perf_counter() - conn.last_used > MAX_IDLE_S:
                conn.close()
                open_conns -= 1
                conn = idle.pop() if idle else None
            try:
                if conn is None:
                    conn = await Conn.open(host, port)
                    open_conns += 1
                status = await conn.request(raw)
                stats.statuses[status] += 1
                stats.latencies.append(time.perf_counter() - scheduled)
                idle.append(conn)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                stats.errors[type(exc).__name__] += 1
                if conn:
                    conn.close()
                    open_conns -= 1
            stats.done += 1

    start = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.005:
            stats.late_starts += 1  # the generator itself fell behind by more than 5 ms
        stats.sent += 1
        task = asyncio.create_task(one(requests[i % len(requests)], scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    stats.elapsed = time.perf_counter() - start
    for conn in idle:
        conn.close()
    return stats
