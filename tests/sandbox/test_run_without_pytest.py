"""``run_sandbox()`` serves plain scripts on a base install (no pytest, no dev extra)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["pytest"] = None  # as on a base install: importing pytest fails
from wacloud.sandbox.testing import run_sandbox
import wacloud.sandbox.testing as testing
assert not hasattr(testing, "sandbox"), "fixtures defined without pytest"
with run_sandbox() as sandbox:
    sent = sandbox.client().send_template("+16505551234", "hello_world", "en_US")
    print(sent.wa_id)
"""


def test_run_sandbox_works_without_pytest() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "16505551234"
