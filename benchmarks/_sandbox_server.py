"""Run the sandbox in its own process for a benchmark: ``python -m benchmarks._sandbox_server --port P``.

A separate process keeps the emulator's CPU out of the measured client's figures. The configuration is
``SandboxConfig`` (``wacloud.sandbox.build_config``) with the benchmark credentials; any other
field can be set with ``--set field=<json>``.
"""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks._harness import SANDBOX_APP_SECRET, SANDBOX_PHONE_ID, SANDBOX_TOKEN, SANDBOX_WABA_ID


def build_app(options: dict[str, Any]) -> Any:
    """The sandbox ASGI app for ``options`` (``SandboxConfig`` field names; ``faults`` may be a dict)."""
    from wacloud.sandbox import build_config, create_sandbox_app

    return create_sandbox_app(build_config(None, **options))


def main() -> None:
    """Parse flags and serve the sandbox on 127.0.0.1 until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=JSON",
        help="any other SandboxConfig field, value as JSON (e.g. --set status_delay_s=0)",
    )
    args = parser.parse_args()
    import json

    options: dict[str, Any] = {
        "token": SANDBOX_TOKEN,
        "access_token": SANDBOX_TOKEN,
        "phone_number_id": SANDBOX_PHONE_ID,
        "waba_id": SANDBOX_WABA_ID,
        "app_secret": SANDBOX_APP_SECRET,
        "seed": args.seed,
    }
    # Flags not given keep the config's defaults; a ``--set field=null`` is kept (it turns a step off,
    # e.g. the status webhooks), so only these are dropped when unset.
    options.update({k: v for k, v in {"mps": args.mps, "webhook_url": args.webhook_url}.items() if v is not None})
    for item in args.set:
        key, _, value = item.partition("=")
        options[key] = json.loads(value)
    app = build_app(options)

    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="auto")


if __name__ == "__main__":
    main()
