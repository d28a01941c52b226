"""The business numbers an admin added through the HTTP API, kept in the gateway database.

Numbers of the configuration file (``[[numbers]]``, ``WACLOUD_NUMBERS``, the single-number settings) are
not here: they come from the configuration at every start. Numbers added with ``POST /v1/numbers`` are kept
in ``wacloud_gw_numbers`` (one row per number, its settings as JSON, token included, because the gateway
needs the token itself to send), so they come back after a restart and every process sharing the database
serves them. Defaults (WABA, token, app secret, rate) are filled from the configuration when a number is
loaded, so a number that gave none follows the gateway-wide settings. With ``WACLOUD_SECRET_KEY`` set, the
token and app secret are stored encrypted (:mod:`wacloud.gateway._secret_box`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from pydantic import ValidationError

from wacloud.gateway._db import Database
from wacloud.gateway._number_config import NumberConfig
from wacloud.gateway._secret_box import SecretBox, SecretUnavailable, is_sealed
from wacloud.gateway._secret_keys import SECRET_KEY_SETTING

log = logging.getLogger("wacloud.gateway.numbers")

_SCHEMA = """CREATE TABLE IF NOT EXISTS wacloud_gw_numbers (
    phone_number_id TEXT PRIMARY KEY, config TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)"""


#: The fields of a number that are secrets (stored encrypted when a key is set).
_SECRETS = ("access_token", "app_secret")


def _dumps(data: dict[str, Any]) -> str:
    # ensure_ascii: a NUL or any control character is stored escaped (PostgreSQL TEXT refuses U+0000).
    return json.dumps(data, ensure_ascii=True, sort_keys=True)


class NumberStore:
    """The numbers added through the API (SQLite file or PostgreSQL, the gateway database)."""

    def __init__(self, db: Database, box: SecretBox | None = None) -> None:
        self.db = db
        self.box = box if box is not None else SecretBox()
        db.execute(_SCHEMA)

    def _stored(self, config: NumberConfig) -> str:
        """``config`` as stored: JSON with its secrets sealed by the box (never what is shown)."""
        data: dict[str, Any] = config.model_dump(mode="json", exclude_none=True)
        for name in _SECRETS:
            secret = getattr(config, name)
            if secret is not None:
                data[name] = self.box.seal(secret.get_secret_value())
        return _dumps(data)

    def _read(self, text: str) -> NumberConfig:
        """A stored row's number, its secrets in clear (:class:`SecretUnavailable` when one cannot be read)."""
        data = json.loads(text)
        if isinstance(data, dict):
            for name in _SECRETS:
                if isinstance(data.get(name), str):
                    data[name] = self.box.open(data[name])
        return NumberConfig.model_validate(data)

    def list(self) -> list[NumberConfig]:
        """Every stored number, oldest first (a row that no longer reads as a number is logged and skipped,
        so one bad row cannot stop the gateway from starting)."""
        rows = self.db.execute("SELECT phone_number_id, config FROM wacloud_gw_numbers "
                               "ORDER BY created_at, phone_number_id")
        found: list[NumberConfig] = []
        for pid, config in rows:
            try:
                found.append(self._read(str(config)))
            except SecretUnavailable as exc:  # says which setting, never the secret
                log.error("number %s in wacloud_gw_numbers: its secrets cannot be read (%s): not served", pid, exc)
            except (ValueError, ValidationError) as exc:
                log.error("number %s in wacloud_gw_numbers is not readable (%s): not served",
                          pid, type(exc).__name__)
        return found

    def get(self, phone_number_id: str) -> NumberConfig | None:
        """The stored number ``phone_number_id``, or None."""
        rows = self.db.execute("SELECT config FROM wacloud_gw_numbers WHERE phone_number_id = ?", (phone_number_id,))
        return self._read(str(rows[0][0])) if rows else None

    def protect(self) -> int:
        """Store again, encrypted with the first key, every secret kept in clear or under an older key; how
        many numbers were rewritten. Without a key, a warning when some are kept in clear."""
        rows: list[tuple[str, dict[str, Any]]] = []
        for pid, config in self.db.execute("SELECT phone_number_id, config FROM wacloud_gw_numbers"):
            try:
                data = json.loads(str(config))
            except ValueError:
                continue  # list() reports it
            if isinstance(data, dict):
                rows.append((str(pid), data))

        def secrets_of(data: dict[str, Any]) -> list[str]:
            return [data[name] for name in _SECRETS if isinstance(data.get(name), str)]

        if not self.box.sealing:
            clear = [pid for pid, data in rows if any(not is_sealed(v) for v in secrets_of(data))]
            if clear:
                log.warning("%d number(s) added through the API keep their access token in clear in the gateway "
                            "database: set %s to encrypt them (make a key with `wacloud keys secret`)",
                            len(clear), SECRET_KEY_SETTING)
            return 0
        done = 0
        for pid, data in rows:
            if not any(self.box.stale(v) for v in secrets_of(data)):
                continue
            try:
                for name in _SECRETS:
                    if isinstance(data.get(name), str):
                        data[name] = self.box.seal(self.box.open(data[name]))
            except SecretUnavailable:
                continue  # list() reports it; the row stays as it is
            self.db.execute("UPDATE wacloud_gw_numbers SET config = ? WHERE phone_number_id = ?", (_dumps(data), pid))
            done += 1
        if done:
            log.info("encrypted the secrets of %d number(s) added through the API with the first key of %s",
                     done, SECRET_KEY_SETTING)
        return done

    def add(self, config: NumberConfig) -> bool:
        """Keep a new number; False when one with its id is stored already (nothing changes then)."""
        now = time.time()
        rows = self.db.execute(
            "INSERT INTO wacloud_gw_numbers (phone_number_id, config, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (phone_number_id) DO NOTHING RETURNING phone_number_id",
            (config.phone_number_id, self._stored(config), now, now),
        )
        return bool(rows)

    def replace(self, config: NumberConfig) -> bool:
        """Store ``config`` over the number with its id; False when there is none."""
        rows = self.db.execute(
            "UPDATE wacloud_gw_numbers SET config = ?, updated_at = ? WHERE phone_number_id = ? "
            "RETURNING phone_number_id",
            (self._stored(config), time.time(), config.phone_number_id),
        )
        return bool(rows)

    def remove(self, phone_number_id: str) -> bool:
        """Forget a stored number; False when there was none."""
        rows = self.db.execute("DELETE FROM wacloud_gw_numbers WHERE phone_number_id = ? RETURNING phone_number_id",
                               (phone_number_id,))
        return bool(rows)


__all__ = ["NumberStore"]
