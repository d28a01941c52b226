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
