"""Helpers shared by the reliability tests."""

from __future__ import annotations

import os


def scaled(n: int, minimum: int = 1) -> int:
    """``n`` times ``WACLOUD_RELIABILITY_SCALE`` (default 1.0, the issue's sizes), at least ``minimum``."""
    factor = float(os.environ.get("WACLOUD_RELIABILITY_SCALE", "1.0"))
    return max(minimum, int(n * factor))
