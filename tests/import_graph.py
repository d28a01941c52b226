"""The module import graph of wacloud, read from the source (nothing is imported).

Every import counts: at module level, inside functions, and under ``if TYPE_CHECKING:``. An import of a
package is an edge to that package's ``__init__`` module (named like the package); ``from pkg import sub``
is an edge to ``pkg`` (whose ``__init__`` runs first) and to ``pkg.sub`` when ``sub`` is a module;
``import pkg.sub`` is an edge to ``pkg.sub`` only (the parents' ``__init__`` files are not counted: every
module would otherwise depend on the root package).

Run ``python -m tests.import_graph [SRC_DIR]`` from the repository root (SRC_DIR defaults to ``src``, the
directory that holds the ``wacloud`` package) to print the module count, the edge count, the import cycles
(strongly connected groups of modules) and the largest modules.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = "wacloud"


@dataclass(frozen=True)
class Import:
    """One import statement's target, with where it sits."""

    source: str  # importing module, e.g. "wacloud.client.core"
    target: str  # imported module, e.g. "wacloud.errors"
    kind: str  # "top", "function" or "type-checking"
    line: int


@dataclass
class Graph:
    """Modules (dotted name -> file) and every import between them."""

    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)

    def edges(self) -> dict[str, set[str]]:
        """Module -> modules it imports (self-imports dropped)."""
        out: dict[str, set[str]] = {m: set() for m in self.modules}
        for imp in self.imports:
            if imp.target != imp.source:
                out[imp.source].add(imp.target)
        return out

    def cycles(self) -> list[list[str]]:
        """Strongly connected groups of two or more modules (each one holds at least one import cycle)."""
        return [sorted(c) for c in _sccs(self.edges()) if len(c) > 1]


def module_name(pkg_dir: Path, path: Path) -> str:
    """Dotted module name of ``path`` inside the package directory ``pkg_dir``."""
    rel = path.relative_to(pkg_dir.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_ids(tree: ast.Module) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                for sub in node.body:
                    ids.update(id(n) for n in ast.walk(sub))
    return ids


def _resolve_relative(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def build(src: Path) -> Graph:
    """Parse every module of the ``wacloud`` package under ``src``."""
    pkg_dir = src / ROOT
    graph = Graph()
    for path in sorted(pkg_dir.rglob("*.py")):
        graph.modules[module_name(pkg_dir, path)] = path
    for name, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top = {id(n) for n in tree.body}
        typing_only = _type_checking_ids(tree)
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = _resolve_relative(name, path.name == "__init__.py", node)
                if base != ROOT and not base.startswith(ROOT + "."):
                    continue
                # ``from pkg import x`` runs ``pkg/__init__`` first, whether x is a submodule or a name.
                targets.append(base)
                targets.extend(f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in graph.modules)
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name == ROOT or a.name.startswith(ROOT + ".")]
            else:
                continue
            kind = "type-checking" if id(node) in typing_only else "top" if id(node) in top else "function"
            for target in targets:
                while target not in graph.modules and "." in target:
                    target = target.rsplit(".", 1)[0]  # ``import a.b.attr`` style: the nearest module
                graph.imports.append(Import(name, target, kind, node.lineno))
    return graph


def _sccs(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (deep graphs would overflow the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(edges[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop(0)
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges.get(nxt, ()))))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                result.append(comp)
    return result


def report(src: Path, largest: int = 15) -> str:
    """The text ``python -m tests.import_graph`` prints."""
    graph = build(src)
    edges = graph.edges()
    by_kind: dict[str, int] = {}
    for imp in graph.imports:
        if imp.target != imp.source:
            by_kind[imp.kind] = by_kind.get(imp.kind, 0) + 1
    cycles = graph.cycles()
    lines = [
        f"modules: {len(graph.modules)}",
        f"edges: {sum(len(v) for v in edges.values())} (distinct module pairs; import statements: "
        + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items()))
        + ")",
        f"cycles: {len(cycles)}",
    ]
    for cycle in cycles:
        lines.append(f"  - {len(cycle)} modules: " + ", ".join(cycle))
    sizes = sorted(
        ((len(p.read_text(encoding="utf-8").splitlines()), m) for m, p in graph.modules.items()), reverse=True
    )
    lines.append("largest modules (lines):")
    lines.extend(f"  {n:5d} {m}" for n, m in sizes[:largest])
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Print the report for the source directory given (default ``src``); exit 1 when there are cycles."""
    src = Path(argv[0]) if argv else Path("src")
    print(report(src))
    return 1 if build(src).cycles() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
