"""The sandbox package's own import graph has no cycles, counting imports inside functions and under TYPE_CHECKING.

Run as a script to print the graph and its cycles::

    python tests/sandbox/test_import_graph.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import wacloud.sandbox

PACKAGE = "wacloud.sandbox"
ROOT = Path(wacloud.sandbox.__file__).parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join([PACKAGE, *parts])


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str | None:
    if node.level == 0:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def import_graph() -> dict[str, set[str]]:
    """Every sandbox module -> the sandbox modules it imports anywhere (top level, functions, TYPE_CHECKING)."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, node, path.name == "__init__.py")
                if base is None:
                    continue
                # ``from pkg import sub`` imports the submodule when there is one.
                subs = [f"{base}.{a.name}" for a in node.names]
                targets = [s for s in subs if s in modules] or [base]
                if len(targets) < len(subs):
                    targets.append(base)
            for target in targets:
                # ``import a.b.c`` (or importing a submodule) runs the parent packages too, but the parent of
                # every sandbox module is the package root, whose own imports are counted where it is the source.
                if target in modules and target != module:
                    graph[module].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (each is one import circle), largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def strong(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(groups, key=len, reverse=True)


def test_no_import_cycles_inside_the_sandbox() -> None:
    found = cycles(import_graph())
    assert not found, "import circles in the sandbox:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_the_graph_sees_function_level_and_type_checking_imports() -> None:
    """The checker itself must count the imports that only run later, or it would miss half the circles."""
    tree = ast.parse((ROOT / "__init__.py").read_text(encoding="utf-8"))
    lazy = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n not in tree.body]
    assert lazy, "the package root no longer imports lazily; pick another witness"
    graph = import_graph()
    for node in lazy:
        assert node.module in graph[PACKAGE], f"the lazy import of {node.module} was not seen"


def test_internal_modules_are_private_and_small() -> None:
    """Only the package root and the pytest plugin are public; no module grows past 600 lines."""
    public = sorted(p.name for p in ROOT.glob("*.py") if not p.name.startswith("_"))
    assert public == ["testing.py"], public
    big = {p.name: n for p in ROOT.glob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert not big, big


def test_the_public_names_are_listed_once_and_import() -> None:
    exported = wacloud.sandbox.__all__
    assert len(exported) == len(set(exported))
    # What users could import before the package was split keeps working.
    assert {"Faults", "SandboxConfig", "create_sandbox_app", "serve"} <= set(exported)
    for name in exported:
        assert getattr(wacloud.sandbox, name) is not None, name


def main() -> None:
    graph = import_graph()
    short = len(PACKAGE) + 1
    for module in sorted(graph):
        deps = ", ".join(sorted(d[short:] for d in graph[module]))
        print(f"{module[short:] or '__init__'} -> {deps}")
    found = cycles(graph)
    print(f"\n{len(found)} import circle(s):")
    for group in found:
        print(f"  {len(group)} modules: " + ", ".join(m[short:] for m in group))


if __name__ == "__main__":
    sys.exit(main())
