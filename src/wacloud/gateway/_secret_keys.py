"""The keys of ``WACLOUD_SECRET_KEY``: read and checked with the settings, made by ``wacloud keys secret``.

Kept apart from :mod:`wacloud.gateway._secret_box` so reading the settings (every CLI command) does not load
the cryptography library: a key is checked by its form, 32 bytes in URL-safe base64, which is what Fernet takes.
"""

from __future__ import annotations

import base64
import binascii
import os

#: The setting that holds the keys, as messages name it.
SECRET_KEY_SETTING = "WACLOUD_SECRET_KEY"


def parse_keys(text: str) -> list[str]:
    """The keys of the setting's value (comma- or space-separated); a :class:`ValueError` naming the bad one."""
    keys = [k for k in text.replace(",", " ").split() if k]
    if not keys:
        raise ValueError("is empty: give one key (make one with `wacloud keys secret`), or leave it unset")
    for n, key in enumerate(keys, 1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, binascii.Error):
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"key {n} is not a key of 32 bytes in URL-safe base64 (44 characters; make one with "
                             "`wacloud keys secret`)")
    return keys


def new_secret_key() -> str:
    """A fresh random key for the setting (32 random bytes, URL-safe base64: a Fernet key)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


__all__ = ["SECRET_KEY_SETTING", "new_secret_key", "parse_keys"]
