"""A corpus of hostile webhook bodies: wrong types, huge strings, deep nesting, bad encodings, odd JSON.

Each entry is ``(name, raw body, allowed statuses)``. Bodies are sent correctly signed, so they get past
the signature check and reach the parser: a receiver must answer 200 (stored/ignored, possibly as a raw
update) or a 4xx with a reason, never a 5xx, and keep serving.
"""

from __future__ import annotations

import json
from typing import Any

from benchmarks import corpus

OK_OR_400 = frozenset({200, 400})
TOO_BIG = frozenset({413})

_BASE = json.loads(corpus.kind_sample(seed=5)["text"])


def _with(path: list[Any], value: Any) -> bytes:
    """The sample text webhook with the item at ``path`` replaced by ``value``."""
    doc = json.loads(json.dumps(_BASE))
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(doc).encode()


_MSG = ["entry", 0, "changes", 0, "value", "messages", 0]
_VALUE = ["entry", 0, "changes", 0, "value"]


def bodies(cap: int = 3 * 1024 * 1024) -> list[tuple[str, bytes, frozenset[int]]]:
    """The hostile corpus (``cap``: the receiver's body limit, for the just-under/just-over cases)."""
    envelope = (b'{"object":"whatsapp_business_account","entry":[{"id":"1","changes":'
                b'[{"field":"messages","value":')
    out: list[tuple[str, bytes, frozenset[int]]] = [
        # not an envelope at all
        ("empty", b"", frozenset({400})),
        ("whitespace", b"   \n", frozenset({400})),
        ("null", b"null", frozenset({400})),
        ("number", b"42", frozenset({400})),
        ("string", b'"whatsapp"', frozenset({400})),
        ("array", b"[]", frozenset({400})),
        ("empty object", b"{}", OK_OR_400),
        ("truncated", corpus.kind_sample()["text"][:-7], frozenset({400})),
        ("trailing garbage", corpus.kind_sample()["text"] + b"}}", frozenset({400})),
        ("utf-8 BOM", b"\xef\xbb\xbf" + corpus.kind_sample()["text"], OK_OR_400),
        ("invalid utf-8", b'{"object":"whatsapp_business_account","entry":[{"id":"\xff\xfe\xfa"}]}',
         frozenset({400})),
        ("utf-16", corpus.kind_sample()["text"].decode().encode("utf-16"), frozenset({400})),
        ("lone surrogate escape", _with([*_MSG, "text", "body"], "x").replace(b'"x"', b'"\\ud800"'),
         OK_OR_400),
        ("NUL in string", _with([*_MSG, "text", "body"], "a\x00b"), OK_OR_400),
        ("NaN literal", _with([*_MSG, "timestamp"], 0).replace(b'"timestamp": 0', b'"timestamp": NaN'),
         OK_OR_400),
        ("Infinity literal", b'{"object":"whatsapp_business_account","entry":[{"id":"1","time":Infinity}]}',
         OK_OR_400),
        ("huge integer", b'{"object":"whatsapp_business_account","entry":[{"id":' + b"9" * 5000 + b"}]}",
         OK_OR_400),
        ("huge float exponent",
         _with([*_MSG, "timestamp"], 0).replace(b'"timestamp": 0', b'"timestamp": 1e999'), OK_OR_400),
        ("duplicate keys", b'{"object":"x","object":"whatsapp_business_account","entry":[],"entry":'
                           + json.dumps(_BASE["entry"]).encode() + b"}", OK_OR_400),
        # wrong types at every level
        ("object is a number", _with(["object"], 7), OK_OR_400),
        ("entry is a string", _with(["entry"], "entry"), OK_OR_400),
        ("entry holds junk", _with(["entry"], [1, None, "x", [], {"changes": "no"}]), OK_OR_400),
        ("changes is an object", _with(["entry", 0, "changes"], {"field": "messages"}), OK_OR_400),
        ("change is a list", _with(["entry", 0, "changes", 0], [1, 2]), OK_OR_400),
        ("field is a number", _with(["entry", 0, "changes", 0, "field"], 12), OK_OR_400),
        ("value is a list", _with(_VALUE, [1, 2, 3]), OK_OR_400),
        ("value is null", _with(_VALUE, None), OK_OR_400),
        ("messages is a string", _with([*_VALUE, "messages"], "hello"), OK_OR_400),
        ("message is a number", _with([*_VALUE, "messages", 0], 3), OK_OR_400),
        ("type is an object", _with([*_MSG, "type"], {"text": 1}), OK_OR_400),
        ("unknown type", _with([*_MSG, "type"], "hologram"), OK_OR_400),
        ("text is a list", _with([*_MSG, "text"], ["a"]), OK_OR_400),
        ("body is a number", _with([*_MSG, "text", "body"], 1.5), OK_OR_400),
        ("timestamp is an object", _with([*_MSG, "timestamp"], {"t": 1}), OK_OR_400),
        ("timestamp negative", _with([*_MSG, "timestamp"], "-99999999999999"), OK_OR_400),
        ("from is null", _with([*_MSG, "from"], None), OK_OR_400),
        ("id is a list", _with([*_MSG, "id"], ["wamid.x"]), OK_OR_400),
        ("metadata is a string", _with([*_VALUE, "metadata"], "meta"), OK_OR_400),
        ("contacts is a number", _with([*_VALUE, "contacts"], 9), OK_OR_400),
        ("statuses with junk", _with([*_VALUE, "statuses"], [None, 1, {"status": 5}, {"id": {}}]), OK_OR_400),
        ("errors is a string", _with([*_VALUE, "errors"], "boom"), OK_OR_400),
        ("status pricing wrong", _with([*_VALUE, "statuses"], [{"id": "wamid.1", "status": "sent",
                                                                "timestamp": "1", "recipient_id": "1",
                                                                "pricing": "free"}]), OK_OR_400),
        ("extra keys everywhere", _with([*_MSG, "zzz"], {"nested": {"more": [1, 2, {"x": None}]}}),
         OK_OR_400),
        # sizes
        ("many entries", json.dumps({"object": "whatsapp_business_account",
                                     "entry": [_BASE["entry"][0]] * 2000}).encode(), OK_OR_400),
        ("long key", _with([*_MSG, "k" * 200_000], 1), OK_OR_400),
        ("huge text body (2 MB)", _with([*_MSG, "text", "body"], "A" * (2 * 1024 * 1024)), OK_OR_400),
        ("huge escaped unicode body", _with([*_MSG, "text", "body"], "é😀" * 60_000), OK_OR_400),
        ("huge raw UTF-8 body",
         _with([*_MSG, "text", "body"], "@@").replace(b"@@", ("é😀" * 150_000).encode()), OK_OR_400),
        ("just over the cap", _with([*_MSG, "text", "body"], "B" * (cap + 10)), TOO_BIG),
        # nesting
        ("deep arrays (top level)", b"[" * 100_000 + b"]" * 100_000, frozenset({400, 413})),
        ("deep objects in value", envelope + b'{"a":' * 50_000 + b"1" + b"}" * 50_000 + b"}]}]}",
         frozenset({400, 413})),
        ("deep arrays in a message", _with([*_MSG, "text", "body"], "@@").replace(
            b'"@@"', b"[" * 5_000 + b"]" * 5_000), OK_OR_400),
        ("moderate nesting (150)", _with([*_MSG, "context"], "@@").replace(
            b'"@@"', b'{"a":' * 150 + b"1" + b"}" * 150), OK_OR_400),
    ]
    return out
