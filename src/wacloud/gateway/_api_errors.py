"""The HTTP API's error answers: ``{"error": {"reason", "field"?, ...}}``, and their OpenAPI entries."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from wacloud import errors
from wacloud.gateway._schemas import ErrorOut

#: The error answers every ``/v1`` route may give, for its OpenAPI entry.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 404, 409, 422, 502, 503)
}


class ApiError(Exception):
    """An error answer with a reason (and the field at fault)."""

    def __init__(self, status: int, reason: str, *, field: str | None = None, **extra: Any) -> None:
        self.status = status
        self.body: dict[str, Any] = {"reason": reason, "field": field, **extra}
        super().__init__(reason)


def whatsapp_error(exc: errors.WhatsAppError) -> ApiError:
    """A Graph error as our answer: the caller's fault stays 4xx, ours (auth, 5xx) becomes 502."""
    status = exc.http_status or 502
    if status >= 500 or status in (401, 403) or exc.retry is errors.RetryClass.AUTH:
        status = 502
    return ApiError(
        status,
        exc.detail.details or exc.detail.message or f"Graph error {exc.code}",
        code=exc.code,
        title=exc.detail.title,
        fbtrace_id=exc.fbtrace_id,
    )


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: an error may quote a lone surrogate from the input."""

    def render(self, content: Any) -> bytes:
        """Render as ASCII-only JSON."""
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def error_response(status: int, body: dict[str, Any]) -> JSONResponse:
    """``{"error": {...}}`` with ``None`` values dropped."""
    return AsciiJSONResponse({"error": {k: v for k, v in body.items() if v is not None}}, status_code=status)
