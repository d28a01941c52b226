"""A bot for ``wacloud serve --app tests.reliability.gateway_bot:record`` that logs what it handled.

``python -m tests.reliability.gateway_bot --port P`` runs ``wacloud serve`` on that port (the gateway
reads everything else from ``WACLOUD_*``). The bot waits ``WACLOUD_TEST_DELAY_MS`` (so a kill can land
while updates are being processed), then appends the update's ``dedup_key`` to ``WACLOUD_TEST_EFFECTS``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

_FD: int | None = None


async def record(update: Any) -> None:
    """The bot: wait a little, then log the update's key (one ``write``: it survives SIGKILL)."""
    global _FD
    await asyncio.sleep(float(os.environ.get("WACLOUD_TEST_DELAY_MS", "0")) / 1000)
    if _FD is None:
        _FD = os.open(os.environ["WACLOUD_TEST_EFFECTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.write(_FD, f"{update.dedup_key}\n".encode())


def main() -> None:
    """``--port P`` then ``wacloud serve``."""
    port = sys.argv[sys.argv.index("--port") + 1]
    from wacloud.cli import main as cli

    sys.argv = ["wacloud", "serve", "--port", port, "--app", "tests.reliability.gateway_bot:record", "--no-workers"]
    cli()


if __name__ == "__main__":
    main()
