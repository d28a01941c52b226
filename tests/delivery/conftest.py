"""Fixtures for the delivery tests: the same suite on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from wacloud.delivery import Store, open_store


def pg_dsn() -> str | None:
    """The test server's DSN; in CI its absence is a failure, never a skip."""
    dsn = os.environ.get("WACLOUD_TEST_PG_DSN")
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail("CI is set but WACLOUD_TEST_PG_DSN is not: run `eval \"$(bash .ci/postgres.sh)\"`")
        pytest.skip("WACLOUD_TEST_PG_DSN is not set (run: eval \"$(bash .ci/postgres.sh)\")")
    return dsn


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A fresh, empty store URL: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/wacloud.db"
        return
    dsn = pg_dsn()
    assert dsn is not None
    import psycopg

    schema = "t_" + secrets.token_hex(6)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    yield f"{dsn}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store on ``store_url``."""
    s = open_store(store_url)
    yield s
    s.close()
