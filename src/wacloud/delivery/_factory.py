"""Opening a store from a URL: the one place that knows every store implementation."""

from __future__ import annotations

from wacloud.delivery.postgres import PostgresStore
from wacloud.delivery.sqlite import SqliteStore
from wacloud.delivery.store import Store
from wacloud.errors import ValidationError


def open_store(url: str = "sqlite:///wacloud.db") -> Store:
    """Open (and migrate) the store at ``url``: ``sqlite:///path.db`` or ``postgresql://...``."""
    if not isinstance(url, str) or not url:
        raise ValidationError("url", "a store URL is required (sqlite:///path.db or postgresql://...)")
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        rest = url[len("sqlite:"):]
        # sqlite:///rel.db is relative, sqlite:////abs.db absolute (SQLAlchemy's convention).
        path = rest[3:] if rest.startswith("///") else rest.removeprefix("//")
        return SqliteStore(path or "wacloud.db")
    if scheme in ("postgresql", "postgres"):
        return PostgresStore(url)
    raise ValidationError("url", f"unsupported store scheme {scheme!r}: use sqlite:/// or postgresql://")
