"""Location messages (a pin with an optional name and address)."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import model_validator

from ._base import WaModel, check_range


class Location(WaModel):
    """A map pin: ``latitude``/``longitude`` in degrees, optional ``name`` and ``address``.

    Meta's spec types the coordinates as strings while its examples send numbers; both parse, and
    they are sent as JSON numbers.
    """

    type: ClassVar[str] = "location"
    graph_key: ClassVar[str] = "location"
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None

    @model_validator(mode="after")
    def _in_range(self) -> Self:
        check_range("latitude", self.latitude, "location.latitude")
        check_range("longitude", self.longitude, "location.longitude")
        return self

    def to_graph(self) -> dict[str, Any]:
        """``{"type": "location", "location": {...}}``."""
        return {"type": self.type, self.type: self.graph()}
