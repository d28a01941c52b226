"""The webhook receiver's SQLite store: its own connections and short busy timeouts."""

from __future__ import annotations

from wacloud.delivery.sqlite import SqliteStore
from wacloud.gateway._db import BUSY_TIMEOUT_S

#: How long the webhook's store calls wait for a locked SQLite file (the workers wait longer).
WEBHOOK_BUSY_TIMEOUT_S = BUSY_TIMEOUT_S / 2


class WebhookSqliteStore(SqliteStore):
    """The receiver's SQLite store: its own connections, short busy timeouts, and ``put`` apart.

    While another process holds the file's lock, a webhook must get a 503 within seconds (Meta
    redelivers it) rather than wait behind the workers' long waits, or behind the receiver's own
    background calls (retry claims, lease renewals): ``put``, the one call made before the answer,
    has a connection (and thread lock) of its own.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.set_busy_timeout(WEBHOOK_BUSY_TIMEOUT_S)
        self._front = SqliteStore(path)
        self._front.set_busy_timeout(WEBHOOK_BUSY_TIMEOUT_S)

    def put(self, raw: bytes, headers_json: str, lease_s: float | None = None) -> int:
        """Store a payload (on the request path's own connection); returns its id."""
        return self._front.put(raw, headers_json, lease_s)

    def close(self) -> None:
        """Close both connections."""
        self._front.close()
        super().close()
