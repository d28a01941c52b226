"""Each public name means one thing; the old names keep working for one release, with a warning."""

from __future__ import annotations

import importlib

import pytest

#: (module, old name, new name) for every public rename.
RENAMES = [
    ("wacloud.client.core", "Flow", "Operation"),
    ("wacloud.webhooks", "Delivery", "ReceivedPayload"),
    ("wacloud.webhooks", "create_app", "create_webhook_app"),
    ("wacloud.webhooks.asgi", "create_app", "create_webhook_app"),
    ("wacloud.webhooks.base", "Contact", "WebhookContact"),
    ("wacloud.webhooks.models", "Contact", "WebhookContact"),
    ("wacloud.delivery", "Contact", "ContactRecord"),
    ("wacloud.delivery.model", "Contact", "ContactRecord"),
    ("wacloud.sandbox", "create_app", "create_sandbox_app"),
    ("wacloud.sandbox.testing", "Delivery", "ReceivedWebhook"),
]


@pytest.mark.parametrize(("module", "old", "new"), RENAMES)
def test_the_old_name_still_imports_with_a_deprecation_warning(module: str, old: str, new: str) -> None:
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=rf"{module}\.{old} is renamed {new}"):
        value = getattr(mod, old)
    assert value is getattr(mod, new)
    with pytest.warns(DeprecationWarning):
        exec(f"from {module} import {old}", {})


@pytest.mark.parametrize(("module", "old", "new"), RENAMES)
def test_only_the_new_name_is_exported(module: str, old: str, new: str) -> None:
    exported = getattr(importlib.import_module(module), "__all__", None)
    if exported is not None:
        assert old not in exported
        if module.count(".") == 1:  # a package: its __init__ lists the new name
            assert new in exported


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    mod = importlib.import_module("wacloud.delivery")
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        mod.Nope  # noqa: B018


def test_each_name_is_defined_once() -> None:
    """No two public classes or app factories of wacloud share a name (renames above keep it so)."""
    import ast
    from pathlib import Path

    import wacloud

    seen: dict[str, list[str]] = {}
    for path in Path(wacloud.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            is_def = isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            if is_def and not node.name.startswith("_"):
                seen.setdefault(node.name, []).append(str(path))
    watched = ["SendRequest", "SentMessage", "Contact", "create_app", "Pacing", "Dispatcher", "Delivery", "call"]
    twice = {name: where for name in watched if len(where := seen.get(name, [])) > 1}
    assert not twice, twice


@pytest.mark.parametrize(("old", "names"), [
    ("wacloud.server", ["create_app"]),
    ("wacloud.config", ["Settings", "load_settings", "ConfigError", "GRAPH_URL"]),
])
def test_the_old_gateway_modules_warn_and_hand_out_the_gateways_names(old: str, names: list[str]) -> None:
    import subprocess
    import sys

    # A fresh interpreter: the warning is raised once, when the shim module is first imported.
    code = (
        "import warnings, wacloud.gateway as g\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        f"    import {old} as old\n"
        "assert any(issubclass(x.category, DeprecationWarning) and 'wacloud.gateway' in str(x.message) for x in w)\n"
        f"for name in {names!r}:\n"
        "    assert getattr(old, name) is getattr(g, name), name\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
