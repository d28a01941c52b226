"""Fixtures of the management tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

_PLACEHOLDERS = {
    "<TEMPLATE_NAME>": "flow_offer",
    "{{Flow-ID}}": "1234567890",
    "{{Flow-Name}}": "my_flow",
    "<SCREEN_ID>": "WELCOME",
}


def template_create_examples(openapi_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Example name → create body (placeholders replaced by valid values)."""
    post = openapi_spec["paths"]["/{Version}/{WABA-ID}/message_templates"]["post"]  # type: ignore[index]
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    out: dict[str, dict[str, Any]] = {}
    for name, example in examples.items():
        text = json.dumps(example["value"])
        for placeholder, value in _PLACEHOLDERS.items():
            text = text.replace(placeholder, value)
        out[name] = json.loads(text)
    return out


def normalized(body: dict[str, Any]) -> dict[str, Any]:
    """Upper-case component/button types (Meta accepts any case) so bodies compare equal."""
    body = json.loads(json.dumps(body))
    for comp in body.get("components", []):
        comp["type"] = comp["type"].upper()
        for button in comp.get("buttons", []):
            button["type"] = button["type"].upper()
    return body


@pytest.fixture(scope="session")
def template_examples(openapi_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The spec's template-create examples, placeholders filled in."""
    return template_create_examples(openapi_spec)


@pytest.fixture(scope="session")
def normalize() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The body normaliser (component/button types upper-cased)."""
    return normalized
