"""``wacloud sandbox``: the Cloud API emulator on its own (loopback by default)."""

from __future__ import annotations

from typing import Annotated

import typer


def sandbox(
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind.")] = 8089,
    webhook_url: Annotated[str | None, typer.Option("--webhook-url", help="Where to POST signed webhooks.")] = None,
    app_secret: Annotated[str | None, typer.Option("--app-secret", help="Signs the webhooks.")] = None,
    access_token: Annotated[str | None, typer.Option("--access-token", help="The Bearer token to accept.")] = None,
    phone_number_id: Annotated[str | None, typer.Option("--phone-number-id")] = None,
    waba_id: Annotated[str | None, typer.Option("--waba-id")] = None,
    mps: Annotated[float | None, typer.Option("--mps", help="Messages per second (20, 80, 1000…).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for ids and fault injection.")] = None,
) -> None:
    """Run the sandbox: a local Cloud API with customers, signed webhooks and faults. Prints what to use."""
    from wacloud.sandbox import serve

    options = {
        "webhook_url": webhook_url,
        "app_secret": app_secret,
        "access_token": access_token,
        "phone_number_id": phone_number_id,
        "waba_id": waba_id,
        "mps": mps,
        "seed": seed,
    }
    serve(host=host, port=port, **{k: v for k, v in options.items() if v is not None})
