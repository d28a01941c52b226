"""Turning core :class:`~wacloud.client.core.Request` objects into HTTP calls (httpx keyword arguments, or
URL, headers and body for the fast transports)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

import httpx

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Request, Response


def build(config: ApiConfig, request: Request) -> dict[str, Any]:
    """The keyword arguments for ``httpx.Client.build_request``."""
    url = request.path if request.absolute else f"{config.api_root}/{request.path.lstrip('/')}"
    headers = {**(request.headers or {}), **config.auth_headers()}
    kwargs: dict[str, Any] = {"method": request.method, "url": url, "headers": headers}
    if request.params:
        kwargs["params"] = dict(request.params)
    if request.json is not None:
        kwargs["content"] = encode_json(request.json)
        headers.setdefault("Content-Type", "application/json")
    if request.data is not None:
        kwargs["data"] = dict(request.data)
    if request.files is not None:
        kwargs["files"] = dict(request.files)
    if request.content is not None:
        kwargs["content"] = request.content
    return kwargs


def plain(config: ApiConfig, request: Request) -> tuple[str, dict[str, str], bytes | None]:
    """URL (query included), headers and body of a request without multipart parts, for the fast transports.

    The same bytes :func:`build` hands httpx: JSON encoded by :func:`encode_json`, extra headers first
    and the Authorization header last so it always wins.
    """
    url = request.path if request.absolute else f"{config.api_root}/{request.path.lstrip('/')}"
    if request.params:
        url += ("&" if "?" in url else "?") + urlencode({k: str(v) for k, v in request.params.items()})
    headers = {**(request.headers or {}), **config.auth_headers()}
    body: bytes | None = None
    if request.json is not None:
        body = encode_json(request.json)
        headers.setdefault("Content-Type", "application/json")
    if request.content is not None:
        body = request.content
    return url, headers, body


def encode_json(value: Any) -> bytes:
    """A JSON body as httpx would encode it, or a ``ValidationError`` before any call is made.

    Encoding here rather than inside httpx makes text that cannot be sent (a lone surrogate, NaN) a
    plain local failure instead of an exception from somewhere inside the transport.
    """
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise errors.ValidationError("body", f"holds text that cannot be encoded as UTF-8 "
                                             f"(a lone surrogate at index {exc.start})") from None
    except (TypeError, ValueError) as exc:
        raise errors.ValidationError("body", f"cannot be encoded as JSON: {exc}") from None


def to_response(resp: httpx.Response, content: bytes) -> Response:
    """Our response type from httpx's."""
    return Response(status_code=resp.status_code, headers=dict(resp.headers), content=content)


def transport_error(exc: httpx.TransportError, request: Request) -> errors.TransportError:
    """A TransportError that names the call but never the token."""
    return errors.TransportError(f"{request.method} {request.path}: {type(exc).__name__}: {exc}")


class _Sink:
    """Writes a streamed body to a path or file object while hashing it."""

    def __init__(self, target: Path | IO[bytes]) -> None:
        self._own = isinstance(target, Path)
        self._file: IO[bytes] = target.open("wb") if isinstance(target, Path) else target
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self.hash.update(chunk)
        self.size += len(chunk)

    def close(self) -> None:
        if self._own:
            self._file.close()

    def response(self, resp: httpx.Response) -> Response:
        return Response(status_code=resp.status_code, headers=dict(resp.headers),
                        sha256=self.hash.hexdigest(), streamed_bytes=self.size)
