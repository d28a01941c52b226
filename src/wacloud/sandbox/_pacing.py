"""Template pacing: ``message_status`` in send answers, held messages, and what a quality signal does to them.

Meta paces new, just-unpaused and not-GREEN marketing and utility templates: sends go out normally up to an
unspecified threshold, then the answer says ``held_for_quality_assessment`` and the messages wait for early
customer feedback. A good signal releases them (and the template is no longer paced); a bad one pauses the
template and every held message fails with 132015 (facts §2). The sandbox makes the threshold explicit:
a paced template answers ``accepted`` for its first ``threshold`` sends and holds the ones after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wacloud.sandbox._statuses import emit_status, plan_statuses

if TYPE_CHECKING:
    from wacloud.sandbox._model import Template
    from wacloud.sandbox._state import SandboxState

ACCEPTED = "accepted"
HELD = "held_for_quality_assessment"
#: Categories Meta paces (authentication templates never are).
PACED_CATEGORIES = frozenset({"MARKETING", "UTILITY"})
_DROPPED = (132015, "Template paused after quality assessment: the held message was dropped.")


def message_status(state: SandboxState, tpl: Template) -> str:
    """Count one accepted send of ``tpl``; ``held_for_quality_assessment`` once it is over the threshold."""
    pacing = tpl.pacing
    if not pacing.enabled:
        return ACCEPTED
    pacing.sends += 1
    return HELD if pacing.sends > pacing.limit(state.config.template_pacing_threshold) else ACCEPTED


def hold(tpl: Template, wamid: str, failure: tuple[int, str] | None) -> None:
    """Keep an accepted message back until the template's quality is assessed."""
    tpl.pacing.held.append((wamid, failure))


def release(state: SandboxState, tpl: Template) -> int:
    """A good quality signal: the held messages go out now and the template is no longer paced."""
    now = state.clock.now()
    held, tpl.pacing.held = tpl.pacing.held, []
    tpl.pacing.enabled = False
    for wamid, failure in held:
        msg = state.messages.get(wamid)
        if msg is not None:
            plan_statuses(state, msg, state.customers.get(msg.wa_id), failure, now)
    return len(held)


def drop(state: SandboxState, tpl: Template) -> int:
    """The template was paused: every held message fails with 132015."""
    held, tpl.pacing.held = tpl.pacing.held, []
    for wamid, _ in held:
        msg = state.messages.get(wamid)
        if msg is not None:
            emit_status(state, msg, "failed", error=_DROPPED)
    return len(held)


def on_status_change(state: SandboxState, tpl: Template, old: str, new: str) -> None:
    """Pausing drops the held messages; unpausing a template that was paced paces it again."""
    if new == "PAUSED":
        drop(state, tpl)
    elif old == "PAUSED" and new == "APPROVED" and tpl.pacing.ever and tpl.category in PACED_CATEGORIES:
        tpl.pacing.start()
