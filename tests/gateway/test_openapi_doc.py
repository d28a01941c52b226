"""The OpenAPI document describes every body with a schema, so a client can be generated from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud.gateway._app import create_app
from wacloud.gateway._settings import load_settings
from wacloud.messages import CONTENT_TYPES, INTERACTIVE_TYPES, MESSAGE_TYPES, Interactive

from .conftest import APP_SECRET, VERIFY_TOKEN


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    db: Path = tmp_path_factory.mktemp("openapi") / "wacloud.db"
    settings = load_settings(database_url=f"sqlite:///{db}", port=18997, app_secret=APP_SECRET,
                             verify_token=VERIFY_TOKEN, workers=False)
    return create_app(settings)


@pytest.fixture(scope="module")
def doc(app: Any) -> dict[str, Any]:
    spec: dict[str, Any] = app.openapi()
    return spec


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _undescribed(schema: dict[str, Any] | None) -> str | None:
    """Why ``schema`` does not describe a body (None when it does)."""
    if not schema:
        return "no schema"
    if "$ref" in schema or "oneOf" in schema or "anyOf" in schema:
        return None
    if schema.get("type") == "object" and not schema.get("properties"):
        return "a bare object"
    return None


def _bodies(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(operation, what, schema) for every request body and every 2xx/4xx answer with a body."""
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            name = f"{method.upper()} {path}"
            body = op.get("requestBody")
            if body is not None:
                for ctype, content in body["content"].items():
                    yield name, f"request {ctype}", content.get("schema")
            for status, answer in op["responses"].items():
                if status[0] not in "24" or status == "204":
                    continue
                contents = answer.get("content")
                if not contents:
                    yield name, f"answer {status}", None
                for ctype, content in (contents or {}).items():
                    yield name, f"answer {status} {ctype}", content.get("schema")


def test_every_request_and_answer_body_has_a_schema(doc: dict[str, Any]) -> None:
    missing = [f"{op}: {what}: {why}" for op, what, schema in _bodies(doc) if (why := _undescribed(schema))]
    assert not missing, "\n".join(missing)
    assert sum(1 for _ in _bodies(doc)) > 50


def test_the_send_body_is_a_union_of_every_message_type_on_type(doc: dict[str, Any]) -> None:
    body = doc["paths"]["/v1/messages"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["discriminator"]["propertyName"] == "type"
    mapping = body["discriminator"]["mapping"]
    assert set(mapping) == {*CONTENT_TYPES, "interactive"}
    assert sorted(v["$ref"] for v in body["oneOf"]) == sorted(mapping.values())
    variants = {kind: _resolve(doc, {"$ref": ref}) for kind, ref in mapping.items()}
    for kind, variant in variants.items():
        assert variant["properties"]["type"]["const"] == kind
        assert {"type", kind} <= set(variant["required"])
        # The customer: a phone number in "to" or a BSUID in "recipient" (either one).
        assert {"to", "recipient"} <= set(variant["properties"])
        assert variant["additionalProperties"] is False
    interactive = variants["interactive"]["properties"]["interactive"]
    assert interactive["discriminator"]["propertyName"] == "type"
    sub = interactive["discriminator"]["mapping"]
    assert set(sub) == set(INTERACTIVE_TYPES)
    for cls in MESSAGE_TYPES:  # every model of wacloud.messages is one variant
        if issubclass(cls, Interactive):
            content = _resolve(doc, {"$ref": sub[cls.interactive_type]})
            assert set(cls.model_fields) <= set(content["properties"]), cls
        else:
            content = variants[cls.type]["properties"][cls.type]
            assert content.get("$ref", "").endswith(f"/{cls.__name__}") or cls.type == "contacts", cls


async def test_the_documented_body_changes_nothing_the_api_accepts_or_refuses(app: Any) -> None:
    _, key = app.state.gateway.keys.create("doc")
    headers = {"Authorization": f"Bearer {key}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", headers=headers) as http:
        # No "type": taken from the one content key, as before (the schema asks for it; the API does not).
        resp = await http.post("/v1/messages", json={"to": "+15551230000", "text": {"body": "hi"}})
        assert resp.status_code == 202, resp.text
        assert resp.json()["type"] == "text"
        empty_text = {"to": "+1555123", "type": "text", "text": {}}
        for bad, field in (([1, 2], None), ("text", None), (empty_text, "text.body")):
            resp = await http.post("/v1/messages", json=bad)
            assert resp.status_code == 422, resp.text
            error = resp.json()["error"]
            assert error["reason"]
            if field is not None:
                assert error["field"] == field
        resp = await http.post("/v1/messages", json=[1])
        assert resp.json() == {"error": {"reason": "body: Input should be a valid dictionary"}}
