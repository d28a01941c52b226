"""Old public names kept importable for one release, with a :class:`DeprecationWarning`.

A module lists its renames as ``{old: new}`` and forwards its module ``__getattr__`` here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any


def renamed(module: str, name: str, table: Mapping[str, str], resolve: Callable[[str], Any]) -> Any:
    """The object now called ``table[name]`` (looked up with ``resolve``), after warning that ``name`` is old.

    Raises :class:`AttributeError` for a name that is not in ``table``, as a module attribute lookup does.
    """
    new = table.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"{module}.{name} is renamed {new}; the old name will be removed in the next release",
        DeprecationWarning,
        stacklevel=3,
    )
    return resolve(new)
