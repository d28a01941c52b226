"""``python -m tests.events.gateway_main --port P``: ``wacloud serve`` on that port (settings from the env)."""

from __future__ import annotations

import sys


def main() -> None:
    """``--port P`` then ``wacloud serve``."""
    port = sys.argv[sys.argv.index("--port") + 1]
    from wacloud.cli import main as cli

    sys.argv = ["wacloud", "serve", "--port", port]
    cli()


if __name__ == "__main__":
    main()
