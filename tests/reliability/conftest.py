"""Fixtures of the reliability suite: servers in subprocesses (so they can be SIGKILLed), sizes.

Every server binds 127.0.0.1 on a free port and is stopped by its own pid. The biggest tests scale
their sizes by ``WACLOUD_RELIABILITY_SCALE`` (default 1.0: the issue's sizes; e.g. 0.2 for a quick
local run); CI runs them at 1.0.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the shared harness lives in benchmarks/ at the repository root
    sys.path.insert(0, str(ROOT))

from benchmarks import _harness as h  # noqa: E402


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Callable[..., h.Server]]:
    """Start ``benchmarks._receiver_server`` (kind ``ours`` by default); all are stopped at the end."""
    started: list[h.Server] = []

    def start(*args: str, port: int | None = None) -> h.Server:
        argv = list(args) or ["--kind", "ours"]
        server = h.spawn("benchmarks._receiver_server", argv, ready_path="/_stats", port=port,
                         log=tmp_path / "receiver.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()
