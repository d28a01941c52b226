"""Shared bits of the limits tests: a plain marketing template, waiting on a running outbox, rates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.delivery.conftest import Rig

#: A marketing template without parameters, created in the sandbox by :func:`marketing_template`.
PROMO = {"name": "promo_plain", "language": {"code": "en_US"}}


def marketing_template(rig: Rig, name: str = "promo_plain") -> str:
    """Create an approved MARKETING template in the sandbox; its id."""
    r = rig.sandbox.control.post("/templates", json={
        "name": name, "language": "en_US", "category": "MARKETING",
        "components": [{"type": "BODY", "text": "Our sale starts today."}]})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def control(rig: Rig, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to the sandbox's control API, checked."""
    r = rig.sandbox.control.post(path, json=body)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def numbers(n: int, prefix: str = "1650777") -> list[str]:
    """``n`` distinct North American test numbers."""
    return [f"+{prefix}{i:04d}" for i in range(n)]


async def until(predicate: Callable[[], bool], within_s: float = 60.0, what: str = "condition") -> None:
    """Poll ``predicate`` (run in a thread: it reads the store) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while loop.time() < deadline:
        if await asyncio.to_thread(predicate):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def codes(rig: Rig) -> dict[int, int]:
    """Send attempts by answer code (0: accepted)."""
    out: dict[int, int] = {}
    for a in rig.attempts():
        out[a["code"]] = out.get(a["code"], 0) + 1
    return out


def rate(times: list[float]) -> float:
    """Messages per second over sorted acceptance times (first to last)."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / max(1e-9, times[-1] - times[0])
