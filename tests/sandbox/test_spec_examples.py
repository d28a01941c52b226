"""Every ``sendMessage`` example of Meta's OpenAPI spec is accepted as raw JSON; broken variants are not."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from sandbox.helpers import WA_ID, error_code, open_window, send, template_for, upload
from wacloud import errors
from wacloud.sandbox.testing import SandboxHandle

_PLACEHOLDER = re.compile(r"^\{\{.*\}\}$")
_MEDIA_ID = re.compile(r"^<[A-Z_]*OBJECT_ID>$")


def _examples(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    op = spec["paths"]["/{Version}/{Phone-Number-ID}/messages"]["post"]  # type: ignore[index]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    return {name: ex["value"] for name, ex in examples.items()}


def _prepare(sandbox: SandboxHandle, body: dict[str, Any]) -> dict[str, Any]:
    """Fill the Postman-style placeholders the way a user would: a real recipient, uploaded media."""
    body = copy.deepcopy(body)
    if isinstance(body.get("to"), str) and _PLACEHOLDER.match(body["to"]):
        body["to"] = "+" + WA_ID
    kinds: dict[str, str] = {}

    def walk(node: Any, kind: str | None) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if value == "<HEADER_TYPE>":  # the multi-product example leaves the header type open
                    node[key] = "text"
                elif key == "id" and isinstance(value, str) and _MEDIA_ID.match(value) and kind:
                    node[key] = kinds.setdefault(kind, upload(sandbox, kind))
                else:
                    walk(value, key if key in ("image", "video", "audio", "document", "sticker") else kind)
        elif isinstance(node, list):
            for item in node:
                walk(item, kind)

    walk(body, None)
    if body.get("type") == "template":
        tpl = body["template"]
        if not re.match(r"^[a-z0-9_]+$", tpl["name"]):  # "<TEMPLATE_NAME>", "template-name"
            tpl["name"] = re.sub(r"[^a-z0-9_]", "_", tpl["name"].lower()).strip("_")
        if tpl["language"]["code"] == "language-and-locale-code":
            tpl["language"]["code"] = "en_US"
        sandbox.put_template(template_for(body))
    return body


def test_there_are_fifty_examples(openapi_spec: dict[str, Any]) -> None:
    assert len(_examples(openapi_spec)) == 50


def test_every_spec_example_is_accepted(sandbox: SandboxHandle, openapi_spec: dict[str, Any]) -> None:
    sandbox.configure(pair_rate_burst=100)  # 50 messages to one recipient would trip the pair rate
    open_window(sandbox)
    for name, example in _examples(openapi_spec).items():
        body = _prepare(sandbox, example)
        r = send(sandbox, body, raw=True)
        assert r.status_code == 200, (name, r.text)
        answer = r.json()
        if "status" in body:
            assert answer == {"success": True}, name
            continue
        assert answer["messaging_product"] == "whatsapp"
        assert answer["contacts"][0]["input"] == body["to"]
        assert answer["messages"][0]["id"].startswith("wamid."), name


def _content_key(body: dict[str, Any]) -> str:
    if "type" in body:
        return str(body["type"])
    kinds = {
        "text",
        "image",
        "audio",
        "video",
        "document",
        "sticker",
        "location",
        "contacts",
        "reaction",
        "interactive",
        "template",
    }
    present = [k for k in body if k in kinds]
    return present[0] if len(present) == 1 else "text"


# Each mutation breaks exactly one field; the code is what Meta answers for that kind of fault.
def _mutations(body: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    out: list[tuple[str, dict[str, Any], int]] = []

    def variant(label: str, code: int, fn: Any) -> None:
        b = copy.deepcopy(body)
        fn(b)
        out.append((label, b, code))

    variant("no messaging_product", 100, lambda b: b.pop("messaging_product"))
    variant("messaging_product sms", 100, lambda b: b.__setitem__("messaging_product", "sms"))
    if "status" in body:
        variant("no message_id", 131008, lambda b: b.pop("message_id"))
        variant("status delivered", 100, lambda b: b.__setitem__("status", "delivered"))
        variant("unexpected key", 100, lambda b: b.__setitem__("colour", "red"))
        return out
    key = _content_key(body)
    variant("no to", 131008, lambda b: b.pop("to"))
    variant("bad to", 131009, lambda b: b.__setitem__("to", "call me maybe"))
    variant("unsupported type", 131051, lambda b: b.__setitem__("type", "hologram"))
    variant(f"no {key} object", 131008, lambda b: b.pop(key))
    if key == "contacts":
        variant("too many contacts", 100, lambda b: b.__setitem__("contacts", b["contacts"] * 6))
        variant("contact without name", 131008, lambda b: b["contacts"][0].pop("name"))
    else:
        variant(f"unexpected key in {key}", 100, lambda b: b[key].__setitem__("colour", "red"))
        variant(f"{key} is a string", 100, lambda b: b.__setitem__(key, "oops"))
    if key == "text":
        variant("body too long", 100, lambda b: b["text"].__setitem__("body", "x" * 4097))
        variant("no body", 131008, lambda b: b["text"].pop("body"))
    elif key in ("image", "video", "audio", "document", "sticker"):
        variant("id and link", 131009, lambda b: b[key].update({"id": "1", "link": "https://x.example/a"}))
        variant("neither id nor link", 131008, lambda b: [b[key].pop(k, None) for k in ("id", "link")])
    elif key == "location":
        variant("no latitude", 131008, lambda b: b["location"].pop("latitude"))
        variant("latitude 91", 131009, lambda b: b["location"].__setitem__("latitude", 91))
    elif key == "reaction":
        variant("no message_id", 131008, lambda b: b["reaction"].pop("message_id"))
    elif key == "interactive":
        variant("no action", 131008, lambda b: b["interactive"].pop("action"))
        variant("bad interactive type", 100, lambda b: b["interactive"].__setitem__("type", "carousel_x"))
        if "body" in body["interactive"]:
            variant("body too long", 100, lambda b: b["interactive"]["body"].__setitem__("text", "x" * 1025))
    elif key == "template":
        variant("no template name", 131008, lambda b: b["template"].pop("name"))
        variant("no language", 131008, lambda b: b["template"].pop("language"))
        variant("unknown template", 132001, lambda b: b["template"].__setitem__("name", "no_such_template"))
    return out


def test_broken_variants_get_the_right_code(sandbox: SandboxHandle, openapi_spec: dict[str, Any]) -> None:
    open_window(sandbox)
    checked = 0
    for name, example in _examples(openapi_spec).items():
        body = _prepare(sandbox, example)
        for label, broken, code in _mutations(body):
            r = send(sandbox, broken, raw=True)
            assert r.status_code == errors.http_status_for(code), (name, label, r.text)
            err = r.json()["error"]
            assert err["code"] == code, (name, label, json.dumps(err))
            assert err["message"].startswith(f"(#{code})") and err["fbtrace_id"] and err["type"]
            assert err["error_data"]["details"]
            checked += 1
    assert checked > 400


@pytest.mark.parametrize("code", [131008, 131009, 100, 131051])
def test_error_codes_are_counted(sandbox: SandboxHandle, code: int) -> None:
    bodies = {
        131008: {"to": WA_ID, "type": "text", "text": {}},
        131009: {"to": "abc", "type": "text", "text": {"body": "x"}},
        100: {"to": WA_ID, "type": "text", "text": {"body": "x", "extra": 1}},
        131051: {"to": WA_ID, "type": "fax", "fax": {}},
    }
    assert error_code(send(sandbox, bodies[code])) == code
    assert sandbox.stats()["errors"] == {str(code): 1}
