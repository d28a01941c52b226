"""The secrets the gateway keeps in its database, encrypted at rest.

A number added through ``POST /v1/numbers`` is kept with its access token and app secret, because the
gateway needs them to send and to verify webhooks. With ``WACLOUD_SECRET_KEY`` set they are stored encrypted
(Fernet from ``cryptography``: AES-128-CBC and an HMAC-SHA256 over it, with a timestamp), so a copy of the
database (a backup, a dump, a replica) does not give the tokens away. Several keys, comma-separated, rotate
one out: the first encrypts, any of them decrypts, and the gateway re-encrypts with the first at start.
Values stored in clear (before a key was set) still read, and are encrypted at the next start with a key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from wacloud.gateway._secret_keys import SECRET_KEY_SETTING

#: What starts an encrypted value (a version, so the scheme can change without guessing).
PREFIX = "enc:v1:"


class SecretUnavailable(ValueError):
    """A stored secret that cannot be read: encrypted, and no key is set or none of the keys opens it."""


class SecretBox:
    """Encrypts and decrypts stored secrets with the configured keys (none: they are kept in clear)."""

    def __init__(self, keys: Sequence[str] = ()) -> None:
        self._first = Fernet(keys[0].encode()) if keys else None
        self._all = MultiFernet([Fernet(k.encode()) for k in keys]) if keys else None

    @property
    def sealing(self) -> bool:
        """True when a key is set: new secrets are stored encrypted."""
        return self._all is not None

    def seal(self, value: str) -> str:
        """``value`` as stored: encrypted with the first key, or as it is when no key is set."""
        if self._first is None:
            return value
        return PREFIX + self._first.encrypt(value.encode()).decode()

    def open(self, value: str) -> str:
        """A stored value in clear (one stored in clear reads as it is)."""
        if not is_sealed(value):
            return value
        if self._all is None:
            raise SecretUnavailable(f"it is encrypted and {SECRET_KEY_SETTING} is not set")
        try:
            return self._all.decrypt(value[len(PREFIX):].encode()).decode()
        except InvalidToken:
            raise SecretUnavailable(f"none of the keys in {SECRET_KEY_SETTING} decrypts it (a key was changed, not "
                                    "rotated: keep the old one after the new one)") from None

    def stale(self, value: str) -> bool:
        """True when ``value`` should be stored again: in clear while a key is set, or under an older key."""
        if self._first is None:
            return False
        if not is_sealed(value):
            return True
        try:
            self._first.decrypt(value[len(PREFIX):].encode())
        except InvalidToken:
            return True
        return False


def is_sealed(value: str) -> bool:
    """True for a value stored encrypted."""
    return value.startswith(PREFIX)


__all__ = ["PREFIX", "SecretBox", "SecretUnavailable", "is_sealed"]
