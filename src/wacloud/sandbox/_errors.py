"""``GraphError``: a rule the request broke, answered in Meta's error shape."""

from __future__ import annotations

from typing import Any

from wacloud import errors


class GraphError(Exception):
    """An error answer: Meta's ``code``, the specific ``details``, and the HTTP status to use."""

    def __init__(
        self,
        code: int,
        details: str,
        *,
        http_status: int | None = None,
        subcode: int | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(f"({code}) {details}")
        self.code = code
        self.details = details
        self.http_status = http_status if http_status is not None else errors.http_status_for(code)
        self.subcode = subcode
        self.message = message

    def body(self, fbtrace_id: str) -> dict[str, Any]:
        """Meta's error JSON for this error."""
        return errors.error_body(
            self.code, self.details, fbtrace_id=fbtrace_id, message=self.message, subcode=self.subcode
        )


def missing(path: str) -> GraphError:
    """131008 for a required parameter that is absent."""
    return GraphError(131008, f"The parameter {path} is required.")


def invalid(path: str, why: str) -> GraphError:
    """131009 for a value that is present but not valid."""
    return GraphError(131009, f"Param {path} is not valid: {why}")


def param(details: str) -> GraphError:
    """100 for a Graph parameter error: wrong JSON type, unknown key, enum, length or count."""
    return GraphError(100, details)


class ControlError(Exception):
    """A bad control request (answered 400 with a reason, or 404)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
