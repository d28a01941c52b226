"""The embedded sandbox inside the gateway (sandbox mode): its control API behind the gateway's API key,
and its state kept in the gateway's database so a restart finds the same customers, windows, media,
templates, profile and QR codes (else the gateway's window check and the sandbox would disagree).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

from wacloud.gateway._db import Database, DatabaseUnavailable
from wacloud.gateway._keys import KeyStore
from wacloud.sandbox import SnapshotError, Snapshotter, is_control, restore

log = logging.getLogger("wacloud.gateway")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_TABLE = "wacloud_gw_sandbox"
_SCHEMA = f"CREATE TABLE IF NOT EXISTS {_TABLE} (name TEXT PRIMARY KEY, value TEXT NOT NULL)"


def _api_key(scope: Scope) -> str | None:
    """The key of ``Authorization: Bearer <key>`` or ``X-API-Key``, as the HTTP API takes it."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
        elif name == b"x-api-key":
            return value.decode("latin-1").strip() or None
    return None


async def _answer(send: Send, status: int, reason: str, headers: list[tuple[bytes, bytes]]) -> None:
    import json

    body = json.dumps({"error": {"reason": reason}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ControlGuard:
    """ASGI wrapper of the mounted sandbox: its control API needs the gateway's API key.

    The control API can redirect every signed webhook, reset state and inject faults, so on whatever
    address the gateway listens, it is the gateway's own API. The Graph API part keeps the sandbox's
    own access token, as Meta's does."""

    def __init__(self, app: ASGIApp, keys: KeyStore) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and is_control(scope):
            key = _api_key(scope)
            if key is None:
                await _answer(send, 401, "the sandbox's control API needs the gateway's API key: send "
                              "Authorization: Bearer <key>", [(b"www-authenticate", b"Bearer")])
                return
            try:
                info = await anyio.to_thread.run_sync(self.keys.verify, key)
            except DatabaseUnavailable:
                await _answer(send, 503, "the database is unavailable; retry shortly", [(b"retry-after", b"5")])
                return
            if info is None:
                await _answer(send, 401, "invalid or revoked API key", [(b"www-authenticate", b"Bearer")])
                return
        await self.app(scope, receive, send)


class SandboxPersistence:
    """Keeps the embedded sandbox's state in the gateway database: restored at start, saved as it changes.

    Saving is a round every ``interval_s`` (or longer when taking the snapshot is slow, so the sandbox
    never spends more than a few percent of its time on it), plus a last one at shutdown."""

    def __init__(self, db: Database, state: Any, *, interval_s: float = 1.0) -> None:
        self.db = db
        self.state = state
        self.interval_s = interval_s
        self._lock = asyncio.Lock()
        self._snap = Snapshotter(state)

    def load(self) -> None:
        """Restore the saved state, if any (blocking: called while the app is built)."""
        self.db.execute(_SCHEMA)
        records = {str(n): str(v) for n, v in self.db.execute(f"SELECT name, value FROM {_TABLE}")}
        try:
            restore(self.state, records)
        except SnapshotError as exc:
            # Start afresh, but keep what could not be read beside the new state for a human to look at.
            aside = f"unreadable-{int(time.time())}"
            log.error("the embedded sandbox's saved state was not restored (%s); kept as %s", exc, aside)
            self.db.execute(f"UPDATE {_TABLE} SET name = ? || name WHERE name NOT LIKE 'unreadable-%'",
                            (aside + ":",))
            records = {}
        self._snap = Snapshotter(self.state, records)

    def _write(self, upserts: dict[str, str], deletes: list[str]) -> None:
        self.db.executemany(
            f"INSERT INTO {_TABLE} (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            list(upserts.items()),
        )
        self.db.executemany(f"DELETE FROM {_TABLE} WHERE name = ?", [(n,) for n in deletes])

    async def flush(self) -> None:
        """Save what changed since the last save (the snapshot on the loop, the writing in a thread)."""
        async with self._lock:
            upserts, deletes = self._snap.changes()
            if not upserts and not deletes:
                return
            await anyio.to_thread.run_sync(self._write, upserts, deletes)
            self._snap.saved(upserts, deletes)

    async def run(self) -> None:
        """Save rounds until cancelled; a failing round (database down) is retried at the next one."""
        while True:
            started = time.perf_counter()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("could not save the embedded sandbox's state (will retry): %s", exc)
            spent = time.perf_counter() - started
            await asyncio.sleep(max(self.interval_s, 20 * spent))

    async def stop(self, task: asyncio.Task[None]) -> None:
        """Stop the rounds and save one last time."""
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        try:
            await self.flush()
        except Exception as exc:
            log.error("could not save the embedded sandbox's state at shutdown: %s", exc)
