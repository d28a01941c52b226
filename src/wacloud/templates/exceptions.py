"""The two local template errors: a definition Meta would refuse, a send that does not fit it."""

from __future__ import annotations

from enum import StrEnum

from wacloud.errors import ValidationError


class TemplateDefinitionError(ValidationError):
    """A template definition breaks one of Meta's creation rules.

    ``code`` and ``subcode`` are what Meta answers for the same body (100 with a 2388xxx subcode,
    mostly), so a caller can treat the local refusal and the remote one alike.
    """

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        code: int = 100,
        subcode: int | None = None,
        size: int | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(field, reason, size=size, limit=limit)
        self.code = code
        self.subcode = subcode


class MismatchKind(StrEnum):
    """Why a template send does not fit the template's definition."""

    NOT_FOUND = "not_found"  #: no template of that name
    LANGUAGE = "language"  #: the template exists, not in that language
    STATUS = "status"  #: not APPROVED (pending, rejected, paused, disabled…)
    PARAM_COUNT = "param_count"  #: wrong number of parameters in a component
    PARAM_NAME = "param_name"  #: named parameters missing, unknown, or given to a positional template
    PARAM_TYPE = "param_type"  #: a parameter of a type the component does not take
    HEADER_FORMAT = "header_format"  #: header parameter type differs from the header's format
    BUTTON = "button"  #: a button index or sub_type that the template does not have
    TOO_LONG = "too_long"  #: the hydrated text exceeds the component's limit
    MALFORMED = "malformed"  #: the send object itself is not well formed


class TemplateMismatch(ValidationError):
    """A template send does not fit the template's definition; raised before the request.

    ``code`` is the Cloud API error Meta would have answered with (132000, 132001, 132005, 132012,
    132015, 132016, or 131008/131009 for a malformed send), ``kind`` says which rule broke.
    """

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        kind: MismatchKind,
        code: int,
        size: int | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(field, reason, size=size, limit=limit)
        self.kind = kind
        self.code = code
