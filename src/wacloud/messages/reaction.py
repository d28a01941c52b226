"""Reactions: an emoji on an earlier message, or an empty emoji to remove one."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import model_validator

from ._base import WaModel, check_not_blank


class Reaction(WaModel):
    """React to ``message_id`` with ``emoji``; ``emoji=""`` removes the reaction."""

    type: ClassVar[str] = "reaction"
    graph_key: ClassVar[str] = "reaction"
    message_id: str
    emoji: str = ""

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_not_blank("message_id", self.message_id)
        return self

    @classmethod
    def remove(cls, message_id: str) -> Reaction:
        """The reaction that removes an earlier one from ``message_id``."""
        return cls(message_id=message_id, emoji="")

    def to_graph(self) -> dict[str, Any]:
        """``{"type": "reaction", "reaction": {"message_id": ..., "emoji": ...}}``."""
        return {"type": self.type, self.type: self.graph()}
