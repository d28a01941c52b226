"""Console sign-in: an API key becomes a server-side session (HttpOnly, SameSite=Strict cookie).

The cookie holds only a random session token; the database keeps its hash, the key's id, name and role
and the session's CSRF token. Every state-changing console request must carry that CSRF token (a hidden
``csrf`` form field, or the ``X-CSRF-Token`` header htmx sends). A revoked key ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request

from wacloud.gateway._calls import call_engine
from wacloud.gateway._db import Database
from wacloud.gateway._keys import KeyInfo
from wacloud.gateway._numbers import NumberLane
from wacloud.gateway._runtime import Gateway

COOKIE = "wacloud_console"
#: A session lasts a working day; signing in again is cheap.
SESSION_S = 12 * 3600
_WRITE_ROLES = frozenset({"admin", "agent"})


class NeedSignIn(Exception):
    """No (valid) session: the console answers with a redirect to the sign-in page."""


class Refused(Exception):
    """The signed-in key's role (or a missing CSRF token) does not allow this: a 403 page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """The key behind a console session."""

    key: KeyInfo
    csrf: str

    @property
    def role(self) -> str:
        """admin, agent or viewer."""
        return self.key.role

    @property
    def can_write(self) -> bool:
        """Agents and admins may send, reply and change things; viewers only look."""
        return self.key.role in _WRITE_ROLES

    @property
    def is_admin(self) -> bool:
        """Keys, numbers, subscriptions and the audit log are admin business."""
        return self.key.role == "admin"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Sessions:
    """The ``wacloud_gw_console_sessions`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.execute(
            "CREATE TABLE IF NOT EXISTS wacloud_gw_console_sessions (token_hash TEXT PRIMARY KEY, "
            "key_id TEXT NOT NULL, key_name TEXT NOT NULL, role TEXT NOT NULL, csrf TEXT NOT NULL, "
            "expires_at DOUBLE PRECISION NOT NULL)"
        )

    def open(self, key: KeyInfo) -> str:
        """A new session for ``key``; returns the cookie's token (expired sessions are swept here)."""
        now = time.time()
        self.db.execute("DELETE FROM wacloud_gw_console_sessions WHERE expires_at < ?", (now,))
        token = secrets.token_urlsafe(32)
        self.db.execute(
            "INSERT INTO wacloud_gw_console_sessions (token_hash, key_id, key_name, role, csrf, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (_hash(token), key.id, key.name, key.role, secrets.token_urlsafe(24), now + SESSION_S),
        )
        return token

    def find(self, token: str) -> tuple[KeyInfo, str] | None:
        """The key and CSRF token of a live session."""
        rows = self.db.execute(
            "SELECT key_id, key_name, role, csrf FROM wacloud_gw_console_sessions "
            "WHERE token_hash = ? AND expires_at >= ?",
            (_hash(token), time.time()),
        )
        if not rows:
            return None
        key_id, name, role, csrf = rows[0]
        return KeyInfo(id=key_id, name=name, created_at=0.0, role=role), csrf

    def close(self, token: str) -> None:
        """Sign out."""
        self.db.execute("DELETE FROM wacloud_gw_console_sessions WHERE token_hash = ?", (_hash(token),))


def gateway(request: Request) -> Gateway:
    """The gateway behind this request."""
    gw: Gateway = request.app.state.gateway
    return gw


def sessions(request: Request) -> Sessions:
    """The session table (made once per app)."""
    found: Sessions | None = getattr(request.app.state, "console_sessions", None)
    if found is None:
        found = request.app.state.console_sessions = Sessions(gateway(request).db)
    return found


def _still_valid(gw: Gateway, key: KeyInfo) -> KeyInfo | None:
    """The key's current info (role changes and revocations apply to open sessions at once)."""
    if key.id == "config":  # keys from the configuration are not in the table
        return key
    current = gw.keys.get(key.id)
    return current if current is not None and current.active else None


async def current_user(request: Request) -> ConsoleUser:
    """The signed-in user, or :class:`NeedSignIn`."""
    token = request.cookies.get(COOKIE)
    if not token:
        raise NeedSignIn()
    found = await call_engine(sessions(request).find, token)
    if found is None:
        raise NeedSignIn()
    key = await call_engine(_still_valid, gateway(request), found[0])
    if key is None:
        raise NeedSignIn()
    return ConsoleUser(key=key, csrf=found[1])


async def checked_form(request: Request, user: ConsoleUser, *, need: str = "write") -> FormData:
    """The posted form after the CSRF and role checks (``need``: "write" for agents, "admin")."""
    form = await request.form()
    sent = request.headers.get("x-csrf-token") or str(form.get("csrf") or "")
    if not sent or not hmac.compare_digest(sent, user.csrf):
        raise Refused("the form's CSRF token is missing or stale: reload the page and try again")
    if need == "admin" and not user.is_admin:
        raise Refused(f"only an admin key may do this (you are signed in with a {user.role} key)")
    if not user.can_write:
        raise Refused("a viewer key is read-only: it cannot send or change anything")
    return form


async def audit(request: Request, user: ConsoleUser, action: str, target: str = "", outcome: str = "ok") -> None:
    """Record a console action in the audit log."""
    log = gateway(request).audit
    if log is not None:
        await call_engine(log.record, user.key, f"console: {action}", target, outcome)


def field(form: FormData, name: str, default: str = "") -> str:
    """A text field of ``form``, stripped (a file field reads as the default)."""
    value: Any = form.get(name, default)
    return value.strip() if isinstance(value, str) else default


def lanes(gw: Gateway, user: ConsoleUser) -> list[NumberLane]:
    """The numbers this user's key may use, in configuration order."""
    return [lane for lane in gw.numbers if user.key.may_use(lane.phone_number_id)]


def lane_of(gw: Gateway, user: ConsoleUser, number: str) -> NumberLane | None:
    """The number asked for (``?number=`` or a form's ``number``), else the user's first; None if none."""
    mine = lanes(gw, user)
    return next((lane for lane in mine if lane.phone_number_id == number), mine[0] if mine else None)
