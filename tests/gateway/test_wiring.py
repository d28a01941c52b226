"""The gateway's parts are joined by typed contracts: real classes, a bot protocol, no guessing."""

from __future__ import annotations

import ast
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest

import wacloud
from wacloud.gateway._app import create_app
from wacloud.gateway._bot import BotApp, FunctionBot, as_bot
from wacloud.gateway._runtime import Gateway
from wacloud.gateway._settings import load_settings
from wacloud.gateway._workers import WorkerGroup
from wacloud.webhooks import Application

from .conftest import APP_SECRET, VERIFY_TOKEN

SRC = Path(wacloud.__file__).parent


def _mentions_any(hint: Any) -> bool:
    if hint is Any:
        return True
    return any(_mentions_any(arg) for arg in typing.get_args(hint))


def test_no_field_of_the_gateway_is_typed_any() -> None:
    hints = typing.get_type_hints(Gateway)
    assert {"outbox", "store", "client", "bot_client", "bot", "sandbox_app", "webhook_app", "workers"} <= set(hints)
    loose = [name for name, hint in hints.items() if _mentions_any(hint)]
    assert not loose, f"Any-typed gateway fields: {loose}"
    assert "extras" not in hints
    assert hints["workers"] is WorkerGroup


def test_no_class_is_defined_inside_a_function_in_the_gateway_or_the_cli() -> None:
    found = []
    for package in ("server", "cli"):
        for path in sorted((SRC / package).glob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for fn in ast.walk(tree):
                if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    found += [f"{package}/{path.name}:{node.lineno} {node.name} in {fn.name}()"
                              for node in ast.walk(fn) if isinstance(node, ast.ClassDef)]
    assert not found, found


def test_an_application_is_a_bot_and_a_function_is_adapted() -> None:
    app = Application()
    assert isinstance(app, BotApp) and as_bot(app) is app
    seen: list[Any] = []
    bot = as_bot(seen.append)
    assert isinstance(bot, FunctionBot) and isinstance(bot, BotApp)
    with pytest.raises(RuntimeError, match="bot Application or a function"):
        as_bot(42)


def _settings(tmp_path: Path, **extra: Any) -> Any:
    return load_settings(database_url=f"sqlite:///{tmp_path / 'gw.db'}", port=18996, app_secret=APP_SECRET,
                         verify_token=VERIFY_TOKEN, workers=False, **extra)


def test_the_bot_answers_with_the_gateways_client_unless_it_has_its_own(tmp_path: Path) -> None:
    gw: Gateway = create_app(_settings(tmp_path)).state.gateway
    plain = gw.attach_bot(Application())
    assert plain.client is gw.bot_client and gw.bot is plain
    own = Application(client=gw.client)
    assert gw.attach_bot(own).client is gw.client


def test_an_app_that_is_not_a_bot_is_refused_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("not_a_bot_mod")
    module.config = {"a": 1}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "not_a_bot_mod", module)
    with pytest.raises(RuntimeError, match="--app must name a bot Application or a function"):
        create_app(_settings(tmp_path, app="not_a_bot_mod:config"))
