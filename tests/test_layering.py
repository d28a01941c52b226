"""The dependency direction is one way: each part imports only from its own layer or below, and no cycles."""

from __future__ import annotations

from pathlib import Path

import wacloud
from import_graph import Graph, build

SRC = Path(wacloud.__file__).parent

#: Lower numbers are lower layers. A part may import its own layer's siblings only where listed in SIDEWAYS.
LAYERS: dict[str, int] = {
    "_deprecation": 0,  # old names kept for one release (a warning and a lookup)
    "_json": 0,  # compact JSON text for the stores (msgspec, json.dumps as the fallback)
    "limits": 0,
    "errors": 0,
    "template_rules": 0,
    "identity": 0,
    "events": 2,  # the event contract and log, below the parts that write events (delivery, gateway)
    "graph_versions": 0,
    "phone": 1,
    "messages": 1,
    "templates": 1,
    "client": 2,
    "webhooks": 2,
    "sandbox": 2,
    "flows": 3,
    "delivery": 3,
    "bot": 4,  # the bot framework: on webhooks (receiving) and delivery (replies through the outbox)
    "gateway": 5,
    "server": 5,  # deprecated shim of wacloud.gateway, for one release
    "config": 5,  # deprecated shim of the gateway's settings, for one release
    "cli": 5,
    "__main__": 6,
}
#: Same-layer imports that are allowed, and why.
SIDEWAYS: dict[tuple[str, str], str] = {
    ("errors", "limits"): "the error table may name limits",
    ("limits", "errors"): "limit checks raise ValidationError",
    ("identity", "errors"): "an address that is neither a phone number nor a BSUID raises ValidationError",
    ("template_rules", "limits"): "the template rule table reads its bounds from the limit table",
    ("cli", "gateway"): "the CLI starts the gateway and manages its keys",
    ("server", "gateway"): "the deprecated wacloud.server hands out wacloud.gateway.create_app",
    ("config", "gateway"): "the deprecated wacloud.config hands out the gateway's settings",
}
#: Modules that sit lower than the rest of their part.
MODULE_LAYERS: dict[str, int] = {
    "webhooks.signature": 1,  # a pure HMAC helper the sandbox signs with
}
#: Imports that cross upwards on purpose (any kind: module level, in a function, under TYPE_CHECKING), and why.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    ("sandbox.testing", "client"): "test helper hands out a Client already pointed at the sandbox",
    ("webhooks", "bot"): "deprecated aliases (wacloud.webhooks.Application, filters…) for one release",
}


def _graph() -> Graph:
    return build(SRC.parent)


def _short(module: str) -> str:
    """``wacloud.client.core`` -> ``client.core`` (the root package itself is "")."""
    return module.removeprefix("wacloud").removeprefix(".")


def _part(module: str) -> str:
    return module.split(".", 1)[0]


def _layer(module: str) -> int:
    return MODULE_LAYERS.get(module, LAYERS.get(_part(module), 0))


def test_every_part_has_a_layer() -> None:
    parts = {_part(_short(m)) for m in _graph().modules} - {""}
    assert parts <= set(LAYERS), f"add these parts to LAYERS: {sorted(parts - set(LAYERS))}"


def test_imports_go_downwards_only() -> None:
    """Every import counts: at module level, inside functions and under ``TYPE_CHECKING``."""
    wrong: list[str] = []
    used: set[tuple[str, str]] = set()
    for imp in _graph().imports:
        module, target = _short(imp.source), _short(imp.target)
        if not module:
            continue  # the package root re-exports lazily (its imports are for type checkers only)
        src, dst = _part(module), _part(target)
        if not target or dst == src:
            continue
        if _layer(target) < _layer(module):
            continue
        if LAYERS[dst] == LAYERS[src] and (src, dst) in SIDEWAYS:
            continue
        if (module, dst) in ALLOWED_UPWARD:
            used.add((module, dst))
            continue
        wrong.append(f"{module}:{imp.line} imports wacloud.{target} ({imp.kind})")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))
    assert used == set(ALLOWED_UPWARD), f"stale ALLOWED_UPWARD entries: {sorted(set(ALLOWED_UPWARD) - used)}"


def test_no_import_cycles_between_modules() -> None:
    """Zero cycles, counting every import; importing a package is an edge to its ``__init__``."""
    cycles = _graph().cycles()
    assert not cycles, "import cycles (run python -m tests.import_graph):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_the_graph_sees_imports_in_functions_and_under_type_checking() -> None:
    kinds = {imp.kind for imp in _graph().imports}
    assert kinds == {"top", "function", "type-checking"}


#: Everything outside its own package the sandbox may import: the shared tables, the HMAC helper, and the
#: neutral template rule table (the emulator validates on its own; it never reuses the client's checks), and the
#: helper that keeps renamed names importable for one release.
SANDBOX_MAY_IMPORT = frozenset({"limits", "errors", "webhooks.signature", "template_rules", "_deprecation"})


def test_sandbox_validates_on_its_own() -> None:
    """The emulator shares only the tables with the client: it must not reuse the client's validation.

    Imports inside functions and under TYPE_CHECKING count too, except the listed lazy upward ones."""
    wrong: list[str] = []
    for imp in _graph().imports:
        module, target = _short(imp.source), _short(imp.target)
        if not target:
            continue  # ``from wacloud import limits`` runs the root __init__, which loads nothing at run time
        if _part(module) != "sandbox" or _part(target) == "sandbox" or target in SANDBOX_MAY_IMPORT:
            continue
        if (module, _part(target)) in ALLOWED_UPWARD:
            continue
        wrong.append(f"{module}:{imp.line} imports wacloud.{target} ({imp.kind})")
    assert not wrong, "the sandbox reaches past its allowance:\n" + "\n".join(sorted(wrong))


def test_the_graph_counts_package_inits_and_hidden_imports(tmp_path: Path) -> None:
    """On a made-up package: a sibling imported through its package is an edge to the package's __init__,
    and imports in functions and under TYPE_CHECKING are edges too, so these circles are found."""
    pkg = tmp_path / "wacloud" / "part"
    pkg.mkdir(parents=True)
    (tmp_path / "wacloud" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from wacloud.part import Thing\n"
    )
    (tmp_path / "wacloud" / "low.py").write_text("def f():\n    from wacloud import part\n")
    (pkg / "__init__.py").write_text("from wacloud.part.a import Thing\n")
    (pkg / "a.py").write_text("from wacloud.part import b\nThing = 1\n")
    (pkg / "b.py").write_text("import wacloud.low as low\n")
    graph = build(tmp_path)
    edges = graph.edges()
    assert edges["wacloud.part.a"] == {"wacloud.part", "wacloud.part.b"}
    assert edges["wacloud"] == {"wacloud.part"}
    assert {(i.source, i.kind) for i in graph.imports} >= {("wacloud", "type-checking"), ("wacloud.low", "function")}
    assert graph.cycles() == [["wacloud", "wacloud.low", "wacloud.part", "wacloud.part.a", "wacloud.part.b"]]
