"""Fixtures for the event tests: a store URL on SQLite and on the real PostgreSQL, and a subscriber."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.delivery.conftest import _pg_schema_url
from tests.events.receiver import Subscriber


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A fresh, empty store URL: a SQLite file, or a private PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/wacloud.db"
        return
    yield from _pg_schema_url()


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """A fresh PostgreSQL store URL."""
    yield from _pg_schema_url()


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    """A real HTTP subscriber on loopback (accepts everything unless told otherwise)."""
    sub = Subscriber()
    yield sub
    sub.close()
