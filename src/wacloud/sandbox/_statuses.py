"""A sent message's status lifecycle: planning ``sent``/``delivered``/``read``/``played`` (or ``failed``)
and emitting each as a webhook. Used by sending, by template pacing (held messages) and by the control API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import wacloud.sandbox._payloads as _payloads
from wacloud import limits

if TYPE_CHECKING:
    from wacloud.sandbox._model import Customer, OutboundMessage
    from wacloud.sandbox._state import SandboxState


class _StatusPlan:
    """The statuses still due for one message; one scheduler entry at a time (cheap at 1,000 mps)."""

    __slots__ = ("conversation", "msg", "state", "steps")

    def __init__(
        self, state: SandboxState, msg: OutboundMessage, steps: list[tuple[float, str]],
        conversation: dict[str, Any] | None,
    ) -> None:
        self.state = state
        self.msg = msg
        self.steps = steps
        self.conversation = conversation

    def __call__(self) -> None:
        _, status = self.steps.pop(0)
        emit_status(self.state, self.msg, status, conversation=self.conversation, expiration=status == "sent")
        if self.steps and self.state.messages.get(self.msg.id) is self.msg:
            self.state.scheduler.at(self.steps[0][0], self)


def plan_statuses(
    state: SandboxState,
    msg: OutboundMessage,
    customer: Customer | None,
    failure: tuple[int, str] | None,
    now: float,
) -> None:
    """Schedule the statuses of an accepted message (or its ``failed`` status) from ``now`` on."""
    cfg = state.config
    sched = state.scheduler
    if failure is not None:
        sched.at(now + (cfg.sent_after_s or 0.0), lambda: emit_status(state, msg, "failed", error=failure))
        return
    conversation = None
    if msg.version < (24, 0) or msg.pricing_type == "free_entry_point":
        conversation = {"id": state.ids.token(32), "origin": {"type": msg.category}}
    steps: list[tuple[float, str]] = []
    if cfg.sent_after_s is not None:
        steps.append((now + cfg.sent_after_s, "sent"))
    # Reactions only ever get "sent".
    if msg.type != "reaction" and cfg.delivered_after_s is not None:
        steps.append((now + cfg.delivered_after_s, "delivered"))
        if cfg.read_after_s is not None and (customer is None or customer.read_receipts):
            steps.append((now + cfg.read_after_s, "read"))
            if _is_voice(msg) and cfg.played_after_s is not None:
                steps.append((now + cfg.played_after_s, "played"))
    if not steps:
        return  # every status turned off (benchmarks that measure sends only)
    steps.sort(key=lambda step: step[0])  # odd configurations (read before delivered) still run in time order
    sched.at(steps[0][0], _StatusPlan(state, msg, steps, conversation))


def _is_voice(msg: OutboundMessage) -> bool:
    """A voice note (``audio.voice: true``): the only messages that get a ``played`` status."""
    audio = msg.body.get("audio") if msg.type == "audio" else None
    return isinstance(audio, dict) and audio.get("voice") is True


def emit_status(
    state: SandboxState,
    msg: OutboundMessage,
    status: str,
    *,
    conversation: dict[str, Any] | None = None,
    expiration: bool = False,
    error: tuple[int, str] | None = None,
) -> None:
    """Record a status in the message's history and send its webhook."""
    if state.messages.get(msg.id) is not msg:
        return  # the sandbox was reset since this was planned
    ts = state.clock.now()
    entry: dict[str, Any] = {"status": status, "timestamp": ts}
    if error is not None:
        entry["code"] = error[0]
        state.async_failures[error[0]] += 1
    msg.statuses.append(entry)
    conv = None
    if conversation is not None and status in ("sent", "delivered"):
        conv = dict(conversation)
        if expiration:
            conv["expiration_timestamp"] = str(int(ts + limits.SERVICE_WINDOW_S))
    obj = _payloads.status_object(
        state, msg, status, ts, pricing=status in ("sent", "delivered"), conversation=conv, error=error
    )
    cfg = state.config
    phone = msg.phone_number_id
    if cfg.reorder_rate and state.rng.random() < cfg.reorder_rate:
        state.scheduler.after(
            state.rng.uniform(0.0, cfg.reorder_window_s), lambda: state.dispatcher.emit_status(msg.wa_id, obj, phone)
        )
    else:
        state.dispatcher.emit_status(msg.wa_id, obj, phone)
