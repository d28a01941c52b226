"""Keep secrets out of the server's access log.

Meta's verification handshake is a GET whose query string carries the verify token
(``hub.verify_token=...``), and uvicorn's access log prints every request's path with its query
string. Served standalone (``uvicorn.run(app)``), a webhook app would write the token to the log on
every handshake; the filter here rewrites those records before any handler formats them.
"""

from __future__ import annotations

import logging
import re
from typing import Final

REDACTED: Final = "***"

#: Query parameters whose value is a secret (``.`` may arrive percent-encoded as ``%2E``).
_SECRET_PARAM: Final = re.compile(
    r"(?i)((?:^|[?&;\s\"'])(?:hub(?:\.|%2e))?(?:verify_token|access_token|app_secret)=)[^&;\s\"'#]*"
)

#: Loggers whose records carry request paths: uvicorn's access log (and its error log, which can
#: quote a request line).
ACCESS_LOGGERS: Final = ("uvicorn.access", "uvicorn.error")


def redact_query(text: str) -> str:
    """``text`` with the values of secret query parameters replaced by ``***``."""
    return _SECRET_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


class QuerySecretFilter(logging.Filter):
    """A logger filter that redacts secret query parameters in a record's message and its args.

    The args are rewritten one by one (not merged into the message), so formatters that unpack them,
    like uvicorn's ``AccessFormatter``, keep working.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact_query(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_access_log_redaction() -> None:
    """Add :class:`QuerySecretFilter` to uvicorn's loggers, once (idempotent, cheap to call again).

    A filter on the logger (not a handler) survives uvicorn's own ``dictConfig``, which replaces
    handlers but leaves a logger's existing filters in place.
    """
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuerySecretFilter) for f in logger.filters):
            logger.addFilter(QuerySecretFilter())


__all__ = ["QuerySecretFilter", "install_access_log_redaction", "redact_query"]
