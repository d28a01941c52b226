"""Structured logs for the gateway: plain or JSON lines, with every secret redacted before output."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable
from typing import IO, Any

from wacloud.webhooks.accesslog import install_access_log_redaction

REDACTED = "***"

# Shapes of secrets that may reach a log line even when their value is not known in advance:
# Authorization headers, access_token query parameters, our API keys, signature headers.
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[^\s\"',]+"),
    re.compile(
        r"(?i)((?:access_token|app_secret|verify_token|hub\.verify_token|api_key)[\"']?\s*[=:]\s*[\"']?)"
        r"[^\s\"'&,}]+"
    ),
    re.compile(r"\bwk_[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(sha256=)[0-9a-fA-F]{16,}"),
)

# Attributes every LogRecord has; anything else was passed in ``extra=`` and goes into JSON output.
_STANDARD = frozenset(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}


class Redactor:
    """Replaces known secret values and secret-shaped substrings with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is removed whole.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str) -> None:
        """Also redact ``secret`` from now on."""
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return text


class RedactingFilter(logging.Filter):
    """A handler filter: formats the message once, redacts it, and drops the raw args."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place with secrets removed; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redactor(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, any ``extra=`` fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, str | int | float | bool | type(None)) else repr(value)
        if record.exc_text:
            data["exc"] = record.exc_text
        elif record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class _PlainFormatter(logging.Formatter):
    """``time level logger: message key=value…`` for people."""

    def format(self, record: logging.LogRecord) -> str:
        """The standard line plus the ``extra=`` fields."""
        line = super().format(record)
        extras = [f"{k}={v}" for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")]
        # A field the message already spells out (``code=131047``) is not repeated after it.
        extras = [kv for kv in extras if kv not in line]
        return line + (" " + " ".join(extras) if extras else "")


class _Stderr:
    """Whatever ``sys.stderr`` is at write time (it may be swapped after logging is set up)."""

    def write(self, text: str) -> int:
        """Write to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


def setup_logging(
    *,
    level: str = "INFO",
    json_lines: bool = False,
    secrets: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> Redactor:
    """Configure the root logger (uvicorn's loggers propagate to it) and return the redactor in use."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream or _Stderr())
    handler.addFilter(RedactingFilter(redactor))
    handler.setFormatter(
        JsonFormatter() if json_lines else _PlainFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_wacloud", False)]:
        root.removeHandler(old)
    handler._wacloud = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    # Also on the loggers themselves: records reaching a handler other than ours stay clean too.
    install_access_log_redaction()
    # httpx logs every request URL at INFO; keep it at WARNING unless debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # httpcore's per-socket-event lines drown everything else even when debugging the gateway.
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return redactor
