"""The resumable upload API: ``POST /{app-id}/uploads`` and ``/upload:{id}`` (handles for samples)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute, Route

from wacloud import limits
from wacloud.sandbox._errors import GraphError
from wacloud.sandbox._http import (
    NodeRoute,
    answer,
    param,
    sandbox_of,
)
from wacloud.sandbox._model import UploadSession
from wacloud.sandbox._state import ManagementState, SandboxState, management_state

_UPLOAD_MAX_BYTES = max(rule.max_bytes for rule in limits.MEDIA_RULES.values())
_UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "video/mp4", "application/pdf", "image/webp"})


def owns_upload(state: SandboxState, node: str) -> bool:
    return node in management_state(state).uploads


async def start(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    q = request.query_params
    name, length, ftype = q.get("file_name"), q.get("file_length"), q.get("file_type")
    if not name:
        raise GraphError(131008, "The parameter file_name is required.")
    if not length or not length.isdigit() or int(length) <= 0:
        raise param("Param file_length must be a positive integer.")
    if int(length) > _UPLOAD_MAX_BYTES:
        raise param(f"Param file_length must be at most {_UPLOAD_MAX_BYTES} bytes.")
    if ftype not in _UPLOAD_TYPES:
        raise param(f"Param file_type must be one of {sorted(_UPLOAD_TYPES)}.")
    session = UploadSession(f"upload:{state.ids.token(24)}", name, int(length), str(ftype))
    mgmt.uploads[session.id] = session
    return {"id": session.id}


async def transfer(request: Request, mgmt: ManagementState) -> Any:
    state = sandbox_of(request)
    session = mgmt.uploads[str(request.path_params["node_id"])]
    offset_raw = request.headers.get("file_offset", "0")
    if not offset_raw.isdigit() or int(offset_raw) != len(session.data):
        raise param(f"file_offset must be {len(session.data)} (the bytes received so far).")
    received = bytearray()
    # Read as a stream and stop at the declared length, so a client can't make the sandbox buffer more.
    async for piece in request.stream():
        received.extend(piece)
        if len(session.data) + len(received) > session.file_length:
            raise param(f"More bytes than the declared file_length {session.file_length}.")
    session.data.extend(received)
    if len(session.data) < session.file_length:
        return {"id": session.id, "file_offset": len(session.data)}
    if session.handle is None:
        session.handle = f"4::{state.ids.token(12)}:{state.ids.token(32)}"
        mgmt.handles[session.handle] = session
    return {"h": session.handle}


async def status(request: Request, mgmt: ManagementState) -> Any:
    session = mgmt.uploads[str(request.path_params["node_id"])]
    return {"id": session.id, "file_offset": len(session.data)}


ROUTES: list[BaseRoute] = [
    Route("/{app_id}/uploads", answer(start), methods=["POST"]),
    NodeRoute("/{node_id}", answer(transfer), methods=["POST"], owns=owns_upload),
    NodeRoute("/{node_id}", answer(status), methods=["GET"], owns=owns_upload),
]
