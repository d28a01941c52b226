"""Plain text messages."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import StrictBool, model_validator

from ._base import WaModel, check_length, shortcuts


class Text(WaModel):
    """A text message: ``body`` (1–4096 characters) and ``preview_url`` to render a link preview."""

    type: ClassVar[str] = "text"
    graph_key: ClassVar[str] = "text"
    body: str
    preview_url: StrictBool | None = None

    @shortcuts
    def __init__(self, body: str | None = None, /, **data: Any) -> None:
        if body is not None:
            data["body"] = body
        super().__init__(**data)

    @model_validator(mode="after")
    def _body_length(self) -> Self:
        check_length("body", self.body, "text.body")
        return self

    def to_graph(self) -> dict[str, Any]:
        """``{"type": "text", "text": {"body": ..., "preview_url"?: ...}}``."""
        return {"type": self.type, self.type: self.graph()}
