"""The sandbox's template-creation rules checked against Meta's own recorded examples (the OpenAPI
document's ``POST /{WABA-ID}/message_templates`` examples), over real HTTP, with raw JSON.

The client's pre-check and the sandbox share one rule table (``wacloud.template_rules``), so comparing the
two would only compare the table with itself; the independent witness is what Meta recorded. Broken
variants of those examples expect Meta's documented code and subcode, written out here, not derived.
Skips (with the reason) when the spec checkout is absent.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from wacloud.sandbox.testing import SandboxHandle

_PLACEHOLDERS = {"{{Flow-ID}}": "1234567890", "{{Flow-Name}}": "my_flow", "<SCREEN_ID>": "WELCOME"}


def _recorded(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    post = spec["paths"]["/{Version}/{WABA-ID}/message_templates"]["post"]
    out: dict[str, dict[str, Any]] = {}
    for title, example in post["requestBody"]["content"]["application/json"]["examples"].items():
        text = json.dumps(example["value"])
        # Each "<TEMPLATE_NAME>" gets its own valid name, from the example's title.
        text = text.replace("<TEMPLATE_NAME>", re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_"))
        for placeholder, value in _PLACEHOLDERS.items():
            text = text.replace(placeholder, value)
        out[title] = json.loads(text)
    return out


@pytest.fixture(scope="module")
def recorded(openapi_spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    examples = _recorded(openapi_spec)
    assert len(examples) >= 10, "the spec lost its template examples"
    return examples


def _post(sandbox: SandboxHandle, body: Any) -> Any:
    return sandbox.http.post(f"/{sandbox.waba_id}/message_templates", json=body)


def _clear(sandbox: SandboxHandle, name: str) -> None:
    # The sandbox seeds sample templates; one shares its name with a recorded example.
    sandbox.http.delete(f"/{sandbox.waba_id}/message_templates", params={"name": name})


def test_every_recorded_example_is_accepted(sandbox: SandboxHandle, recorded: dict[str, dict[str, Any]]) -> None:
    seen: set[tuple[str, str]] = set()
    for title, body in recorded.items():
        key = (body["name"], body["language"])
        if key in seen:  # the spec repeats one example under two titles
            continue
        seen.add(key)
        _clear(sandbox, body["name"])
        r = _post(sandbox, body)
        assert r.status_code == 200, (title, r.text)
        assert r.json()["status"] in ("PENDING", "APPROVED"), title


def _components(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"].upper(): c for c in body["components"]}


#: (title fragment of the recorded example, what breaks, the change, Meta's subcode for it)
BROKEN: list[tuple[str, str, Callable[[dict[str, Any]], None], int]] = [
    (
        "text header, text body",
        "header sample removed",
        lambda b: _components(b)["HEADER"].pop("example"),
        2388047,
    ),
    (
        "text header, text body",
        "body sample short by one",
        lambda b: _components(b)["BODY"]["example"]["body_text"][0].pop(),
        2388072,
    ),
    (
        "text header, text body",
        "body opens with a variable",
        lambda b: _components(b)["BODY"].__setitem__("text", "{{1}} " + _components(b)["BODY"]["text"]),
        2388299,
    ),
    (
        "text header, text body",
        "footer with a variable",
        lambda b: _components(b)["FOOTER"].__setitem__("text", "Bye {{1}}"),
        2388073,
    ),
    (
        "text header, text body",
        "header text over 60 characters",
        lambda b: _components(b)["HEADER"].__setitem__("text", "x" * 61),
        2388040,
    ),
    (
        "image header",
        "media header without a sample handle",
        lambda b: _components(b)["HEADER"].pop("example"),
        2388047,
    ),
    (
        "OTP copy code",
        "authentication body with text",
        lambda b: _components(b)["BODY"].__setitem__("text", "Your code is {{1}}."),
        2388072,
    ),
    (
        "OTP copy code",
        "code expiry over 90 minutes",
        lambda b: _components(b)["FOOTER"].__setitem__("code_expiration_minutes", 91),
        2388073,
    ),
    (
        "Flow Template Message by ID",
        "flow button naming two flows",
        lambda b: _components(b)["BUTTONS"]["buttons"][0].__setitem__("flow_name", "other"),
        2388039,
    ),
]


@pytest.mark.parametrize(("fragment", "what", "change", "subcode"), BROKEN, ids=[b[1] for b in BROKEN])
def test_broken_recorded_examples_are_refused_as_meta_does(
    sandbox: SandboxHandle,
    recorded: dict[str, dict[str, Any]],
    fragment: str,
    what: str,
    change: Callable[[dict[str, Any]], None],
    subcode: int,
) -> None:
    [body] = [copy.deepcopy(b) for title, b in recorded.items() if fragment in title]
    _clear(sandbox, body["name"])
    change(body)
    r = _post(sandbox, body)
    assert r.status_code == 400, (what, r.text)
    err = r.json()["error"]
    assert (err["code"], err.get("error_subcode")) == (100, subcode), (what, err)
    listed = sandbox.http.get(f"/{sandbox.waba_id}/message_templates", params={"name": body["name"]}).json()
    assert listed["data"] == [], "a refused definition must not be stored"
