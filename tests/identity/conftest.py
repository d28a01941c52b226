"""Fixtures for the identity tests: the delivery tests' stores and sandbox rig (SQLite and PostgreSQL),
and the gateway tests' live gateway."""

from __future__ import annotations

from tests.delivery.conftest import Rig, pg_dsn, pg_store_url, rig, store, store_url  # noqa: F401 - fixtures
from tests.gateway.conftest import _no_wacloud_env  # noqa: F401 - fixture
