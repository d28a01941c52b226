"""A real HTTP server (Starlette under uvicorn, on loopback) that records what the client sends.

It stands in for the Graph API only to capture requests: method, path (without the version), query,
headers and body, exactly as they went over the wire. Each answer is the canned JSON registered for
``(method, path)``, or ``{"success": true}``.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wacloud import AsyncClient, Client


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Recorder:
    """The recorded requests and the canned answers."""

    seen: list[Seen] = field(default_factory=list)
    answers: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)

    def answer(self, method: str, path: str, body: Any, status: int = 200) -> None:
        """Answer ``method path`` (path without the version) with ``body``."""
        self.answers[(method, path)] = (status, body)

    @property
    def last(self) -> Seen:
        """The most recent request."""
        return self.seen[-1]

    async def handle(self, request: Request) -> JSONResponse:
        body = await request.body()
        parts = request.url.path.strip("/").split("/", 1)
        path = parts[1] if len(parts) > 1 and parts[0].startswith("v") else request.url.path.strip("/")
        self.seen.append(Seen(request.method, path, dict(request.query_params), dict(request.headers), body))
        status, answer = self.answers.get((request.method, path), (200, {"success": True}))
        return JSONResponse(answer, status_code=status)


@contextmanager
def serve(recorder: Recorder) -> Iterator[str]:
    """Run the recorder on a free loopback port; yields its base URL."""
    app = Starlette(routes=[Route("/{path:path}", recorder.handle,
                                  methods=["GET", "POST", "DELETE", "PUT"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not (server.started and server.servers):
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def client_for(kind: str, recorder: Recorder, url: str, *, token: str, phone_number_id: str,
               waba_id: str) -> Any:
    """A sync or async client (``kind``) pointed at the recorder, with ``client.recorder`` set."""
    recorder.seen.clear()
    recorder.answers.clear()
    cls = Client if kind == "sync" else AsyncClient
    client = cls(token=token, phone_number_id=phone_number_id, waba_id=waba_id, base_url=url, version="v25.0")
    client.recorder = recorder
    return client


async def run(api: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """Call ``api.name(...)`` and await the result when the client is async."""
    result = getattr(api, name)(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def rec(api: Any) -> Recorder:
    """The recorder a client made by :func:`client_for` talks to."""
    recorder: Recorder = api.recorder
    return recorder
