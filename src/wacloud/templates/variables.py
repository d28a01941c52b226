"""Finding ``{{1}}`` / ``{{first_name}}`` variables in template text."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

# The variable patterns are part of the neutral rule table; re-exported here for the builder and checks.
from wacloud.template_rules import NAMED_RE, POSITIONAL_RE, VARIABLE_RE

__all__ = ["NAMED_RE", "POSITIONAL_RE", "VARIABLE_RE", "ParameterFormat", "distinct", "substitute", "variables"]


class ParameterFormat(StrEnum):
    """How a template's variables are written: ``{{1}}`` or ``{{name}}``."""

    POSITIONAL = "POSITIONAL"
    NAMED = "NAMED"


def variables(text: str) -> list[str]:
    """The variable names in ``text`` in order of appearance (``"1"``, ``"first_name"``…)."""
    return list(_variables(text or ""))


# A campaign checks each row against the same few template texts: scan each text once.
@lru_cache(maxsize=1024)
def _variables(text: str) -> tuple[str, ...]:
    return tuple(m.group(1) for m in VARIABLE_RE.finditer(text))


def distinct(names: list[str]) -> list[str]:
    """``names`` without repeats, first occurrence kept (a variable may appear twice in a text)."""
    return list(dict.fromkeys(names))


def substitute(text: str, values: dict[str, str]) -> str:
    """``text`` with each variable replaced by its value (unknown ones are left as they are)."""
    return VARIABLE_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)
