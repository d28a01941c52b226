"""API keys for the gateway: created once, shown once, stored only as SHA-256 hashes, revocable.

Keys live in the gateway's own table (``wacloud_api_keys``) in the same database as the outbox, so
every process and host sharing a PostgreSQL database accepts the same keys and sees revocations at
once. Keys can also be given in the configuration (``WACLOUD_API_KEYS``), as plain keys or ``sha256:<hex>``.
A key can be limited to some business numbers (``numbers``: their phone number ids; None: every number).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wacloud.errors import ValidationError
from wacloud.gateway._db import Database

KEY_PREFIX = "wk_"

#: What a key may do: admin (everything, keys, numbers, subscriptions), agent (inbox and replies),
#: viewer (read only).
ROLES = ("admin", "agent", "viewer")


def hash_key(key: str) -> str:
    """The stored form of a key: hex SHA-256 (keys are long random strings, so no salt is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random API key, ``wk_`` + 32 url-safe characters."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is known about a key without the key itself."""

    id: str
    name: str
    created_at: float
    revoked_at: float | None = None
    role: str = "admin"
    #: The phone number ids this key may use; None: every number.
    numbers: tuple[str, ...] | None = None

    def may_use(self, phone_number_id: str) -> bool:
        """True when this key may send from, or read, the number ``phone_number_id``."""
        return self.numbers is None or phone_number_id in self.numbers

    @property
    def active(self) -> bool:
        """True until the key is revoked."""
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
            "active": self.active,
            "numbers": list(self.numbers) if self.numbers is not None else None,
            "role": self.role,
        }


_SCHEMA = """CREATE TABLE IF NOT EXISTS wacloud_api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION)"""

_SELECT = "SELECT id, name, created_at, revoked_at, numbers, role FROM wacloud_api_keys"


def _info(row: tuple[Any, ...]) -> KeyInfo:
    """A key from its row (``numbers`` stored comma-separated; NULL: every number)."""
    id_, name, created_at, revoked_at, numbers, role = row
    limited = tuple(n for n in str(numbers).split(",") if n) if numbers is not None else None
    return KeyInfo(id=id_, name=name, created_at=created_at, revoked_at=revoked_at, numbers=limited,
                   role=str(role or "admin"))


def _add_numbers_column(db: Database) -> None:
    """Keys made before keys could be limited to numbers: add the ``numbers`` column (NULL: every number)."""
    if db.is_postgres:
        db.execute("ALTER TABLE wacloud_api_keys ADD COLUMN IF NOT EXISTS numbers TEXT")
        return
    columns = {str(r[1]) for r in db.execute("PRAGMA table_info(wacloud_api_keys)")}
    if "numbers" not in columns:
        db.execute("ALTER TABLE wacloud_api_keys ADD COLUMN numbers TEXT")


def _add_role_column(db: Database) -> None:
    """Keys made before roles existed get the ``role`` column, and stay admin (what they could do)."""
    probe = (
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'wacloud_api_keys' AND column_name = 'role'"
        if db.is_postgres
        else "SELECT 1 FROM pragma_table_info('wacloud_api_keys') WHERE name = 'role'"
    )
    if db.execute(probe):
        return
    try:
        db.execute("ALTER TABLE wacloud_api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'admin'")
    except Exception as exc:
        # Another process added it between the probe and the ALTER.
        if "duplicate" not in str(exc).lower() and "exists" not in str(exc).lower():
            raise


class KeyStore:
    """API keys in the gateway database (SQLite file or PostgreSQL), plus keys from the config."""

    def __init__(self, db: Database, static_keys: Iterable[str] = ()) -> None:
        self.db = db
        self._static = {
            k.removeprefix("sha256:").lower() if k.startswith("sha256:") else hash_key(k) for k in static_keys if k
        }
        self._execute(_SCHEMA)
        _add_numbers_column(db)
        _add_role_column(db)

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, params)

    # -- API -----------------------------------------------------------------------------------

    def create(self, name: str = "default", numbers: Iterable[str] | None = None,
               role: str = "admin") -> tuple[KeyInfo, str]:
        """A new key (limited to ``numbers``, phone number ids, when given; with ``role``): its info and the
        plain key, which is never stored nor shown again."""
        if "\x00" in name:
            raise ValidationError("name", "must not contain a NUL character (U+0000)")  # PostgreSQL refuses it
        if role not in ROLES:
            raise ValidationError("role", f"must be one of {', '.join(ROLES)}")
        limited = None
        if numbers is not None:
            limited = tuple(dict.fromkeys(str(n).strip() for n in numbers if str(n).strip()))
            bad = [n for n in limited if not n.isdigit() or len(n) > 32]
            if bad or not limited:
                raise ValidationError("numbers", "must be phone number ids (digits), at least one")
        key = new_key()
        info = KeyInfo(id=secrets.token_hex(4), name=name, created_at=time.time(), numbers=limited, role=role)
        self._execute(
            "INSERT INTO wacloud_api_keys (id, name, key_hash, created_at, numbers, role) VALUES (?, ?, ?, ?, ?, ?)",
            (info.id, info.name, hash_key(key), info.created_at, ",".join(limited) if limited is not None else None,
             info.role),
        )
        return info, key

    def verify(self, key: str) -> KeyInfo | None:
        """The active key matching ``key``, or None (unknown or revoked)."""
        if not key:
            return None
        digest = hash_key(key)
        for static in self._static:
            if hmac.compare_digest(static, digest):
                return KeyInfo(id="config", name="from configuration", created_at=0.0)
        rows = self._execute(f"{_SELECT} WHERE key_hash = ?", (digest,))
        if not rows:
            return None
        info = _info(rows[0])
        return info if info.active else None

    def revoke(self, key_id: str) -> bool:
        """Revoke the key with ``key_id``; False when there is no such active key."""
        before = self.get(key_id)
        if before is None or not before.active:
            return False
        self._execute(
            "UPDATE wacloud_api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (time.time(), key_id),
        )
        return True

    def get(self, key_id: str) -> KeyInfo | None:
        """The key with ``key_id`` (active or revoked)."""
        rows = self._execute(f"{_SELECT} WHERE id = ?", (key_id,))
        return _info(rows[0]) if rows else None

    def list(self) -> list[KeyInfo]:
        """All keys, oldest first."""
        rows = self._execute(f"{_SELECT} ORDER BY created_at")
        return [_info(row) for row in rows]

    def has_active(self) -> bool:
        """True when at least one key (stored or configured) can authenticate."""
        return bool(self._static) or any(k.active for k in self.list())
