"""A dedicated worker process keeps its start-up objects out of the collector's full collections."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import gc, json
from wacloud.delivery._gc import freeze_start_up
before = gc.get_freeze_count()
first, second = freeze_start_up(), freeze_start_up()
print(json.dumps([before, first, second, gc.get_freeze_count()]))
"""


def test_start_up_objects_are_frozen_once_per_process() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=60)
    before, first, second, frozen = json.loads(out.stdout)
    assert (before, first, second) == (0, True, False)
    assert frozen > 1000  # the modules, classes and functions of start-up
