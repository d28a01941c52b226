"""``wacloud status JOB|WAMID``: a job's state and history, from the gateway."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from wacloud.cli.output import CliError, Exit, JsonOpt, fail
from wacloud.cli.remote import ApiKeyOpt, GatewayClient, GatewayOpt
from wacloud.cli.send import _DONE, show_job


def status(
    ref: Annotated[str, typer.Argument(help="A job id, or a message's wamid (wamid.…).")],
    watch: Annotated[bool, typer.Option("--watch", help="Follow until delivered, read or failed.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds --watch waits.")] = 60.0,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a job's state, wamid, error and history. Exit 1 if it failed, 5 if unknown, 6 if --watch timed out."""
    path = f"/v1/messages/{ref}" if ref.startswith("wamid.") else f"/v1/jobs/{ref}"
    try:
        with GatewayClient(gateway, api_key) as gw:
            job = gw.request("GET", path)
            deadline = time.monotonic() + timeout
            while watch and job["state"] not in _DONE and time.monotonic() < deadline:
                time.sleep(0.5)
                job = gw.request("GET", f"/v1/jobs/{job['id']}")
    except CliError as exc:
        fail(exc, as_json=json_out)
    timed_out = watch and job["state"] not in _DONE
    if not (timed_out and json_out):  # with --json the error document carries the job
        show_job(job, as_json=json_out)
    if job["state"] in ("failed", "dead"):
        raise typer.Exit(int(Exit.FAILED))
    if timed_out:
        fail(CliError(f"watched {timeout:g} s and the message is still {job['state']!r}: no delivery status came",
                      Exit.TIMEOUT, data={"job": job}), as_json=json_out)
