"""Client test fixtures: a recording stand-in for the Graph API, and both client flavours.

``FakeGraph`` answers like the Cloud API for the calls the messaging and media mixins make and records
every request, so a test can check the exact bytes that went out. ``api`` runs the same test on
:class:`wacloud.Client` and :class:`wacloud.AsyncClient`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import httpx
import pytest

from wacloud import AsyncClient, Client

TOKEN = "EAAG-secret-token-never-logged-0123456789"
PHONE_ID = "106540352242922"
MEDIA_HOST = "lookaside.fbsbx.com"


@dataclass
class Part:
    """One multipart/form-data field."""

    name: str
    content: bytes
    filename: str | None
    content_type: str


@dataclass
class FakeGraph:
    """A recording Graph API for the client tests (messages, media upload/URL/download/delete)."""

    requests: list[httpx.Request] = field(default_factory=list)
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    failures: list[httpx.Response | Exception] = field(default_factory=list)
    #: Overrides of what ``GET /{media-id}`` announces (e.g. a wrong sha256, a foreign URL).
    media_info_override: dict[str, Any] = field(default_factory=dict)
    stale_downloads: int = 0
    _count: int = 0

    def fail_next(self, failure: httpx.Response | Exception) -> None:
        """Answer the next request with ``failure`` (a response, or an exception the transport raises)."""
        self.failures.append(failure)

    def bodies(self) -> list[Any]:
        """The JSON bodies of the requests made so far."""
        return [json.loads(r.content) for r in self.requests
                if r.headers.get("content-type") == "application/json"]

    def last_json(self) -> Any:
        """The JSON body of the last request."""
        return json.loads(self.requests[-1].content)

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The MockTransport handler."""
        request.read()
        self.requests.append(request)
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"error": {"message": "Invalid OAuth access token.", "code": 190,
                                                       "type": "OAuthException", "fbtrace_id": "AUTH"}})
        if request.url.host == MEDIA_HOST:
            return self._download(request)
        path = re.sub(r"^/v\d+\.\d+/", "", request.url.path)
        if request.method == "POST" and path == f"{PHONE_ID}/messages":
            return self._message(json.loads(request.content))
        if request.method == "POST" and path == f"{PHONE_ID}/media":
            return self._upload(request)
        if request.method == "GET" and path in self.media:
            return self._info(path)
        if request.method == "DELETE" and path in self.media:
            del self.media[path]
            return httpx.Response(200, json={"success": True})
        return httpx.Response(400, json={"error": {"message": "Unsupported request", "code": 100,
                                                   "type": "GraphMethodException", "fbtrace_id": "NOPE"}})

    def _message(self, body: dict[str, Any]) -> httpx.Response:
        if body.get("status") == "read":
            return httpx.Response(200, json={"success": True})
        self._count += 1
        to = str(body["to"])
        message: dict[str, Any] = {"id": f"wamid.TEST{self._count}"}
        if body.get("type") == "template":
            message["message_status"] = "accepted"
        return httpx.Response(200, json={"messaging_product": "whatsapp",
                                         "contacts": [{"input": to, "wa_id": re.sub(r"\D", "", to)}],
                                         "messages": [message]})

    def _upload(self, request: httpx.Request) -> httpx.Response:
        parts = {p.name: p for p in parse_multipart(request)}
        self._count += 1
        media_id = f"{9000 + self._count}"
        self.media[media_id] = (parts["file"].content, parts["type"].content.decode())
        return httpx.Response(200, json={"id": media_id})

    def _info(self, media_id: str) -> httpx.Response:
        content, mime = self.media[media_id]
        info = {"messaging_product": "whatsapp", "url": f"https://{MEDIA_HOST}/whatsapp_business/attachments/"
                f"?mid={media_id}&ext=1", "mime_type": mime, "sha256": hashlib.sha256(content).hexdigest(),
                "file_size": str(len(content)), "id": media_id}
        info.update(self.media_info_override)
        return httpx.Response(200, json=info)

    def _download(self, request: httpx.Request) -> httpx.Response:
        if self.stale_downloads:
            self.stale_downloads -= 1
            return httpx.Response(404, text="URL expired")
        media_id = request.url.params.get("mid", "")
        if media_id not in self.media:
            return httpx.Response(404, text="not found")
        content, mime = self.media[media_id]
        return httpx.Response(200, content=content, headers={"content-type": mime})


def parse_multipart(request: httpx.Request) -> list[Part]:
    """Split a multipart/form-data request into its fields."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    msg = BytesParser(policy=HTTP).parsebytes(head + request.content)
    parts = []
    for part in msg.iter_parts():
        assert isinstance(part, Message)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append(Part(name=str(part.get_param("name", header="content-disposition")), content=payload,
                          filename=part.get_filename(), content_type=part.get_content_type()))
    return parts


class Api:
    """One client flavour under test; ``await api.call("send_text", ...)`` works for both."""

    def __init__(self, kind: str, graph: FakeGraph) -> None:
        self.kind = kind
        self.graph = graph

    def client(self, handler: Callable[[httpx.Request], httpx.Response] | None = None,
               **config: Any) -> Client | AsyncClient:
        """A client of this flavour wired to ``handler`` (the fake Graph by default)."""
        config.setdefault("token", TOKEN)
        config.setdefault("phone_number_id", PHONE_ID)
        transport = httpx.MockTransport(handler or self.graph.handle)
        if self.kind == "sync":
            return Client(transport=transport, **config)
        return AsyncClient(transport=transport, **config)

    async def call(self, method: str, /, *args: Any, client: Client | AsyncClient | None = None,
                   **kwargs: Any) -> Any:
        """Call ``method`` on a (default) client and return its result, awaiting it for the async client."""
        target = client or self.client()
        result = getattr(target, method)(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result


@pytest.fixture
def graph() -> FakeGraph:
    """A fresh recording Graph API."""
    return FakeGraph()


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, graph: FakeGraph) -> Iterator[Api]:
    """Runs the test once with ``Client`` and once with ``AsyncClient``."""
    yield Api(request.param, graph)


def no_network(request: httpx.Request) -> httpx.Response:
    """A transport handler for calls that must never reach the network."""
    pytest.fail(f"an invalid call reached the network: {request.method} {request.url}")


class Live(Api):
    """One client flavour pointed at the running sandbox (real HTTP on loopback)."""

    def __init__(self, kind: str, sandbox: Any) -> None:
        super().__init__(kind, FakeGraph())
        self.sandbox = sandbox
        self.opened: list[Client | AsyncClient] = []

    def client(self, handler: Callable[[httpx.Request], httpx.Response] | None = None,
               **config: Any) -> Client | AsyncClient:
        """A sandbox client of this flavour (``handler`` is refused: this is the real thing)."""
        assert handler is None, "live clients talk to the sandbox over HTTP"
        made = self.sandbox.client(**config) if self.kind == "sync" else self.sandbox.async_client(**config)
        self.opened.append(made)
        return made

    async def close(self) -> None:
        """Close every client this fixture opened."""
        for made in self.opened:
            if isinstance(made, AsyncClient):
                await made.aclose()
            else:
                made.close()


@pytest.fixture(params=["sync", "async"])
async def live(request: pytest.FixtureRequest, sandbox: Any) -> Any:
    """Runs the test with ``Client`` and ``AsyncClient`` against the sandbox, reset for each test."""
    handle = Live(request.param, sandbox)
    yield handle
    await handle.close()
