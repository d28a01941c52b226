"""Fault injection: which failure (if any) a request gets, drawn from the seeded RNG."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wacloud.sandbox._state import SandboxState


@dataclass(slots=True, frozen=True)
class Fault:
    """What to do to this request: ``kind`` is drop, timeout, http500, http503, code, never_deliver or
    drop_after_accept; ``code`` is set for ``code``."""

    kind: str
    code: int = 0


def latency(state: SandboxState) -> float:
    """Seconds to wait before answering (0 when no latency is configured)."""
    f = state.config.faults
    if not f.latency_s and not f.latency_jitter_s:
        return 0.0
    return max(0.0, f.latency_s + (state.rng.uniform(0, f.latency_jitter_s) if f.latency_jitter_s else 0.0))


def pick(state: SandboxState, *, send: bool) -> Fault | None:
    """One fault for this request, or None; ``send`` enables the send-only faults."""
    f = state.config.faults
    rng = state.rng
    for kind, rate in (
        ("drop", f.drop_rate),
        ("timeout", f.timeout_rate),
        ("http500", f.error_500_rate),
        ("http503", f.error_503_rate),
    ):
        if rate and rng.random() < rate:
            return Fault(kind)
    if not send:
        return None
    for code, rate in f.codes.items():
        if rate and rng.random() < rate:
            return Fault("code", code)
    if f.drop_after_accept_rate and rng.random() < f.drop_after_accept_rate:
        return Fault("drop_after_accept")
    if f.never_deliver_rate and rng.random() < f.never_deliver_rate:
        return Fault("never_deliver")
    return None
