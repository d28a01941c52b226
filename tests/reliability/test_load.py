"""Load: the durable receiver holds 1,000 signed webhooks a second for 30 s on this machine.

No request may fail or answer anything but 200, every update must be handled, and the server's memory
must not keep growing (bounded: the second half of the run may add at most a few MiB). Latency is
printed, not asserted (benchmarks/webhook_load.py reports it). Duration scales with
``WACLOUD_RELIABILITY_SCALE``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.webhook_load import run_load

from reliability.support import scaled


@pytest.mark.slow
def test_receiver_holds_1000_per_second_without_errors_or_memory_growth(receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = receiver("--kind", "ours", "--store", f"sqlite:///{tmp_path / 'load.db'}")
    figures = run_load(server, rate=1000, duration=scaled(30, minimum=5))
    print({k: v for k, v in figures.items() if k != "rss_mb"})
    assert figures["errors"] == {}, figures["errors"]
    assert figures["statuses"] == {200: figures["offered"]}, figures["statuses"]
    assert figures["handled"] >= figures["offered"]
    assert figures["rss_second_half_growth_mb"] < 16, figures["rss_mb"]
    assert server.proc.poll() is None
