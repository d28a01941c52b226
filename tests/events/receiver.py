"""A subscriber for the tests and benchmarks: a real HTTP server on loopback that records every delivery.

It can fail a share of attempts (answering 500, decided by a seeded random draw), answer slowly, or be
switched to always fail. Deliveries are verified with ``standardwebhooks.Webhook(secret).verify`` when a
secret is set; a bad signature is counted, never accepted.
"""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    """What the subscriber got: accepted events in arrival order, and counts."""

    events: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    attempts: int = 0
    failed: int = 0
    bad_signatures: int = 0


class Subscriber:
    """``url`` receives deliveries; ``fail_rate``/``delay_s``/``dead`` shape its answers."""

    def __init__(self, *, fail_rate: float = 0.0, delay_s: float = 0.0, seed: int = 7) -> None:
        self.fail_rate = fail_rate
        self.delay_s = delay_s
        self.dead = False
        self.secret: str | None = None
        self.got = Received()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(size)
                if len(body) < size:
                    return  # the sender died mid-request (SIGKILL): nothing was delivered
                status = owner.handle(body, {k.lower(): v for k, v in self.headers.items()})
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a sender killed mid-request (the SIGKILL tests) resets its connection: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def handle(self, body: bytes, headers: dict[str, str]) -> int:
        """Answer one delivery (200 when accepted)."""
        if self.delay_s:
            time.sleep(self.delay_s)
        with self._lock:
            self.got.attempts += 1
            if self.dead or (self.fail_rate and self._rng.random() < self.fail_rate):
                self.got.failed += 1
                return 500
        if self.secret is not None:
            try:
                payload = Webhook(self.secret).verify(body, headers)
            except Exception:
                with self._lock:
                    self.got.bad_signatures += 1
                return 400
        else:
            payload = json.loads(body)
        with self._lock:
            self.got.events.append(payload)
            self.got.ids.append(headers["webhook-id"])
        return 200

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
