"""Shared test data of the management tests: a valid definition and broken variants of it."""

from __future__ import annotations

import copy
from typing import Any

from wacloud.templates import TemplateBuilder

DELETE = object()


def good_definition() -> dict[str, Any]:
    """A valid MARKETING definition with a text header, body, footer and two buttons."""
    return (
        TemplateBuilder("seasonal_promo", "en_US", "MARKETING")
        .header_text("Our {{1}} is on!", "Summer Sale")
        .body("Shop through {{1}} with code {{2}} today.", "August", "25OFF")
        .footer("Reply STOP to opt out")
        .quick_reply("Unsubscribe")
        .url("Shop", "https://example.com/shop?c={{1}}", "https://example.com/shop?c=25OFF")
        .build()
        .to_graph()
    )


def mutate(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """A deep copy of ``body`` with the value at ``path`` replaced (or deleted with ``DELETE``)."""
    body = copy.deepcopy(body)
    node = body
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return body


#: Broken variants both the pre-check and the sandbox refuse: (what, path, value, subcode).
BROKEN_FOR_SANDBOX: list[tuple[str, list[Any], Any, int | None]] = [
    ("header text too long", ["components", 0, "text"], "x" * 61, 2388040),
    ("two header variables", ["components", 0, "text"], "{{1}} and {{2}}", 2388047),
    ("body too long", ["components", 1, "text"], "a" * 1025, 2388040),
    ("variable at the end", ["components", 1, "text"], "Shop through {{1}} with code {{2}}", 2388299),
    ("footer with variable", ["components", 2, "text"], "Bye {{1}}", 2388073),
    ("unknown component", ["components", 2, "type"], "SIDEBAR", 2388039),
    ("no components", ["components"], [], 2388039),
    (
        "eleven buttons",
        ["components", 3, "buttons"],
        [{"type": "QUICK_REPLY", "text": f"b{i}"} for i in range(11)],
        2388039,
    ),
    ("footer too long", ["components", 2, "text"], "f" * 61, 2388040),
    ("variable gap", ["components", 1, "text"], "Shop through {{1}} with code {{3}} today.", 2388072),
    ("unknown button type", ["components", 3, "buttons", 0, "type"], "TELEPORT", 2388039),
    ("upper-case name", ["name"], "Seasonal_Promo", None),
    ("name too long", ["name"], "a" * 513, None),
    ("bad category", ["category"], "PROMO", None),
]
