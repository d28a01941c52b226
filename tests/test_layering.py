"""The dependency direction is one way: each part imports only from its own layer or below, and no cycles."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import wacloud

SRC = Path(wacloud.__file__).parent

#: Lower numbers are lower layers. A part may import its own layer's siblings only where listed in SIDEWAYS.
LAYERS: dict[str, int] = {
    "limits": 0,
    "errors": 0,
    "template_rules": 0,
    "identity": 0,
    "graph_versions": 0,
    "phone": 1,
    "messages": 1,
    "templates": 1,
    "client": 2,
    "webhooks": 2,
    "sandbox": 2,
    "flows": 3,
    "delivery": 3,
    "config": 3,
    "bot": 4,  # the bot framework: on webhooks (receiving) and delivery (replies through the outbox)
    "server": 5,
    "cli": 5,
    "__main__": 6,
}
#: Same-layer imports that are allowed, and why.
SIDEWAYS: dict[tuple[str, str], str] = {
    ("errors", "limits"): "the error table may name limits",
    ("limits", "errors"): "limit checks raise ValidationError",
    ("identity", "errors"): "an address that is neither a phone number nor a BSUID raises ValidationError",
    ("template_rules", "limits"): "the template rule table reads its bounds from the limit table",
    ("cli", "server"): "the CLI starts the gateway server and manages its keys",
}
#: Modules that sit lower than the rest of their part.
MODULE_LAYERS: dict[str, int] = {
    "webhooks.signature": 1,  # a pure HMAC helper the sandbox signs with
}
#: Lazy imports (inside functions) that cross upwards on purpose.
LAZY_UPWARD: dict[tuple[str, str], str] = {
    ("sandbox.testing", "client"): "test helper hands out a Client already pointed at the sandbox",
    ("webhooks", "bot"): "deprecated aliases (wacloud.webhooks.Application, filters…) for one release",
}


def _is_module(dotted: str) -> bool:
    rel = Path(*dotted.split(".")[1:])
    return (SRC / rel).with_suffix(".py").is_file() or (SRC / rel / "__init__.py").is_file()


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported wacloud module, is it at module level) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # Only runtime imports at module level count as "module level"; ``if TYPE_CHECKING:`` blocks don't run.
    top_level = {id(node) for node in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from wacloud.x import y`` is an import of the submodule x.y when there is one, else of x.
            subs = [f"{node.module}.{a.name}" for a in node.names]
            names = [m for m in subs if _is_module(m)]
            if len(names) < len(subs):
                names.append(node.module)
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            if name.startswith("wacloud."):
                found.append((name.removeprefix("wacloud."), id(node) in top_level))
    return found


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__").removesuffix("__init__")


def _part(module: str) -> str:
    return module.split(".", 1)[0]


def _layer(module: str) -> int:
    return MODULE_LAYERS.get(module, LAYERS[_part(module)])


def test_every_part_has_a_layer() -> None:
    parts = {_part(_module(p)) for p in SRC.rglob("*.py")} - {""}
    assert parts <= set(LAYERS), f"add these parts to LAYERS: {sorted(parts - set(LAYERS))}"


def test_imports_go_downwards_only() -> None:
    wrong: list[str] = []
    for path in SRC.rglob("*.py"):
        module = _module(path)
        if not module:
            continue  # the package root re-exports lazily
        src = _part(module)
        for target, module_level in _imports(path):
            dst = _part(target)
            if dst == src or dst not in LAYERS:
                continue
            if _layer(target) < LAYERS[src]:
                continue
            if LAYERS[dst] == LAYERS[src] and (src, dst) in SIDEWAYS:
                continue
            if not module_level and (module, dst) in LAZY_UPWARD:
                continue
            wrong.append(f"{module} imports wacloud.{target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles_between_modules() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    modules = {_module(p) for p in SRC.rglob("*.py")}
    for path in SRC.rglob("*.py"):
        for target, module_level in _imports(path):
            if module_level and target in modules and target != _module(path):
                graph[_module(path)].add(target)
    seen: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> None:
        if node in stack:
            cycle = [*stack[stack.index(node):], node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in seen:
            return
        stack.append(node)
        for nxt in sorted(graph[node]):
            visit(nxt)
        stack.pop()
        seen.add(node)

    for node in sorted(graph):
        visit(node)


#: Everything outside its own package the sandbox may import: the shared tables, the HMAC helper, and the
#: neutral template rule table (the emulator validates on its own; it never reuses the client's checks).
SANDBOX_MAY_IMPORT = frozenset({"limits", "errors", "webhooks.signature", "template_rules"})


def test_sandbox_validates_on_its_own() -> None:
    """The emulator shares only the tables with the client: it must not reuse the client's validation.

    Imports inside functions and under TYPE_CHECKING count too, except the listed lazy upward ones."""
    wrong: list[str] = []
    for path in (SRC / "sandbox").rglob("*.py"):
        module = _module(path)
        for target, module_level in _imports(path):
            if _part(target) == "sandbox" or target in SANDBOX_MAY_IMPORT:
                continue
            if not module_level and (module, _part(target)) in LAZY_UPWARD:
                continue
            wrong.append(f"{module} imports wacloud.{target}")
    assert not wrong, "the sandbox reaches past its allowance:\n" + "\n".join(sorted(wrong))
