"""Webhook receivers under test, each served by uvicorn in its own process on loopback.

    python -m benchmarks._receiver_server --port P --kind ours|pywa|floor [--store sqlite:///x.db]

- ``ours``: wacloud's Starlette webhook app (signature check, parse, de-duplication), in-memory stores,
  or with ``--store`` the durable store from ``wacloud.delivery.open_store`` (the raw body is written
  before the 200, then processed).
- ``pywa``: pywa's own FastAPI-mode server (``WhatsApp(server=FastAPI(), ...)``, signature validation on),
  with no-op handlers so each update is parsed and dispatched as in a real bot.
- ``floor``: a bare Starlette route that checks the HMAC, ``json.loads`` the body and answers 200; what
  any Python receiver on this stack costs at minimum.

All answer on ``/webhook``, and ``GET /_stats`` reports how many updates the handlers saw.
"""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from benchmarks._harness import SANDBOX_APP_SECRET

VERIFY_TOKEN = "bench-verify"
PATH = "/webhook"
HANDLED = {"updates": 0}


def floor_app(secret: str) -> Any:
    """HMAC + JSON parse + 200, nothing else."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from wacloud.webhooks.signature import HEADER, verify

    async def webhook(request: Request) -> PlainTextResponse:
        body = await request.body()
        if not verify(body, request.headers.get(HEADER), secret):
            return PlainTextResponse("bad signature", status_code=401)
        json.loads(body)
        HANDLED["updates"] += 1
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(PATH, webhook, methods=["POST"])])


def pywa_app(secret: str) -> Any:
    """pywa's FastAPI-mode receiver with a no-op handler for every update kind."""
    import fastapi
    from pywa import WhatsApp

    from benchmarks.corpus import PHONE_NUMBER_ID, WABA_ID

    app = fastapi.FastAPI()
    wa = WhatsApp(
        phone_id=PHONE_NUMBER_ID,
        waba_id=WABA_ID,
        server=app,
        verify_token=VERIFY_TOKEN,
        app_secret=secret,
        validate_updates=True,
        webhook_endpoint=PATH,
    )

    def count(_: Any, __: Any) -> None:
        HANDLED["updates"] += 1

    for name in (
        "on_message",
        "on_message_status",
        "on_callback_button",
        "on_callback_selection",
        "on_flow_completion",
        "on_template_status_update",
        "on_template_quality_update",
        "on_template_category_update",
        "on_account_update",
        "on_user_marketing_preferences",
        "on_phone_number_change",
        "on_edited_message",
        "on_deleted_message",
        "on_outgoing_message",
    ):
        decorator = getattr(wa, name, None)
        if decorator is not None:
            decorator()(count)
    return app


def ours_app(secret: str, store_url: str | None, effects: str | None = None, delay_ms: float = 0.0) -> Any:
    """wacloud's webhook ASGI app; durable when ``store_url`` is given.

    With ``effects`` every handled update appends its ``dedup_key`` to that file (one ``write`` per
    update, so a line is in the kernel's hands, and survives SIGKILL, once the handler returns).
    ``delay_ms`` makes the handler wait that long first (an async sleep), so a test can kill the
    process while updates are still being processed.
    """
    import asyncio
    import os

    from benchmarks import _ours

    fd = os.open(effects, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if effects else None

    def record(update: Any) -> None:
        HANDLED["updates"] += 1
        if fd is not None:
            os.write(fd, f"{update.dedup_key}\n".encode())

    async def slow(update: Any) -> None:
        await asyncio.sleep(delay_ms / 1000)
        record(update)

    return _ours.webhook_app(app_secret=secret, verify_token=VERIFY_TOKEN, path=PATH, store_url=store_url,
                             on_update=slow if delay_ms > 0 else record)


def with_stats(app: Any) -> Any:
    """Wrap ``app`` so ``GET /_stats`` reports how many updates the handlers saw."""
    from starlette.responses import JSONResponse

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/_stats":
            await JSONResponse(HANDLED)(scope, receive, send)
            return
        await app(scope, receive, send)

    return wrapper


def main() -> None:
    """Serve the chosen receiver until killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=("ours", "pywa", "floor"), required=True)
    parser.add_argument("--store", default=None, help="durable store URL for --kind ours")
    parser.add_argument("--secret", default=SANDBOX_APP_SECRET)
    parser.add_argument("--effects", default=None, help="--kind ours: append each handled update's key here")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="--kind ours: handler sleeps this long")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.kind == "floor":
        app = floor_app(args.secret)
    elif args.kind == "pywa":
        app = pywa_app(args.secret)
    else:
        app = ours_app(args.secret, args.store, args.effects, args.delay_ms)

    import uvicorn

    uvicorn.run(
        with_stats(app),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="auto",
    )


if __name__ == "__main__":
    main()
