"""``X-Hub-Signature-256``: HMAC-SHA256 of the raw body, keyed with the app secret."""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import _Hash

HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="
#: SHA-256's block size, and the pads of RFC 2104 as translation tables (as the standard ``hmac`` module).
_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def sign(body: bytes, app_secret: str) -> str:
    """The header value Meta sends for ``body``: ``sha256=<hex>``."""
    inner, outer = _keyed(app_secret)
    digest = inner.copy()
    digest.update(body)
    mac = outer.copy()
    mac.update(digest.digest())
    return _PREFIX + mac.hexdigest()


def verify(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when ``header`` is the signature of the exact raw ``body``; compared in constant time."""
    if not header or not header.startswith(_PREFIX):
        return False
    # Compare bytes: compare_digest raises TypeError on non-ASCII str (a hostile header must not 500).
    return hmac.compare_digest(sign(body, app_secret).encode(), header.strip().encode("utf-8", "replace"))


@functools.lru_cache(maxsize=64)
def _keyed(app_secret: str) -> tuple[_Hash, _Hash]:
    """HMAC-SHA256's inner and outer hashes with the padded key already fed (RFC 2104), once per secret.

    A signature is then two copies, two updates and two digests. ``hmac.new`` set OpenSSL's HMAC up for
    every body (the digest looked up by name, contexts allocated and wiped): ~12,700 instructions a
    webhook more, 5 % of the receiver's in-process cost (callgrind; docs/benchmarks.md, ingest, seventh pass).
    """
    key = app_secret.encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))
