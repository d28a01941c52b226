"""Templates done right: a typed definition builder checked against Meta's creation rules, and a
pre-send check of a template *send* against its definition (with a webhook-refreshed cache).

Depends only on :mod:`wacloud.limits` and :mod:`wacloud.errors`; works on plain Graph JSON so any
caller (our client, raw bodies, other SDKs) can use it.
"""

from __future__ import annotations

from wacloud.templates.builder import (
    Button,
    CardBuilder,
    CarouselCard,
    Component,
    ComponentExample,
    LimitedTimeOffer,
    NamedExample,
    TemplateBuilder,
    TemplateDefinition,
)
from wacloud.templates.cache import TemplateCache
from wacloud.templates.check import check_send, check_status, select_definition
from wacloud.templates.exceptions import MismatchKind, TemplateDefinitionError, TemplateMismatch
from wacloud.templates.rules import check_definition
from wacloud.templates.variables import ParameterFormat, variables

__all__ = [
    "Button",
    "CardBuilder",
    "CarouselCard",
    "Component",
    "ComponentExample",
    "LimitedTimeOffer",
    "MismatchKind",
    "NamedExample",
    "ParameterFormat",
    "TemplateBuilder",
    "TemplateCache",
    "TemplateDefinition",
    "TemplateDefinitionError",
    "TemplateMismatch",
    "check_definition",
    "check_send",
    "check_status",
    "select_definition",
    "variables",
]
