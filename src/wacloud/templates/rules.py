"""Meta's template-creation rules, checked on the plain create body (the JSON of ``POST message_templates``).

The rules themselves live in the neutral table :mod:`wacloud.template_rules` (shared with the sandbox);
this module turns a broken rule into :class:`~wacloud.templates.exceptions.TemplateDefinitionError` with
the field, the reason and the code and subcode Meta answers with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import wacloud.template_rules as template_rules
from wacloud.template_rules import (
    BUTTON_TYPES,
    CATEGORIES,
    COMPONENT_TYPES,
    HEADER_FORMATS,
    LANGUAGE_RE,
    MEDIA_FORMATS,
    NAME_RE,
    OTP_TYPES,
    TemplateRuleViolation,
)
from wacloud.templates.exceptions import TemplateDefinitionError

__all__ = [
    "BUTTON_TYPES",
    "CATEGORIES",
    "COMPONENT_TYPES",
    "HEADER_FORMATS",
    "LANGUAGE_RE",
    "MEDIA_FORMATS",
    "NAME_RE",
    "OTP_TYPES",
    "check_definition",
]


def check_definition(body: Mapping[str, Any], *, existing_count: int | None = None) -> None:
    """Raise :class:`TemplateDefinitionError` when ``body`` would be refused by ``POST message_templates``.

    ``existing_count`` is the number of templates the WABA already has (the 250 cap), when known.
    """
    try:
        template_rules.check_create_body(body, existing_count=existing_count)
    except TemplateRuleViolation as broken:
        raise TemplateDefinitionError(
            broken.field,
            broken.reason,
            code=broken.code,
            subcode=broken.subcode,
            size=broken.size,
            limit=broken.limit,
        ) from None
