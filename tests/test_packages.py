"""Each package shows its public names once, in ``__init__.__all__``; its ``_name`` modules stay inside it."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import pytest

import wacloud
from import_graph import build

SRC = Path(wacloud.__file__).parent
GRAPH = build(SRC.parent)
#: Deprecated shims: importing them warns (they are checked in tests/core/test_renamed_names.py).
SHIMS = frozenset({"wacloud.server", "wacloud.config"})
PACKAGES = sorted(m for m, p in GRAPH.modules.items() if p.name == "__init__.py" and m not in SHIMS)


def _is_private(module: str) -> bool:
    return any(part.startswith("_") and not part.startswith("__") for part in module.split("."))


def _package_of_private(module: str) -> str:
    """The package a private module belongs to: everything above its first ``_name`` part."""
    parts = module.split(".")
    first = next(i for i, part in enumerate(parts) if part.startswith("_") and not part.startswith("__"))
    return ".".join(parts[:first])


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_lists_its_exports_once_and_each_imports(package: str) -> None:
    mod = importlib.import_module(package)
    exported = getattr(mod, "__all__", None)
    assert exported is not None, f"{package}/__init__.py has no __all__"
    duplicates = sorted({name for name in exported if exported.count(name) > 1})
    assert not duplicates, f"{package}.__all__ lists these twice: {duplicates}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # an export must not be a deprecated alias
        missing = [name for name in exported if not hasattr(mod, name)]
    assert not missing, f"{package}.__all__ names what it cannot give: {missing}"


def test_private_modules_are_imported_only_inside_their_package() -> None:
    wrong = []
    for imp in GRAPH.imports:
        if not _is_private(imp.target) or imp.target == "wacloud._deprecation":
            continue
        owner = _package_of_private(imp.target)
        if imp.source != owner and not imp.source.startswith(owner + "."):
            wrong.append(f"{imp.source}:{imp.line} imports {imp.target} (private to {owner})")
    assert not wrong, "private modules used from outside their package:\n" + "\n".join(sorted(wrong))


def test_the_gateways_modules_are_private() -> None:
    assert (SRC / "gateway" / "__init__.py").is_file()
    public = sorted(p.name for p in (SRC / "gateway").glob("*.py") if not p.name.startswith("_"))
    assert public == [], public
