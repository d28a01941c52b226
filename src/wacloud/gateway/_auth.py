"""API-key authentication for the HTTP API: ``Authorization: Bearer <key>`` (or ``X-API-Key``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from wacloud.gateway._api_errors import ApiError
from wacloud.gateway._keys import KeyInfo, KeyStore

_bearer = HTTPBearer(auto_error=False, description="An API key from `wacloud keys create` or `wacloud serve`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same API key, as a header")


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status_code=401, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def _what_is_missing(authorization: str | None) -> str:
    """Why no key was found, without ever quoting the header (it may hold the key itself)."""
    expected = "expected Authorization: Bearer <key> (or X-API-Key: <key>)"
    if authorization is None:
        return f"missing API key: {expected}"
    scheme, _, rest = authorization.strip().partition(" ")
    if not scheme:
        return f"empty Authorization header: {expected}"
    if scheme.lower() == "bearer" and not rest.strip():
        return f"the Authorization header has the Bearer scheme but no key: {expected}"
    if rest.strip():
        return f"unsupported Authorization scheme (not Bearer): {expected}"
    return f"the Authorization header has no scheme: {expected}"


def require_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_header)],
) -> KeyInfo:
    """The calling key, or 401 when it is missing, unknown or revoked (the reason never echoes the key)."""
    key = bearer.credentials if bearer is not None else header_key
    if not key:
        raise _unauthorized(_what_is_missing(request.headers.get("authorization")))
    keys: KeyStore = request.app.state.gateway.keys
    info = keys.verify(key)
    if info is None:
        raise _unauthorized("invalid or revoked API key")
    request.state.key_info = info  # who made the request (refused or not), for the audit log
    check_role(info, request.method, request.url.path)
    return info


#: Reading is every role's; these methods change something.
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Paths only an admin may touch at all (reading keys or the audit log is admin business too).
ADMIN_ONLY = ("/v1/keys", "/v1/audit")
#: Paths an agent may read but only an admin may change: numbers and event subscriptions.
ADMIN_WRITES = ("/v1/numbers", "/v1/phone_numbers", "/v1/subscriptions", "/v1/events/subscriptions")


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def role_refusal(role: str, method: str, path: str) -> str | None:
    """Why a key with ``role`` may not call ``method path``, or None when it may.

    viewer: read only; agent: everything but keys, the audit log and changing numbers or subscriptions;
    admin: everything.
    """
    if role == "admin":
        return None
    if _under(path, ADMIN_ONLY):
        return f"an {role} key cannot use {path}: admin only"
    if method.upper() in _READ_METHODS:
        return None
    if role == "viewer":
        return "a viewer key is read-only: it cannot change anything"
    if _under(path, ADMIN_WRITES):
        return f"an agent key cannot change {path}: admin only"
    return None


def check_role(info: KeyInfo, method: str, path: str) -> None:
    """403 when the key's role does not allow ``method path``."""
    reason = role_refusal(info.role, method, path)
    if reason is not None:
        raise HTTPException(status_code=403, detail=reason)


Authenticated = Annotated[KeyInfo, Depends(require_key)]


def require_number(info: KeyInfo, phone_number_id: str, *, field: str = "from") -> None:
    """403 naming the number when the calling key is limited to other numbers."""
    if not info.may_use(phone_number_id):
        raise ApiError(403, f"this API key may not use number {phone_number_id} "
                            f"(it is limited to {', '.join(info.numbers or ())})", field=field)
