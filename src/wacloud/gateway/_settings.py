"""Gateway settings: ``WACLOUD_*`` environment variables and an optional TOML file (pydantic-settings).

Precedence, highest first: values passed in code (CLI flags), environment variables, the TOML file
(``--config PATH`` or ``WACLOUD_CONFIG``), defaults. With no access token configured the gateway runs
in *sandbox mode* (the embedded emulator, no Meta account). Secrets are :class:`~pydantic.SecretStr`,
so they print as ``**********`` in reprs, logs and error messages.
"""

from __future__ import annotations

import contextvars
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from wacloud.gateway._number_config import NumberConfig, NumberSpec, fill, problems_of
from wacloud.gateway._secret_keys import parse_keys
from wacloud.limits import (
    DEFAULT_API_VERSION,
    DEFAULT_MPS,
    MIN_API_VERSION,
    UPGRADED_MPS,
    WEBHOOK_MAX_BODY_BYTES,
)

ENV_PREFIX = "WACLOUD_"
CONFIG_ENV = "WACLOUD_CONFIG"
GRAPH_URL = "https://graph.facebook.com"
#: Field names whose values are never shown, even when they fail validation.
SECRET_FIELDS = frozenset({"access_token", "app_secret", "verify_token", "api_keys", "secret_key"})

_toml_path: contextvars.ContextVar[Path | None] = contextvars.ContextVar("wacloud_toml_path", default=None)


class ConfigError(Exception):
    """The configuration is invalid; the message says which setting to fix and how."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid wacloud configuration:\n" + "\n".join(f"  - {p}" for p in problems))


def redact_url(url: str) -> str:
    """``scheme://user:***@host/...`` for a URL with a password; other URLs unchanged."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def env_name(field: str) -> str:
    """The environment variable that sets ``field`` (``mps`` → ``WACLOUD_MPS``)."""
    return ENV_PREFIX + field.upper()


def _is_sha256_hex(text: str) -> bool:
    """True for 64 hex digits."""
    return len(text) == 64 and all(c in "0123456789abcdefABCDEF" for c in text)


def _split_csv(value: Any) -> Any:
    """Accept ``a,b`` (environment) as well as a list (TOML) for list settings."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything ``wacloud serve`` and the CLI read from the environment or the config file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        case_sensitive=False,
        validate_default=True,
        hide_input_in_errors=True,
    )

    # Meta credentials; without an access token the gateway runs the embedded sandbox.
    access_token: SecretStr | None = Field(default=None, description="Graph API access token")
    phone_number_id: str | None = Field(default=None, description="business phone number id")
    waba_id: str | None = Field(default=None, description="WhatsApp Business Account id")
    app_secret: SecretStr | None = Field(default=None, description="app secret, signs webhooks")
    verify_token: SecretStr | None = Field(default=None, description="webhook verification token")
    graph_url: str | None = Field(default=None, description="Graph API base URL (default Meta's)")
    api_version: str = Field(default=DEFAULT_API_VERSION, description="Graph API version")
    # Several business numbers ([[numbers]] tables, or WACLOUD_NUMBERS as JSON); empty: the one number above.
    numbers: list[NumberConfig] = Field(default_factory=list, description="the business numbers served")

    # Gateway.
    database_url: str = Field(default="sqlite:///wacloud.db", description="sqlite:///path or postgresql://…")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, description="extra API keys: plain keys or sha256:<hex>, comma-separated"
    )
    secret_key: SecretStr | None = Field(
        default=None, description="key(s) that encrypt the secrets kept in the gateway database (added numbers' "
        "tokens, subscriptions' signing secrets): comma-separated, the first encrypts, all decrypt (rotation); "
        "make one with `wacloud keys secret`")
    host: str = Field(default="127.0.0.1", description="address to bind")
    port: int = Field(default=8080, ge=0, le=65535, description="port to bind (0 = any free port)")
    public_url: str | None = Field(default=None, description="URL the world reaches the gateway at")
    workers: bool = Field(default=True, description="run delivery workers in this process")
    api: bool = Field(default=True, description="serve the HTTP API and /webhook (off: a worker-only process)")
    mps: int = Field(default=DEFAULT_MPS, ge=1, le=UPGRADED_MPS, description="messages per second per number")
    concurrency: int | None = Field(
        default=None, ge=1, le=1024,
        description="sends in flight per number (default: enough for its highest rate at 0.25 s a Graph call)")
    portfolio: str = Field(default="default", min_length=1, max_length=128,
                           description="business portfolio of the number (numbers of one share its messaging limit)")
    limits_refresh_s: float | None = Field(
        default=None, ge=1, description="read the messaging tier and throughput from the Graph API this often"
    )
    app: str | None = Field(default=None, description="bot Application to run, as module:attribute")
    allow_unsigned_webhooks: bool = Field(default=False, description="accept webhooks without an app secret")
    webhook_max_body: int = Field(default=WEBHOOK_MAX_BODY_BYTES, ge=1024, description="webhook body cap")

    # Events out (docs/events.md).
    events_retention_days: float = Field(default=30.0, gt=0, le=36500, description="keep events this many days")
    subscriptions: bool = Field(default=True, description="deliver event subscriptions from this process")
    subscription_concurrency: int = Field(default=8, ge=1, le=256, description="requests in flight per subscription")
    subscription_timeout_s: float = Field(default=10.0, gt=0, le=300, description="one delivery request's timeout")
    subscription_max_attempts: int = Field(default=10, ge=1, le=1000, description="attempts before dead-lettering")
    subscription_pause_after: int = Field(default=20, ge=1, le=100000, description="failures in a row before pausing")
    subscription_retry_base_s: float = Field(default=0.5, gt=0, le=3600, description="first retry delay (doubles)")
    subscription_retry_max_s: float = Field(default=60.0, gt=0, le=86400, description="longest retry delay")
    subscription_lease_s: float = Field(default=15.0, ge=1, le=3600, description="a delivering process's lease")

    # Embedded sandbox (sandbox mode only).
    sandbox_seed: int | None = Field(default=None, description="seed for the embedded sandbox")

    # Event outputs: RabbitMQ (docs/events.md, "Outputs"); needs pip install 'wacloud[rabbitmq]'.
    rabbitmq_url: SecretStr | None = Field(default=None, description="amqp://user:pass@host:5672/vhost: publish events")
    rabbitmq_exchange: str = Field(default="wacloud.events", min_length=1, max_length=255,
                                   description="the topic exchange events are published to")
    rabbitmq_queue: str | None = Field(default=None, max_length=255,
                                       description="also declare this durable queue, bound to every event")

    # Incoming media kept (off unless media_dir or media_s3_bucket is set).
    media_dir: str | None = Field(default=None, description="keep incoming media in this directory")
    media_s3_bucket: str | None = Field(default=None, description="keep incoming media in this S3 bucket")
    media_s3_url: str | None = Field(default=None, description="S3-compatible endpoint (default AWS)")
    media_s3_access_key: SecretStr | None = Field(default=None, description="S3 access key id")
    media_s3_secret_key: SecretStr | None = Field(default=None, description="S3 secret access key")
    media_s3_region: str = Field(default="us-east-1", description="S3 region")
    media_s3_prefix: str = Field(default="", description="key prefix in the bucket")
    media_keep_types: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["image", "audio", "video", "document", "sticker"],
        description="media types kept, comma-separated",
    )
    media_keep_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1, description="larger media is not kept")
    media_keep_attempts: int = Field(default=6, ge=1, le=100, description="download attempts before giving up")
    media_retry_s: float = Field(default=30.0, gt=0, le=86400, description="first pause between attempts (doubles)")

    # Logs.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    log_json: bool = Field(default=False, description="one JSON object per log line")

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("api_keys")
    @classmethod
    def _hashed_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        for key in value:
            hashed = key.get_secret_value()
            # A malformed hash would be kept and match no key at all: say so at start instead.
            if hashed.startswith("sha256:") and not _is_sha256_hex(hashed.removeprefix("sha256:")):
                raise ValueError("a sha256: key must be followed by 64 hex digits (the key's SHA-256)")
        return value

    @field_validator("media_keep_types", mode="before")
    @classmethod
    def _media_types_csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("media_keep_types")
    @classmethod
    def _media_types_known(cls, value: list[str]) -> list[str]:
        known = ("image", "audio", "video", "document", "sticker")
        unknown = [t for t in value if t not in known]
        if unknown:
            raise ValueError(f"unknown media types {unknown}; known: {', '.join(known)}")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_keys(value.get_secret_value())  # a bad key is refused at start, not at the first write
        return value

    @field_validator("rabbitmq_url")
    @classmethod
    def _amqp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("amqp://", "amqps://")):
            raise ValueError("must be an amqp:// or amqps:// URL")
        return value

    @field_validator("media_s3_url")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (the S3-compatible endpoint)")
        return value

    @model_validator(mode="after")
    def _media_store(self) -> Settings:
        if self.media_dir and self.media_s3_bucket:
            raise ValueError(f"set {env_name('media_dir')} or {env_name('media_s3_bucket')}, not both")
        if (self.media_s3_url or self.media_s3_access_key) and not self.media_s3_bucket:
            raise ValueError(f"{env_name('media_s3_bucket')} is required with the other media_s3 settings")
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _db_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// (e.g. sqlite:///wacloud.db) or postgresql://")
        if value.startswith("sqlite:///:memory:"):
            raise ValueError("an in-memory SQLite database is not shared between connections; use a file")
        return value

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        text = value.strip().lower().removeprefix("v")
        major, _, minor = text.partition(".")
        if not (major.isdigit() and (minor or "0").isdigit()):
            raise ValueError(f"not a Graph API version: {value!r} (e.g. {DEFAULT_API_VERSION})")
        if (int(major), int(minor or "0")) < MIN_API_VERSION:
            raise ValueError(f"v{major}.{minor or 0} is no longer served; use v{MIN_API_VERSION[0]}.0 or later")
        return f"v{int(major)}.{int(minor or '0')}"

    @field_validator("graph_url", "public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("app")
    @classmethod
    def _app_ref(cls, value: str | None) -> str | None:
        if value is not None and (":" not in value or value.startswith(":") or value.endswith(":")):
            raise ValueError("must be module:attribute, e.g. mybot:app")
        return value

    @model_validator(mode="after")
    def _roles(self) -> Settings:
        if not self.api and not self.workers:
            raise ValueError(f"{env_name('api')}=false and {env_name('workers')}=false leave nothing to run")
        if not self.api and self.sandbox_mode:
            raise ValueError(
                f"a worker-only process ({env_name('api')}=false) needs Meta credentials and a "
                "database shared with an API process; sandbox mode runs in one process"
            )
        return self

    @model_validator(mode="after")
    def _live_needs(self) -> Settings:
        if self.access_token is not None and not self.phone_number_id and not self.numbers:
            raise ValueError(
                f"{env_name('phone_number_id')} (the business phone number id from Meta's "
                "App Dashboard) or [[numbers]] tables are required when an access token is set"
            )
        problems = problems_of(self.numbers)
        listed = {n.phone_number_id for n in self.numbers}
        if self.numbers and self.phone_number_id and self.phone_number_id not in listed:
            problems.append(
                f"{env_name('phone_number_id')}={self.phone_number_id} is not among the [[numbers]]: "
                "list every number in [[numbers]] (or use the single-number settings alone)"
            )
        if not self.sandbox_mode:
            problems += [
                f"numbers[{i}].access_token: number {n.phone_number_id} has no token and "
                f"{env_name('access_token')} is not set"
                for i, n in enumerate(self.numbers) if n.access_token is None and self.access_token is None
            ]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def number_specs(self) -> list[NumberSpec]:
        """The numbers served, defaults filled in: the ``[[numbers]]`` tables, else the single number
        (``phone_number_id``…); empty in sandbox mode without numbers (the gateway picks the sandbox's)."""
        token = self.access_token.get_secret_value() if self.access_token else None
        secret = self.app_secret.get_secret_value() if self.app_secret else None
        configs = self.numbers
        if not configs and self.phone_number_id:
            configs = [NumberConfig(phone_number_id=self.phone_number_id, waba_id=self.waba_id)]
        return [fill(n, waba_id=self.waba_id, access_token=token, app_secret=secret, mps=self.mps) for n in configs]

    def serve_problems(self) -> list[str]:
        """What ``wacloud serve`` additionally needs in live mode (webhook secrets), as messages."""
        if self.sandbox_mode:
            return []
        missing = []
        unsigned = [n.phone_number_id for n in self.numbers if n.app_secret is None]
        if self.app_secret is None and (unsigned or not self.numbers) and not self.allow_unsigned_webhooks:
            which = f" (numbers without their own app_secret: {', '.join(unsigned)})" if unsigned else ""
            missing.append(
                f"{env_name('app_secret')} (your Meta app's secret) is required to verify webhook "
                f"signatures{which}; set {env_name('allow_unsigned_webhooks')}=true to run without it"
            )
        if self.verify_token is None:
            missing.append(
                f"{env_name('verify_token')} (any secret string; enter the same one in Meta's "
                "webhook settings) is required when an access token is set"
            )
        return missing

    @property
    def sandbox_mode(self) -> bool:
        """True when no Meta access token is configured: the gateway embeds the sandbox."""
        return self.access_token is None and not any(n.access_token is not None for n in self.numbers)

    @property
    def is_sqlite(self) -> bool:
        """True when the store is a SQLite file."""
        return self.database_url.startswith("sqlite:")

    @property
    def database_display(self) -> str:
        """The database URL with any password replaced by ``***`` (safe to print)."""
        return redact_url(self.database_url)

    def secret_keys(self) -> list[str]:
        """The keys of ``secret_key``, the one that encrypts first (none: stored secrets are kept in clear)."""
        return parse_keys(self.secret_key.get_secret_value()) if self.secret_key is not None else []

    def secret_values(self) -> list[str]:
        """Every configured secret in clear, for the log redaction filter (never print these)."""
        values = [s.get_secret_value() for s in (self.access_token, self.app_secret, self.verify_token) if s]
        values += [s.get_secret_value() for n in self.numbers for s in (n.access_token, n.app_secret) if s]
        values += [k.get_secret_value() for k in self.api_keys if not k.get_secret_value().startswith("sha256:")]
        values += self.secret_keys()
        password = urlsplit(self.database_url).password
        if password:
            values.append(password)
        return [v for v in values if v]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Code/CLI values, then the environment, then the TOML file (if any)."""
        path = _toml_path.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


def load_settings(config_file: str | Path | None = None, *, for_serve: bool = False, **overrides: Any) -> Settings:
    """Read the settings, or raise :class:`ConfigError` naming what to set.

    ``config_file`` (else ``$WACLOUD_CONFIG``) is a TOML file with the same names as the fields
    (``access_token = "..."``); ``overrides`` (CLI flags) win over everything; ``None`` values are ignored.
    ``for_serve`` also requires what the gateway needs to receive Meta's webhooks in live mode.
    """
    path_text = config_file if config_file is not None else os.environ.get(CONFIG_ENV)
    path = Path(path_text) if path_text else None
    if path is not None:
        if not path.is_file():
            raise ConfigError([f"config file {path} does not exist (from --config or {CONFIG_ENV})"])
        try:
            with path.open("rb") as f:
                tomllib.load(f)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"config file {path} is not valid TOML: {exc}"]) from None
    token = _toml_path.set(path)
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except PydanticValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    finally:
        _toml_path.reset(token)
    problems = settings.serve_problems() if for_serve else []
    if problems:
        raise ConfigError(problems)
    return settings


def _describe(exc: PydanticValidationError, path: Path | None) -> list[str]:
    """Readable problems from pydantic's errors, naming env vars, never echoing secret values."""
    problems = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in err.get("loc", ())]
        field = loc[0] if loc else ""
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if field == "numbers" and len(loc) > 1:
            where = f"numbers[{loc[1]}]" + "".join(f".{p}" for p in loc[2:])
            if err.get("type") == "extra_forbidden":
                msg = f"unknown; a number has {', '.join(NumberConfig.model_fields)}"
            problems.append(f"{where} (a [[numbers]] table, or {env_name(field)}): {msg}")
        elif err.get("type") == "extra_forbidden":
            where = f" in {path}" if path else ""
            problems.append(f"unknown setting {field!r}{where}; known settings: {', '.join(_known())}")
        elif field and field in Settings.model_fields:
            problems.append(f"{env_name(field)} ({field}): {msg}")
        else:
            problems.extend(msg.split("\n"))
    return problems


def _known() -> list[str]:
    return sorted(Settings.model_fields)
