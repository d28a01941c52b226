"""Update wrappers filled from parts the parser already validated, as pydantic-core fills a model.

An update wrapper (``MessageUpdate``, ``StatusUpdate``…) only holds what was validated a moment before:
the message or status models, the metadata and contact, the ``raw`` JSON, and the change's field,
account and time, which the parser made itself. Validating them again (what the constructor does)
costs about as much as building the wrapper. So the fast path fills the instance the way
pydantic-core fills a model it has validated: ``__dict__`` with every field in field order (defaults
for those not given), the given fields as the fields set, no extras, no private attributes.

Only classes where that is the whole story get it (no extras kept, no private attributes, no
post-init hook, no default factories, not frozen); the rest get pydantic's validator. A probe at
import compares a filled instance with a validated one and falls back to the validator everywhere if
a pydantic release ever keeps something else on an instance. tests/webhooks/test_parse_fastpath.py
compares every wrapper the parser makes with the one pydantic's validator makes of the same values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

U = TypeVar("U", bound=BaseModel)

# BaseModel's slots (``__dict__`` included) set through their descriptors: BaseModel.__setattr__ would
# run pydantic's assignment logic, and object.__setattr__ looks the name up on every call.
_SLOTS = BaseModel.__dict__
_NAMESPACE = {
    "new": object.__new__,
    "set_dict": _SLOTS["__dict__"].__set__,
    "set_fields_set": _SLOTS["__pydantic_fields_set__"].__set__,
    "set_extra": _SLOTS["__pydantic_extra__"].__set__,
    "set_private": _SLOTS["__pydantic_private__"].__set__,
}
_LITERALS = (type(None), bool, int, str)


def filler(cls: type[U], *names: str) -> Callable[..., U]:
    """A function making ``cls`` from the values of the fields ``names``, given positionally in that order.

    The values must be of their fields' types (they are not checked again); every required field of
    ``cls`` must be among ``names``. Unfit classes get ``cls``'s validator behind the same signature.
    """
    template = _template(cls)
    if (template is None or not _FILLS_LIKE_PYDANTIC or not set(names) <= template.keys()
            or not all(name in names or type(value) in _LITERALS for name, value in template.items())):
        return _validating(cls, names)
    return _generated(cls, names, template)


def _validating(cls: type[U], names: tuple[str, ...]) -> Callable[..., U]:
    validate = cls.__pydantic_validator__.validate_python

    def make(*values: Any) -> U:
        made: U = validate(dict(zip(names, values, strict=True)))
        return made

    return make


def _generated(cls: type[U], names: tuple[str, ...], template: dict[str, Any]) -> Callable[..., U]:
    # A function per class, as dataclasses make their __init__: the dict and the fields set are
    # literals in field order, so a call builds them without loops. The source holds only field names
    # (identifiers from the class) and literal defaults (None, bool, int, str reprs), never input.
    fields = ", ".join(f"{name!r}: {name if name in names else repr(value)}" for name, value in template.items())
    source = (
        f"def make({', '.join(names)}):\n"
        f"    model = new(cls)\n"
        f"    set_dict(model, {{{fields}}})\n"
        f"    set_fields_set(model, {{{', '.join(map(repr, names))}}})\n"
        f"    set_extra(model, None)\n"
        f"    set_private(model, None)\n"
        f"    return model\n"
    )
    namespace = {**_NAMESPACE, "cls": cls}
    exec(compile(source, f"<fill {cls.__qualname__}>", "exec"), namespace)
    make: Callable[..., U] = namespace["make"]
    return make


def _template(cls: type[BaseModel]) -> dict[str, Any] | None:
    """Every field of ``cls`` at its default (None for required ones), in field order; None when unfit."""
    if (cls.model_config.get("extra") == "allow" or cls.__private_attributes__
            or cls.__pydantic_post_init__ is not None or cls.model_config.get("frozen")):
        return None
    template: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if info.default_factory is not None:
            return None
        template[name] = None if info.is_required() else info.default
    return template


def _fills_like_pydantic() -> bool:
    # One probe at import: a model filled here and the same one validated by pydantic must agree on
    # everything pydantic keeps on an instance; if a pydantic release changes that, use the validator.
    class Probe(BaseModel):
        a: str | None = None
        b: Any = None
        c: int = 0
        d: str = "d"

    template = _template(Probe)
    if template is None:
        return False
    ours = _generated(Probe, ("b", "a"), template)([1], "x")
    theirs = Probe.__pydantic_validator__.validate_python({"b": [1], "a": "x"})
    return (list(ours.__dict__.items()) == list(theirs.__dict__.items())
            and ours.__pydantic_fields_set__ == theirs.__pydantic_fields_set__
            and ours.__pydantic_extra__ == theirs.__pydantic_extra__
            and ours.__pydantic_private__ == theirs.__pydantic_private__
            and ours == theirs)


_FILLS_LIKE_PYDANTIC = _fills_like_pydantic()
