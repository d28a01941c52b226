"""The business numbers an admin added through the HTTP API, kept in the gateway database.

Numbers of the configuration file (``[[numbers]]``, ``WACLOUD_NUMBERS``, the single-number settings) are
not here: they come from the configuration at every start. Numbers added with ``POST /v1/numbers`` are kept
in ``wacloud_gw_numbers`` (one row per number, its settings as JSON, token included, because the gateway
needs the token itself to send), so they come back after a restart and every process sharing the database
serves them. Defaults (WABA, token, app secret, rate) are filled from the configuration when a number is
loaded, so a number that gave none follows the gateway-wide settings.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from pydantic import ValidationError

from wacloud.gateway._db import Database
from wacloud.gateway._number_config import NumberConfig

log = logging.getLogger("wacloud.gateway.numbers")

_SCHEMA = """CREATE TABLE IF NOT EXISTS wacloud_gw_numbers (
    phone_number_id TEXT PRIMARY KEY, config TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)"""


def _secret_json(config: NumberConfig) -> str:
    """``config`` as JSON with its secrets in clear (what is stored; never what is shown)."""
    data: dict[str, Any] = config.model_dump(mode="json", exclude_none=True)
    for name in ("access_token", "app_secret"):
        secret = getattr(config, name)
        if secret is not None:
            data[name] = secret.get_secret_value()
    # ensure_ascii: a NUL or any control character is stored escaped (PostgreSQL TEXT refuses U+0000).
    return json.dumps(data, ensure_ascii=True, sort_keys=True)


class NumberStore:
    """The numbers added through the API (SQLite file or PostgreSQL, the gateway database)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.execute(_SCHEMA)

    def list(self) -> list[NumberConfig]:
        """Every stored number, oldest first (a row that no longer reads as a number is logged and skipped,
        so one bad row cannot stop the gateway from starting)."""
        rows = self.db.execute("SELECT phone_number_id, config FROM wacloud_gw_numbers "
                               "ORDER BY created_at, phone_number_id")
        found: list[NumberConfig] = []
        for pid, config in rows:
            try:
                found.append(NumberConfig.model_validate(json.loads(str(config))))
            except (ValueError, ValidationError) as exc:
                log.error("number %s in wacloud_gw_numbers is not readable (%s): not served",
                          pid, type(exc).__name__)
        return found

    def get(self, phone_number_id: str) -> NumberConfig | None:
        """The stored number ``phone_number_id``, or None."""
        rows = self.db.execute("SELECT config FROM wacloud_gw_numbers WHERE phone_number_id = ?", (phone_number_id,))
        return NumberConfig.model_validate(json.loads(str(rows[0][0]))) if rows else None

    def add(self, config: NumberConfig) -> bool:
        """Keep a new number; False when one with its id is stored already (nothing changes then)."""
        now = time.time()
        rows = self.db.execute(
            "INSERT INTO wacloud_gw_numbers (phone_number_id, config, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (phone_number_id) DO NOTHING RETURNING phone_number_id",
            (config.phone_number_id, _secret_json(config), now, now),
        )
        return bool(rows)

    def replace(self, config: NumberConfig) -> bool:
        """Store ``config`` over the number with its id; False when there is none."""
        rows = self.db.execute(
            "UPDATE wacloud_gw_numbers SET config = ?, updated_at = ? WHERE phone_number_id = ? "
            "RETURNING phone_number_id",
            (_secret_json(config), time.time(), config.phone_number_id),
        )
        return bool(rows)

    def remove(self, phone_number_id: str) -> bool:
        """Forget a stored number; False when there was none."""
        rows = self.db.execute("DELETE FROM wacloud_gw_numbers WHERE phone_number_id = ? RETURNING phone_number_id",
                               (phone_number_id,))
        return bool(rows)


__all__ = ["NumberStore"]
