"""Every send limit of ``wacloud.limits`` at its boundary: accepted at the limit, 100 one past it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from sandbox.helpers import WA_ID, open_window, send
from wacloud.limits import LIMITS
from wacloud.sandbox.testing import SandboxHandle

Body = dict[str, Any]


def _buttons(n: int, title: str = "T", bid: str = "b") -> Body:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Pick"},
            "action": {
                "buttons": [
                    {
                        "type": "reply",
                        "reply": {"id": f"{bid}{i}" if n > 1 else bid, "title": f"{title}{i}" if n > 1 else title},
                    }
                    for i in range(n)
                ]
            },
        },
    }


def _split(total: int, parts: int) -> list[int]:
    """``total`` items over ``parts`` sections, exactly (at least one each)."""
    return [max(1, total // parts + (1 if i < total % parts else 0)) for i in range(parts)]


def _list(rows: int = 1, sections: int = 1, **row: str) -> Body:
    secs = [
        {
            "title": f"S{s}",
            "rows": [
                {
                    "id": row.get("id", "") + f"r{s}-{i}",
                    "title": row.get("title", "Row"),
                    **({"description": row["description"]} if "description" in row else {}),
                }
                for i in range(per)
            ],
        }
        for s, per in enumerate(_split(rows, sections))
    ]
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Choose"},
            "action": {"button": row.get("button", "Open"), "sections": secs},
        },
    }


def _products(items: int, sections: int = 1) -> Body:
    secs = [
        {"title": f"S{s}", "product_items": [{"product_retailer_id": f"p{s}-{i}"} for i in range(per)]}
        for s, per in enumerate(_split(items, sections))
    ]
    return {
        "type": "interactive",
        "interactive": {
            "type": "product_list",
            "header": {"type": "text", "text": "H"},
            "body": {"text": "B"},
            "action": {"catalog_id": "1", "sections": secs},
        },
    }


def _text_field(path: list[Any], base: Body) -> Callable[[int], Body]:
    def make(n: int) -> Body:
        body = copy.deepcopy(base)
        node = body
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = "x" * n
        return body

    return make


_CTA: Body = {
    "type": "interactive",
    "interactive": {
        "type": "cta_url",
        "body": {"text": "B"},
        "action": {"name": "cta_url", "parameters": {"display_text": "Go", "url": "https://example.com"}},
    },
}
_FLOW: Body = {
    "type": "interactive",
    "interactive": {
        "type": "flow",
        "body": {"text": "B"},
        "action": {"name": "flow", "parameters": {"flow_message_version": "3", "flow_id": "1", "flow_cta": "Open"}},
    },
}
_HEADER: Body = {
    "type": "interactive",
    "interactive": {
        "type": "button",
        "header": {"type": "text", "text": "H"},
        "body": {"text": "B"},
        "footer": {"text": "F"},
        "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "A"}}]},
    },
}
_IMAGE: Body = {"type": "image", "image": {"link": "https://example.com/a.jpg", "caption": ""}}
_DOC: Body = {"type": "document", "document": {"link": "https://example.com/a.pdf", "filename": ""}}
_TEXT: Body = {"type": "text", "text": {"body": ""}}


def _contacts(n: int) -> Body:
    return {"type": "contacts", "contacts": [{"name": {"formatted_name": f"C{i}"}} for i in range(n)]}


def _opaque(n: int) -> Body:
    return {"type": "text", "text": {"body": "x"}, "biz_opaque_callback_data": "o" * n}


#: (limit name, body builder taking the size)
CASES: list[tuple[str, Callable[[int], Body]]] = [
    ("text.body", _text_field(["text", "body"], _TEXT)),
    ("caption", _text_field(["image", "caption"], _IMAGE)),
    ("document.filename", _text_field(["document", "filename"], _DOC)),
    ("biz_opaque_callback_data", _opaque),
    ("interactive.header.text", _text_field(["interactive", "header", "text"], _HEADER)),
    ("interactive.body.text", _text_field(["interactive", "body", "text"], _HEADER)),
    ("interactive.footer.text", _text_field(["interactive", "footer", "text"], _HEADER)),
    ("interactive.button.buttons", lambda n: _buttons(n)),
    ("interactive.button.title", lambda n: _buttons(1, title="t" * n)),
    ("interactive.button.id", lambda n: _buttons(1, bid="i" * n)),
    ("interactive.list.button", lambda n: _list(button="b" * n)),
    ("interactive.list.sections", lambda n: _list(rows=n, sections=n)),
    ("interactive.list.rows_total", lambda n: _list(rows=n, sections=2 if n > 1 else 1)),
    ("interactive.list.row.title", lambda n: _list(title="t" * n)),
    ("interactive.list.row.description", lambda n: _list(description="d" * n)),
    ("interactive.cta_url.display_text", _text_field(["interactive", "action", "parameters", "display_text"], _CTA)),
    ("interactive.flow.flow_cta", _text_field(["interactive", "action", "parameters", "flow_cta"], _FLOW)),
    ("interactive.product_list.sections", lambda n: _products(n, sections=n)),
    ("interactive.product_list.items_total", lambda n: _products(n, sections=3)),
    ("contacts", _contacts),
]


@pytest.mark.parametrize(("name", "build"), CASES, ids=[c[0] for c in CASES])
def test_limit_boundary(sandbox: SandboxHandle, name: str, build: Callable[[int], Body]) -> None:
    sandbox.configure(pair_rate_burst=1000)
    open_window(sandbox)
    limit = LIMITS[name]
    at = send(sandbox, {"to": WA_ID, **build(limit.max)})
    assert at.status_code == 200, (name, at.text)
    past = send(sandbox, {"to": WA_ID, **build(limit.max + 1)})
    assert past.status_code == 400, (name, past.text)
    assert past.json()["error"]["code"] == 100, (name, past.text)
    details = past.json()["error"]["error_data"]["details"]
    assert str(limit.max) in details, details


def test_row_id_boundary(sandbox: SandboxHandle) -> None:
    open_window(sandbox)
    limit = LIMITS["interactive.list.row.id"].max
    body = _list()
    body["interactive"]["action"]["sections"][0]["rows"][0]["id"] = "r" * limit
    assert send(sandbox, {"to": WA_ID, **body}).status_code == 200
    body["interactive"]["action"]["sections"][0]["rows"][0]["id"] = "r" * (limit + 1)
    assert send(sandbox, {"to": WA_ID, **body}).json()["error"]["code"] == 100


def test_section_title_boundary(sandbox: SandboxHandle) -> None:
    open_window(sandbox)
    limit = LIMITS["interactive.list.section.title"].max
    body = _list(rows=2, sections=2)
    body["interactive"]["action"]["sections"][0]["title"] = "s" * limit
    assert send(sandbox, {"to": WA_ID, **body}).status_code == 200
    body["interactive"]["action"]["sections"][0]["title"] = "s" * (limit + 1)
    assert send(sandbox, {"to": WA_ID, **body}).json()["error"]["code"] == 100
    body["interactive"]["action"]["sections"][0].pop("title")
    assert send(sandbox, {"to": WA_ID, **body}).json()["error"]["code"] == 131008


def test_minimums(sandbox: SandboxHandle) -> None:
    open_window(sandbox)
    assert send(sandbox, {"to": WA_ID, **_buttons(0)}).json()["error"]["code"] == 131008
    assert send(sandbox, {"to": WA_ID, **_contacts(0)}).json()["error"]["code"] == 131008
    assert send(sandbox, {"to": WA_ID, **_TEXT}).json()["error"]["code"] == 131008
    dup = _buttons(2)
    dup["interactive"]["action"]["buttons"][1]["reply"]["title"] = dup["interactive"]["action"]["buttons"][0]["reply"][
        "title"
    ]
    assert send(sandbox, {"to": WA_ID, **dup}).json()["error"]["code"] == 131009
