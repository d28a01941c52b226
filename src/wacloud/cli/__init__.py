"""The ``wacloud`` command line (Typer + Rich). ``main()`` is the console script.

Commands: ``serve`` (the gateway), ``sandbox`` (the emulator alone), ``send``, ``broadcast``, ``status``,
``media``, ``keys``, ``webhook``, ``doctor``, the management sub-apps (``templates`` …) when present, and
``calls``, ``groups``, ``business``.
Every command takes ``--json`` for scripts; exit codes are in :class:`wacloud.cli.output.Exit`.
"""

from __future__ import annotations

import typer

from wacloud import __version__
from wacloud.cli import broadcast, campaigns, doctor, keys, media, sandbox, send, serve, status, webhook
from wacloud.cli.events import events_app, subscriptions_app

app = typer.Typer(
    name="wacloud",
    help="WhatsApp Business Cloud API toolkit and gateway.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wacloud {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """WhatsApp Business Cloud API toolkit and gateway. Start with `wacloud serve`."""


app.command("serve")(serve.serve)
app.command("sandbox")(sandbox.sandbox)
app.add_typer(send.app, name="send")
app.command("broadcast")(broadcast.broadcast)
app.command("status")(status.status)
app.add_typer(media.app, name="media")
app.add_typer(keys.app, name="keys")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(campaigns.ratecard_app, name="ratecard")
app.add_typer(webhook.app, name="webhook")
app.command("doctor")(doctor.doctor)
app.add_typer(events_app, name="events")
app.add_typer(subscriptions_app, name="subscriptions")


def _add_management() -> None:
    """The management engineer's sub-apps (``templates``, ``profile``, ``qr``, ``block`` …), if present."""
    try:
        from wacloud.cli import management  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return
    for attr, value in vars(management).items():
        if isinstance(value, typer.Typer) and not attr.startswith("_"):
            name = value.info.name if isinstance(value.info.name, str) else attr.removesuffix("_app")
            app.add_typer(value, name=name)


_add_management()


def _add_coverage() -> None:
    """The 2026 API parts: ``calls``, ``groups``, ``business`` and the template library/ops commands."""
    from wacloud.cli import business, calls, groups, management, template_ops

    app.add_typer(calls.app, name="calls")
    app.add_typer(groups.app, name="groups")
    app.add_typer(business.app, name="business")
    template_ops.register(management.templates_app)


_add_coverage()


def _add_numbers() -> None:
    """``wacloud numbers``: the gateway's business numbers (list, add, set, remove)."""
    from wacloud.cli import numbers

    app.add_typer(numbers.app, name="numbers")


_add_numbers()


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
