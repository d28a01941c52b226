"""Identifiers shaped like Meta's: ``wamid.`` message ids, numeric object ids, ``fbtrace_id``s."""

from __future__ import annotations

import base64
import random
import string

_TRACE_ALPHABET = string.ascii_letters + string.digits + "-_"


class IdFactory:
    """Makes unique ids; the random part comes from a seeded RNG so runs are reproducible."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(f"ids:{seed}")
        # The counters are never reset (not even by a sandbox reset), so ids stay unique per process;
        # a restored sandbox resumes them (``position``/``resume``), so they stay unique across restarts.
        self._counter = 0
        self._object = 0

    def position(self) -> dict[str, int]:
        """How many message and object ids were minted (JSON-ready, for :meth:`resume`)."""
        return {"messages": self._counter, "objects": self._object}

    def resume(self, position: dict[str, int]) -> None:
        """Continue after a saved :meth:`position` (never moving back)."""
        self._counter = max(self._counter, int(position.get("messages", 0)))
        self._object = max(self._object, int(position.get("objects", 0)))

    def wamid(self, wa_id: str, *, inbound: bool = False) -> str:
        """A message id: base64 of the recipient and a unique hex key, like Meta's ``wamid.HBgL…``."""
        self._counter += 1
        n = self._counter
        key = f"{n:010X}{self._rng.getrandbits(40):010X}"
        number = wa_id.encode()[:255]
        raw = (
            b"\x1c\x18"
            + bytes([len(number)])
            + number
            + (b"\x15\x02\x00\x12\x18\x14" if inbound else b"\x15\x02\x00\x11\x18\x14")
            + key.encode()
            + b"\x00"
        )
        return "wamid." + base64.b64encode(raw).decode()

    def object_id(self) -> str:
        """A numeric Graph object id (media, template), 16 digits like Meta's."""
        self._object += 1
        n = self._object
        return str(1_000_000_000_000_000 + n * 7919 + self._rng.randrange(7919))

    def fbtrace_id(self) -> str:
        """A trace id for an error answer."""
        return "".join(self._rng.choice(_TRACE_ALPHABET) for _ in range(23))

    def token(self, n: int = 16) -> str:
        """A random hex string (conversation ids, URL hashes)."""
        return f"{self._rng.getrandbits(n * 4):0{n}x}"
