"""The CLI's connection to a running gateway's HTTP API (``--gateway URL``, ``--api-key KEY``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx
import typer

from wacloud.cli.output import CliError, Exit

DEFAULT_GATEWAY = "http://127.0.0.1:8080"

GatewayOpt = Annotated[
    str | None,
    typer.Option(
        "--gateway",
        envvar="WACLOUD_GATEWAY_URL",
        show_default=DEFAULT_GATEWAY,
        help="The gateway's base URL (as printed by `wacloud serve`).",
    ),
]
#: The business number a media or management call is for (``?number=``); optional with one number.
NumberOpt = Annotated[
    str | None,
    typer.Option("--number", help="The business number the call is for (phone number id or display number); "
                                  "optional when the gateway serves one."),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="WACLOUD_API_KEY",
        show_default=False,
        help="An API key for the gateway (printed once by `wacloud serve`, or `wacloud keys create`).",
    ),
]


def base_url(url: str | None) -> str:
    """The gateway's base URL as the CLI calls it: ``host:8080`` gets ``http://``; a trailing ``/v1`` goes.

    Anything else than http(s) is a CliError (exit 2) saying what is expected.
    """
    text = (url or os.environ.get("WACLOUD_GATEWAY_URL") or DEFAULT_GATEWAY).strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or not _port_ok(parts):
        raise CliError(
            f"--gateway / WACLOUD_GATEWAY_URL {url!r} is not a gateway URL: give http(s)://host:port, "
            f"as `wacloud serve` prints it (e.g. {DEFAULT_GATEWAY})",
            Exit.USAGE,
        )
    path = parts.path.rstrip("/").removesuffix("/v1").rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _port_ok(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - reading it validates it ("host:abc" raises)
    except ValueError:
        return False
    return True


class GatewayClient:
    """Blocking calls to the gateway's ``/v1`` API that raise :class:`CliError` with the right exit code."""

    def __init__(self, url: str | None, api_key: str | None, *, timeout: float = 30.0) -> None:
        self.url = base_url(url)
        if not api_key:
            raise CliError(
                "no API key: pass --api-key or set WACLOUD_API_KEY (`wacloud serve` prints one; "
                "`wacloud keys create` makes another)",
                Exit.USAGE,
            )
        self._http = httpx.Client(base_url=self.url, timeout=timeout, headers={"Authorization": f"Bearer {api_key}"})

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API; the decoded JSON answer, or a CliError naming the reason."""
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CliError(
                f"cannot reach the gateway at {self.url} ({type(exc).__name__}); is `wacloud serve` "
                "running? (set --gateway or WACLOUD_GATEWAY_URL)",
                Exit.UNREACHABLE,
            ) from None
        if resp.status_code >= 400:
            raise _error(resp)
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.content

    def stream_lines(self, path: str, *, params: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None) -> Iterator[str]:
        """The lines of a streamed answer (Server-Sent Events), as they come; CliError as :meth:`request`."""
        try:
            with self._http.stream("GET", path, params=params, headers=headers,
                                   timeout=httpx.Timeout(30.0, read=None)) as resp:
                if resp.status_code >= 400:
                    resp.read()
                    raise _error(resp)
                yield from resp.iter_lines()
        except httpx.TransportError as exc:
            raise CliError(f"lost the gateway at {self.url} ({type(exc).__name__})", Exit.UNREACHABLE) from None

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _error(resp: httpx.Response) -> CliError:
    try:
        err = resp.json().get("error", {})
    except ValueError:
        err = {}
    if not isinstance(err, dict):
        err = {"reason": str(err)}
    reason = err.get("reason") or f"HTTP {resp.status_code}"
    if err.get("field"):
        reason = f"{err['field']}: {reason}"
    if err.get("code"):
        reason += f" (code {err['code']})"
    code = {
        401: Exit.AUTH,
        403: Exit.AUTH,
        404: Exit.NOT_FOUND,
        422: Exit.USAGE,
        400: Exit.USAGE,
        503: Exit.UNREACHABLE,
    }.get(resp.status_code, Exit.FAILED)
    return CliError(reason, code, data={"status": resp.status_code, "detail": err})
