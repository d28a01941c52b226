"""Compact JSON text for what the stores keep (events, job bodies): msgspec's encoder, about an eighth of
``json.dumps``'s cost (a campaign writes a few events and rows per message), and its decoder to read them
back (a third of ``json.loads``'s: a claim decodes the body of every job it leases)."""

from __future__ import annotations

import json
from typing import Any

import msgspec

_encode = msgspec.json.Encoder(enc_hook=str).encode
_encode_sorted = msgspec.json.Encoder(enc_hook=str, order="sorted").encode
_decode = msgspec.json.Decoder().decode
_fallback = json.JSONEncoder(separators=(",", ":"), default=str).encode
_fallback_sorted = json.JSONEncoder(separators=(",", ":"), default=str, sort_keys=True).encode


def dumps(value: object, *, sort_keys: bool = False) -> str:
    """``value`` as compact JSON text (UTF-8 characters as they are; types JSON lacks as their ``str``).

    A string msgspec cannot write as UTF-8 (a lone surrogate, which a webhook's ``\\ud800`` escape can carry)
    falls back to ``json.dumps``, which escapes it: one odd value never fails the write it belongs to.
    """
    try:
        return (_encode_sorted if sort_keys else _encode)(value).decode()
    except UnicodeEncodeError:
        return (_fallback_sorted if sort_keys else _fallback)(value)


def loads(text: str | bytes) -> Any:
    """The value of JSON text that :func:`dumps` (or ``json.dumps``) wrote.

    What msgspec refuses and ``json`` reads (a lone surrogate's ``\\ud800`` escape, which :func:`dumps`
    writes through its fallback; ``Infinity``) is read by ``json.loads``: the same values as before.
    """
    try:
        return _decode(text)
    except msgspec.DecodeError:
        return json.loads(text)
