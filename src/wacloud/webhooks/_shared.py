"""Shared instances of the small immutable webhook models that repeat from payload to payload.

Every ``messages`` webhook of a business number carries the same ``metadata``; every status of a
utility message the same ``pricing``; a conversation's origin and a customer's profile repeat too.
Building each of them again costs pydantic-core a model instance per payload (~0.4-0.6 µs). These
models are frozen (nothing in wacloud assigns to them; equality, ``model_dump()`` and the fields set
are what they were), so one instance can stand for every equal value: the one-pass schemas
(webhooks/_fastpath.py) look a value up by its keys and values and validate it only when they have not
seen it (docs/benchmarks.md, "sixth pass"). :func:`compiled` builds those schemas as given: pydantic-core
would otherwise reuse the enclosing models' own validators and skip the lookups.

A value is shared only when the instance validation would make of it is the same instance for every
input that looks it up. The key is the value's keys then its values, in order (the keys set and extras
included, so fields set and extras match); a key is stored only when its values are strings or ``None``, or
``True``/``False`` in a field declared ``bool``: an input equal to such a key differs from it at most
by ``1``/``1.0`` for ``True`` (``0``/``0.0`` for ``False``) in that bool field, which validation turns
into the same ``bool``. Values with nested objects or lists are never shared (not hashable). Each memo
holds at most :data:`SIZE` keys and starts over when full, so hostile payloads cannot grow it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import SchemaValidator
from pydantic_core import core_schema as cs

M = TypeVar("M", bound=BaseModel)

#: Keys kept per class before its memo starts over.
SIZE = 512


def _bool_keys(cls: type[BaseModel]) -> frozenset[str]:
    # The input keys (name and alias) of the fields declared bool or bool | None.
    keys: set[str] = set()
    for name, info in cls.model_fields.items():
        if info.annotation in (bool, bool | None):
            keys.add(name)
            if info.alias:
                keys.add(info.alias)
    return frozenset(keys)


def _storable(items: dict[str, Any], bools: frozenset[str]) -> bool:
    for name, value in items.items():
        if type(value) is str or value is None:
            continue
        if type(value) is bool and name in bools:
            continue
        return False
    return True


def shared(cls: type[M], size: int = SIZE) -> Callable[[Any], M]:
    """``cls``'s validator, giving one shared instance for equal plain values (``cls`` must be frozen).

    Raises what the validator raises (``pydantic.ValidationError``) for a value that does not validate.
    """
    if not cls.model_config.get("frozen"):
        raise TypeError(f"{cls.__qualname__} is not frozen: its instances cannot be shared")
    validate = cls.__pydantic_validator__.validate_python
    bools = _bool_keys(cls)
    memo: dict[tuple[Any, ...], M] = {}

    def get(value: Any) -> M:
        if type(value) is not dict:
            made: M = validate(value)
            return made
        # The keys then the values, in order: one flat tuple is cheaper to build than one of pairs,
        # and two values give equal keys only when both their keys and their values are equal.
        key = (*value, *value.values())
        try:
            found = memo.get(key)
        except TypeError:  # a nested object or list: not shared
            made = validate(value)
            return made
        if found is not None:
            return found
        made = validate(value)
        if _storable(value, bools):
            if len(memo) >= size:
                memo.clear()
            memo[key] = made
        return made

    return get


def sharing(schema: cs.CoreSchema, classes: dict[type[BaseModel], Callable[[Any], Any]]) -> cs.CoreSchema:
    """A copy of ``schema`` where the model schema of each class in ``classes`` calls its shared getter.

    Only the path down to a replaced model is copied; the rest of the schema is the model's own.
    """
    replaced = _replace(schema, classes)
    return schema if replaced is None else replaced


def _replace(node: Any, classes: dict[type[BaseModel], Callable[[Any], Any]]) -> Any:
    """``node`` with the replacements made, or None when nothing under it changed."""
    if isinstance(node, dict):
        if node.get("type") == "model" and node.get("cls") in classes:
            # The ref is kept: a definition-ref elsewhere in the schema may point at this model.
            return cs.no_info_plain_validator_function(classes[node["cls"]], ref=node.get("ref"))
        changed = {key: new for key, value in node.items() if (new := _replace(value, classes)) is not None}
        return {**node, **changed} if changed else None
    if isinstance(node, list):
        items = [_replace(value, classes) for value in node]
        if all(item is None for item in items):
            return None
        return [value if item is None else item for value, item in zip(node, items, strict=True)]
    return None


def compiled(schema: cs.CoreSchema) -> SchemaValidator:
    """The validator of ``schema``, built from the schema as given, nested models included.

    pydantic-core reuses a finished model's own validator for a ``model`` node of its class (its
    "prebuilt" validators), which would drop the replacements made by :func:`sharing` (and the sender
    check left out of the message schemas, webhooks/_fastpath.py). A class counts as finished when
    ``__pydantic_complete__`` is true in its ``__dict__``; the models met in ``schema`` are marked
    unfinished while it is built, then restored. Unchanged nodes are the models' own schemas, so they
    validate exactly as the reused validators would.
    """
    # Only classes marked finished in their own __dict__ are touched (and set back as they were).
    finished = {cls for cls in _model_classes(schema) if cls.__dict__.get("__pydantic_complete__") is True}
    try:
        for cls in finished:
            type.__setattr__(cls, "__pydantic_complete__", False)
        return SchemaValidator(schema)
    finally:
        for cls in finished:
            type.__setattr__(cls, "__pydantic_complete__", True)


def _model_classes(node: Any) -> Iterator[type]:
    if isinstance(node, dict):
        if node.get("type") == "model" and isinstance(node.get("cls"), type):
            yield node["cls"]
        for value in node.values():
            yield from _model_classes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _model_classes(value)
