"""The audit log: who (which key) did what, to what, when, through the HTTP API or the console.

Every state-changing ``/v1`` request is recorded by :class:`AuditRecorder` (an ASGI middleware reading
the key the auth dependency found); the console records its own actions by name. ``GET /v1/audit``
(admin keys only) reads it back, newest first.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from wacloud.gateway._api_errors import ERROR_RESPONSES, ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._calls import call_engine
from wacloud.gateway._db import Database
from wacloud.gateway._keys import KeyInfo

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One recorded action."""

    id: int
    ts: float
    key_id: str
    key_name: str
    role: str
    action: str
    target: str
    outcome: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "ts": self.ts,
            "key_id": self.key_id,
            "key_name": self.key_name,
            "role": self.role,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
        }


class AuditLog:
    """The ``wacloud_gw_audit`` table in the gateway database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.execute(f"""CREATE TABLE IF NOT EXISTS wacloud_gw_audit (
            id {db.serial}, ts DOUBLE PRECISION NOT NULL, key_id TEXT NOT NULL, key_name TEXT NOT NULL,
            role TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL)""")
        db.execute("CREATE INDEX IF NOT EXISTS wacloud_gw_audit_ts ON wacloud_gw_audit (ts)")

    def record(self, who: KeyInfo, action: str, target: str = "", outcome: str = "ok") -> None:
        """Append one entry (texts are cut to a sane length: the log must not grow from one request)."""
        self.db.execute(
            "INSERT INTO wacloud_gw_audit (ts, key_id, key_name, role, action, target, outcome) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time.time(), who.id, who.name[:100], who.role, action[:100], target[:300], outcome[:100]),
        )

    def entries(self, *, limit: int = 100, key_id: str | None = None) -> list[AuditEntry]:
        """The newest entries first, optionally of one key."""
        sql = "SELECT id, ts, key_id, key_name, role, action, target, outcome FROM wacloud_gw_audit"
        params: tuple[Any, ...] = ()
        if key_id is not None:
            sql += " WHERE key_id = ?"
            params = (key_id,)
        rows = self.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit))
        return [AuditEntry(int(r[0]), float(r[1]), *r[2:]) for r in rows]


class AuditRecorder:
    """ASGI middleware: every authenticated ``POST/PUT/PATCH/DELETE`` under ``/v1`` goes in the audit log."""

    def __init__(self, app: ASGIApp, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in _CHANGES or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        async def observe(message: Message) -> None:
            # Recorded before the answer goes out, so a client that reads the log next finds the entry.
            if message["type"] == "http.response.start":
                await self._record(scope, int(message["status"]))
            await send(message)

        await self.app(scope, receive, observe)

    async def _record(self, scope: Scope, status: int) -> None:
        who = scope.get("state", {}).get("key_info")
        if isinstance(who, KeyInfo):  # unauthenticated requests changed nothing
            outcome = "ok" if status < 400 else f"refused {status}"
            await call_engine(self.log.record, who, f"{scope['method']} {scope['path']}", scope["path"], outcome)


class AuditEntryOut(BaseModel):
    """One audit log entry."""

    id: int
    ts: float
    key_id: str
    key_name: str
    role: str
    action: str
    target: str
    outcome: str


class AuditList(BaseModel):
    """Audit log entries, newest first."""

    entries: list[AuditEntryOut]


router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["keys"])


@router.get("/audit", response_model=AuditList, summary="The audit log: who did what, newest first (admin)")
async def audit(
    request: Request,
    _: Authenticated,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    key_id: Annotated[str | None, Query(min_length=1, max_length=32, pattern=r"^[0-9a-z]+$")] = None,
) -> dict[str, Any]:
    """Entries of every key (or of ``key_id``); admin keys only."""
    log: AuditLog | None = request.app.state.gateway.audit
    if log is None:
        raise ApiError(503, "the audit log is not available in this process")
    found = await call_engine(log.entries, limit=limit, key_id=key_id)
    return {"entries": [e.as_dict() for e in found]}
