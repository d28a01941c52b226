"""API-key authentication for the HTTP API: ``Authorization: Bearer <key>`` (or ``X-API-Key``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from wacloud.server.keys import KeyInfo, KeyStore

_bearer = HTTPBearer(auto_error=False, description="An API key from `wacloud keys create` or `wacloud serve`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same API key, as a header")


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def require_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> KeyInfo:
    """The calling key, or 401 when it is missing, unknown or revoked (the reason never echoes the key)."""
    key = bearer.credentials if bearer is not None else header_key
    if not key:
        raise _unauthorized("missing API key: send Authorization: Bearer <key>")
    keys: KeyStore = request.app.state.gateway.keys
    info = keys.verify(key)
    if info is None:
        raise _unauthorized("invalid or revoked API key")
    return info


Authenticated = Annotated[KeyInfo, Depends(require_key)]
