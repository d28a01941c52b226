"""Loading settings for a CLI command, with configuration errors turned into exit code 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wacloud.cli.output import CliError, Exit
from wacloud.gateway import GRAPH_URL, ConfigError, Settings, load_settings


def settings(config: Path | None = None, *, for_serve: bool = False, **overrides: Any) -> Settings:
    """The settings, or a CliError (exit 2) that says what to set."""
    try:
        return load_settings(config, for_serve=for_serve, **overrides)
    except ConfigError as exc:
        raise CliError(str(exc), Exit.USAGE) from None


def direct_client(config: Path | None = None) -> Any:
    """A blocking :class:`~wacloud.Client` from the configured credentials (for ``--direct`` commands)."""
    s = settings(config)
    if s.access_token is None:
        raise CliError(
            "--direct needs credentials: set WACLOUD_ACCESS_TOKEN and WACLOUD_PHONE_NUMBER_ID "
            "(and WACLOUD_GRAPH_URL for a local `wacloud sandbox`), or drop --direct to go "
            "through the gateway",
            Exit.USAGE,
        )
    from wacloud.client import Client

    return Client(
        token=s.access_token.get_secret_value(),
        phone_number_id=s.phone_number_id,
        waba_id=s.waba_id,
        base_url=s.graph_url or GRAPH_URL,
        version=s.api_version,
    )


def missing_sqlite_file(database_url: str) -> Path | None:
    """The absolute path of a SQLite database file that does not exist (None for PostgreSQL or a file)."""
    from wacloud.gateway import sqlite_path

    if not database_url.startswith("sqlite:"):
        return None
    path = sqlite_path(database_url)
    if path == ":memory:":
        return None
    full = Path(path).resolve()
    return None if full.is_file() else full


def existing_database(s: Settings) -> str:
    """The configured database URL, or a CliError when its SQLite file does not exist.

    Commands that manage a gateway's data (``keys``) must not create a new, empty database: from
    another directory, the default ``sqlite:///wacloud.db`` names a different file than the gateway's.
    """
    missing = missing_sqlite_file(s.database_url)
    if missing is not None:
        raise CliError(
            f"no database at {missing} ({s.database_display}, relative to the current directory "
            f"{Path.cwd()}): run this where `wacloud serve` runs, or pass the gateway's database with "
            "--database-url / WACLOUD_DATABASE_URL / --config (`wacloud serve` creates it)",
            Exit.USAGE,
        )
    return s.database_url
