"""The one place the benchmarks touch wacloud's APIs, so a contract change is fixed here only.

Each function imports lazily: a benchmark for a part that has not landed reports it could not run
instead of failing at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def webhook_parse() -> Callable[[bytes], list[Any]]:
    """``wacloud.webhooks.parse(body) -> list[Update]`` (docs/architecture.md)."""
    from wacloud.webhooks import parse  # the function once the package re-exports it, else the module

    fn = parse if callable(parse) else parse.parse
    return fn  # type: ignore[no-any-return]
