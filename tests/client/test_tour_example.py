"""The README's client tour (examples/client_tour.py) runs as written against its own sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "client_tour.py"


def test_client_tour_runs_and_shows_each_step() -> None:
    out = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120, check=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("template accepted: wamid.")
    assert lines[1].startswith("window closed: 131047 ")
    assert lines[2] == "refused locally: text.body 5000 4096"
    assert lines[3].startswith("uploaded and downloaded ")
    assert lines[4] == "the async client has the same methods, awaited"
