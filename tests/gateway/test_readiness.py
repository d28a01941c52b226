"""``/readyz`` tells whether the database takes writes, not just whether it answers a ``SELECT 1``.

The gateway runs on its own PostgreSQL database, which is then switched to read-only (as after a
fail-over to a replica): every write fails while reads still work, so the node must not be ready.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from wacloud.gateway._app import create_app
from wacloud.gateway._settings import load_settings
from wacloud.sandbox import ServerThread, free_port

from .conftest import APP_SECRET, VERIFY_TOKEN, wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def own_database() -> Iterator[tuple[str, str, str]]:
    """(admin DSN, this test's database name, its URL): a whole database, so it can be made read-only."""
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        pytest.skip('WACLOUD_TEST_PG_DSN is not set (run: eval "$(bash .ci/postgres.sh)")')
    import psycopg

    name = "gw_ro_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(dsn)
    yield dsn, name, urlunsplit(parts._replace(path=f"/{name}"))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _read_only(dsn: str, name: str, on: bool) -> None:
    """Switch the database's default, and end its sessions so the gateway reconnects under it."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        if on:
            conn.execute(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
        else:
            conn.execute(f"ALTER DATABASE {name} RESET default_transaction_read_only")
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))


def test_a_read_only_database_makes_the_node_not_ready(own_database: tuple[str, str, str]) -> None:
    dsn, name, url = own_database
    port = free_port()
    settings = load_settings(database_url=url, port=port, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN,
                             workers=False)
    app = create_app(settings)
    server = ServerThread(app, port=port)
    server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(f"{base}/readyz", timeout=20).status_code == 200

        _read_only(dsn, name, True)
        ready = httpx.get(f"{base}/readyz", timeout=20)
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"]["database"] == "not writable"
        assert "read-only" not in ready.text  # the reason goes to the log, not to anonymous callers

        _read_only(dsn, name, False)
        wait_for(lambda: httpx.get(f"{base}/readyz", timeout=20).status_code == 200, 20, "readiness again")
    finally:
        server.stop()
        app.state.gateway.db.close()
