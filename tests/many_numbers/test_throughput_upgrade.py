"""A number's rate follows its throughput level: read at start, raised by the THROUGHPUT_UPGRADE webhook
(measured from the sandbox's log of accepted messages)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import A, B, TwoNumbers, start_two_numbers, wait_for

A_ID, B_ID = A["phone_number_id"], B["phone_number_id"]
NUMBERS = [{**A, "mps": 4}, {**B, "mps": 4, "max_mps": 12}]


@pytest.fixture
def two(tmp_path: Path) -> Iterator[TwoNumbers]:
    yield from start_two_numbers(tmp_path, NUMBERS)


def _batch(two: TwoNumbers, prefix: str, n: int) -> float:
    """Send ``n`` templates from B; the rate the sandbox accepted them at (msg/s)."""
    before = len(two.accepted_at(B_ID))
    jobs = [two.send(B_ID, f"+1555{prefix}{i:04d}") for i in range(n)]
    wait_for(lambda: len(two.accepted_at(B_ID)) >= before + n, 60, f"{n} messages accepted")
    times = two.accepted_at(B_ID)[before:before + n]
    assert len(jobs) == len(times) == n
    return (n - 1) / (times[-1] - times[0])


def _rates(two: TwoNumbers) -> dict[str, float]:
    return {n["phone_number_id"]: n["rate"] for n in two.http.get("/v1/numbers").json()["numbers"]}


def test_the_upgrade_webhook_raises_only_that_numbers_rate(two: TwoNumbers) -> None:
    assert _rates(two) == {A_ID: 4.0, B_ID: 4.0}
    slow = _batch(two, "710", 13)
    upgrade = {"display_phone_number": B["display_phone_number"], "event": "THROUGHPUT_UPGRADE",
               "current_limit": "TIER_UNLIMITED"}
    assert two.post_webhook(upgrade, field="phone_number_quality_update", waba=B["waba_id"]).status_code == 200
    wait_for(lambda: _rates(two)[B_ID] == 12.0, 20, "B's new rate")
    numbers = {n["phone_number_id"]: n for n in two.http.get("/v1/numbers").json()["numbers"]}
    assert numbers[B_ID]["throughput_level"] == "HIGH" and numbers[B_ID]["quality_event"] == "THROUGHPUT_UPGRADE"
    assert numbers[A_ID]["rate"] == 4.0 and numbers[A_ID]["throughput_level"] == "STANDARD"
    wait_for(lambda: two.http.get("/readyz").status_code == 200, 20, "B's workers back on the new rate")
    fast = _batch(two, "720", 25)
    print(f"measured: number B {slow:.2f} msg/s before the upgrade (paced to 4), {fast:.2f} msg/s after (12)")
    assert slow <= 4 * 1.1 and fast <= 12 * 1.1
    assert fast > slow * 2
    metrics = httpx.get(f"{two.url}/metrics").text
    assert f'wacloud_number_rate_mps{{phone_number_id="{B_ID}"}} 12.0' in metrics


def test_an_upgrade_for_a_number_not_served_changes_nothing(two: TwoNumbers) -> None:
    upgrade = {"display_phone_number": "15559990000", "event": "THROUGHPUT_UPGRADE"}
    assert two.post_webhook(upgrade, field="phone_number_quality_update", waba="499").status_code == 200
    wait_for(lambda: two.http.get("/v1/webhooks/unrouted").json()["updates"], 20, "the update kept apart")
    [kept] = two.http.get("/v1/webhooks/unrouted").json()["updates"]
    assert kept["kind"] == "PhoneNumberQualityUpdate" and kept["display_phone_number"] == "15559990000"
    assert _rates(two) == {A_ID: 4.0, B_ID: 4.0}
