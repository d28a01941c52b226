"""``wacloud sandbox``: the Cloud API emulator on its own (loopback by default)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

_RATE = {"min": 0.0, "max": 1.0}


def _fault_codes(items: list[str]) -> dict[int, float]:
    """``["131000=0.05", "131016=0.02"]`` → ``{131000: 0.05, 131016: 0.02}``; a clear error otherwise."""
    from wacloud import errors

    out: dict[int, float] = {}
    for item in items:
        code_text, sep, rate_text = item.partition("=")
        try:
            code, rate = int(code_text), float(rate_text)
        except ValueError:
            code, rate = -1, -1.0
        if not sep or code <= 0 or not 0.0 <= rate <= 1.0:
            raise typer.BadParameter(
                f"{item!r}: expected CODE=RATE, e.g. 131000=0.05 (rate 0 to 1)", param_hint="--fault-code"
            )
        if code not in errors.ERROR_CODES:
            raise typer.BadParameter(f"{code} is not a Cloud API error code wacloud knows", param_hint="--fault-code")
        out[code] = rate
    return out


def sandbox(
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind.")] = 8089,
    webhook_url: Annotated[str | None, typer.Option("--webhook-url", help="Where to POST signed webhooks.")] = None,
    app_secret: Annotated[str | None, typer.Option("--app-secret", help="Signs the webhooks.")] = None,
    access_token: Annotated[str | None, typer.Option("--access-token", help="The Bearer token to accept.")] = None,
    phone_number_id: Annotated[str | None, typer.Option("--phone-number-id", help="Phone number id to use.")] = None,
    waba_id: Annotated[str | None, typer.Option("--waba-id", help="WABA id to use.")] = None,
    mps: Annotated[float | None, typer.Option("--mps", help="Messages per second (20, 80, 1000…).")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed for ids and fault injection.")] = None,
    fail_rate: Annotated[
        float, typer.Option("--fail-rate", help="Share of requests answered HTTP 500 (code 1).", **_RATE)
    ] = 0.0,
    unavailable_rate: Annotated[
        float, typer.Option("--unavailable-rate", help="Share of requests answered HTTP 503 (code 2).", **_RATE)
    ] = 0.0,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", help="Delay added to every Graph request, in ms.", min=0.0)
    ] = 0.0,
    jitter_ms: Annotated[
        float, typer.Option("--jitter-ms", help="Random extra delay, 0 to this many ms.", min=0.0)
    ] = 0.0,
    drop_rate: Annotated[
        float, typer.Option("--drop-rate", help="Share of requests whose connection is closed unanswered.", **_RATE)
    ] = 0.0,
    drop_after_accept_rate: Annotated[
        float,
        typer.Option("--drop-after-accept-rate", help="Share of sends accepted, then the connection closed.", **_RATE),
    ] = 0.0,
    timeout_rate: Annotated[
        float, typer.Option("--timeout-rate", help="Share of requests held, then closed unanswered.", **_RATE)
    ] = 0.0,
    timeout_s: Annotated[
        float | None, typer.Option("--timeout-s", help="How long --timeout-rate holds a request (s).", min=0.0)
    ] = None,
    never_deliver_rate: Annotated[
        float, typer.Option("--never-deliver-rate", help="Share of sends accepted that never get a status.", **_RATE)
    ] = 0.0,
    fault_code: Annotated[
        list[str] | None,
        typer.Option(
            "--fault-code",
            help="CODE=RATE: answer sends with this error at this rate, e.g. 131000=0.05 (repeatable).",
        ),
    ] = None,
) -> None:
    """Run the sandbox: a local Cloud API with customers, signed webhooks and faults. Prints what to use."""
    from wacloud.sandbox import serve

    faults: dict[str, Any] = {
        "error_500_rate": fail_rate,
        "error_503_rate": unavailable_rate,
        "latency_s": latency_ms / 1000.0,
        "latency_jitter_s": jitter_ms / 1000.0,
        "drop_rate": drop_rate,
        "drop_after_accept_rate": drop_after_accept_rate,
        "timeout_rate": timeout_rate,
        "never_deliver_rate": never_deliver_rate,
        "codes": _fault_codes(fault_code or []),
    }
    if mps is not None and mps <= 0:
        # Zero or less would refuse every send with 130429: surely a typo, not a test setup.
        raise typer.BadParameter(f"must be more than 0, got {mps:g}", param_hint="--mps")
    options: dict[str, Any] = {
        "webhook_url": webhook_url,
        "app_secret": app_secret,
        "access_token": access_token,
        "phone_number_id": phone_number_id,
        "waba_id": waba_id,
        "mps": mps,
        "seed": seed,
        # Only faults that were asked for, so a plain run keeps the sandbox's defaults.
        "faults": {k: v for k, v in faults.items() if v} or None,
    }
    if timeout_s is not None:
        options["faults"] = {**(options["faults"] or {}), "timeout_s": timeout_s}
    serve(host=host, port=port, **{k: v for k, v in options.items() if v is not None})
