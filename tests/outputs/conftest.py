"""Fixtures: a private RabbitMQ node (skipped, or failed under CI=true, when not installed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .rabbit import RabbitNode


@pytest.fixture(scope="module")
def rabbit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitNode]:
    """A running node of its own, for one test module."""
    node = RabbitNode(tmp_path_factory.mktemp("rabbitmq"))
    node.start()
    try:
        yield node
    finally:
        node.close()


@pytest.fixture(autouse=True)
def _no_wacloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the settings they pass, never the developer's WACLOUD_* environment."""
    import os

    for name in list(os.environ):
        if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
            monkeypatch.delenv(name)
