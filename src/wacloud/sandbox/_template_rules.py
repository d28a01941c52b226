"""Meta's template-creation rules on the raw ``POST /{waba-id}/message_templates`` body, answered with
Meta's code 100 and the 2388xxx subcodes.

The rules are the neutral table :mod:`wacloud.template_rules` (shared with the client's pre-check); this
module only turns a broken rule into the Graph error Meta answers with. Whether the sandbox agrees with
Meta is checked against Meta's recorded examples (``tests/sandbox/test_template_spec_examples.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from wacloud import template_rules
from wacloud.sandbox._errors import GraphError
from wacloud.template_rules import BUTTON_TYPES, HEADER_FORMATS, TemplateRuleViolation

__all__ = ["BUTTON_TYPES", "HEADER_FORMATS", "check_components", "check_language"]


def _graph_error(check: Callable[[], None]) -> None:
    try:
        check()
    except TemplateRuleViolation as broken:
        raise GraphError(
            broken.code, f"Invalid parameter {broken.field}: {broken.reason}.", subcode=broken.subcode
        ) from None


def check_language(language: object) -> None:
    """100 unless ``language`` looks like a template locale code (``en_US``, ``pt_BR``, ``de``…)."""
    _graph_error(lambda: template_rules.check_language(language))


def check_components(components: object, category: str, parameter_format: str) -> None:
    """Raise Meta's error for components ``POST message_templates`` refuses (``category`` upper-case)."""
    _graph_error(lambda: template_rules.check_components(components, category, parameter_format))
