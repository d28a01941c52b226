"""The CLI starts without loading the parts a command may not need (``wacloud --help`` took 1.4-2 s when
importing any ``wacloud.delivery`` module loaded the whole engine, its HTTP clients and psycopg)."""

from __future__ import annotations

import json
import subprocess
import sys

#: Modules a bare ``import wacloud.cli`` must not load: each command imports what it uses.
HEAVY = ("wacloud.delivery.outbox", "wacloud.delivery.worker", "wacloud.client", "wacloud.sandbox", "aiohttp",
         "fastapi", "uvicorn", "psycopg", "wacloud.gateway._app")


def _loaded_after(statement: str) -> set[str]:
    """The modules of HEAVY loaded in a fresh interpreter after ``statement``."""
    code = f"import sys\n{statement}\nimport json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_cli_loads_no_engine_at_start_up() -> None:
    assert _loaded_after("import wacloud.cli") == set()


def test_one_delivery_module_does_not_load_the_engine() -> None:
    assert _loaded_after("import wacloud.delivery.pacing") == set()


def test_the_engine_is_loaded_when_used() -> None:
    assert {"wacloud.delivery.outbox", "wacloud.client"} <= _loaded_after(
        "from wacloud.delivery import Outbox")
