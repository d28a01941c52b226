"""The sandbox clock: wall time plus an offset, which tests can advance or freeze."""

from __future__ import annotations

import time
from collections.abc import Callable


class Clock:
    """Seconds since the epoch as the sandbox sees them; ``advance`` moves time forward for everyone.

    Everything time-based in the sandbox (token buckets, the 24 h window, media URL expiry, status
    schedules, template review) reads this clock, so advancing it is consistent across all of them.
    """

    def __init__(self, *, frozen_at: float | None = None) -> None:
        self._offset = 0.0
        self._frozen_at = frozen_at
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        """Current sandbox time."""
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset

    @property
    def frozen(self) -> bool:
        """True while time only moves through ``advance``."""
        return self._frozen_at is not None

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset += seconds
        self._notify()
        return self.now()

    def freeze(self) -> None:
        """Stop time at the current instant."""
        if self._frozen_at is None:
            self._frozen_at = self.now()
        self._notify()

    def unfreeze(self) -> None:
        """Let time run again from the frozen instant."""
        if self._frozen_at is not None:
            self._offset = self._frozen_at - time.time()
            self._frozen_at = None
        self._notify()

    def reset(self) -> None:
        """Back to wall time, running."""
        self._offset = 0.0
        self._frozen_at = None
        self._notify()

    def position(self) -> dict[str, float | None]:
        """The offset from wall time and the frozen instant (JSON-ready, for :meth:`resume`)."""
        return {"offset": self._offset, "frozen_at": self._frozen_at}

    def resume(self, position: dict[str, float | None]) -> None:
        """Continue from a saved :meth:`position` (after a restart: same sandbox time, wall time moved on)."""
        offset, frozen_at = position.get("offset"), position.get("frozen_at")
        self._offset = float(offset) if offset is not None else 0.0
        self._frozen_at = float(frozen_at) if frozen_at is not None else None
        self._notify()

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever the clock jumps (the scheduler re-plans its sleep)."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()
