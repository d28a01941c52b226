"""``/v1/media/kept/...``: incoming media the gateway kept, by message id (wamid) or media id.

``GET /v1/media/kept/{ref}`` serves the file (``X-Wacloud-Sha256`` gives its SHA-256, hex);
``GET /v1/media/kept/{ref}/status`` says how keeping it went (pending, stored, failed, skipped; the
attempts and the last error). Media ids expire at Meta after 7 days; these stay as long as the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from wacloud.delivery import MediaTask
from wacloud.gateway._api import gateway
from wacloud.gateway._api_errors import ApiError
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._media_keeper import MediaKeeper
from wacloud.gateway._media_store import MediaStoreError
from wacloud.gateway._schemas import ErrorOut

router = APIRouter(
    prefix="/v1/media/kept",
    tags=["media"],
    responses={s: {"model": ErrorOut} for s in (401, 404, 409, 422, 503)},
)

#: A wamid (``wamid.`` and base64) or a Graph media id.
KeptRef = Annotated[
    str, Path(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_.=+:-]+$",
              description="the message id (wamid) or the media id"),
]
_CHUNK = 256 * 1024


class KeptMediaOut(BaseModel):
    """How keeping one incoming media file went (a :class:`wacloud.delivery.MediaTask` without its location)."""

    media_id: str
    wamid: str
    phone_number_id: str
    sender: str = Field(description="the customer who sent it (phone number or BSUID)")
    kind: str = Field(description="image, audio, video, document or sticker")
    mime_type: str | None = None
    sha256: str | None = Field(default=None, description="hex once stored (the file's); before, as announced")
    filename: str | None = None
    state: str = Field(description="pending, stored, failed or skipped (larger than media_keep_max_bytes)")
    attempts: int
    next_at: float = Field(description="when a pending download is tried next (unix time)")
    size: int | None = None
    last_error: str | None = None
    created_at: float
    updated_at: float


def _keeper(request: Request) -> MediaKeeper:
    keeper = gateway(request).media_keeper
    if keeper is None:
        raise ApiError(404, "incoming media is not kept by this gateway (set media_dir or media_s3_bucket)")
    return keeper


async def _task(request: Request, ref: str) -> tuple[MediaKeeper, MediaTask]:
    keeper = _keeper(request)
    task = await asyncio.to_thread(keeper.queue.get, ref)
    if task is None:
        raise ApiError(404, f"no incoming media kept for {ref}", field="ref")
    return keeper, task


@router.get("/{ref}/status", response_model=KeptMediaOut, summary="Kept media: status")
async def kept_status(request: Request, _: Authenticated, ref: KeptRef) -> dict[str, Any]:
    """How keeping the media of a message went: ``state`` (pending, stored, failed, skipped), attempts,
    the last error, the file's sha256 and size once stored."""
    task = (await _task(request, ref))[1]
    data = task.as_dict()
    data.pop("location", None)
    return data


async def _chunks(stream: BinaryIO) -> AsyncIterator[bytes]:
    """The stream's bytes, read in a worker thread (a file or an S3 body blocks)."""
    try:
        while chunk := await asyncio.to_thread(stream.read, _CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(stream.close)


@router.get(
    "/{ref}",
    summary="Kept media: download",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def kept_content(request: Request, _: Authenticated, ref: KeptRef) -> StreamingResponse:
    """The kept file, with its MIME type; 409 while it is not kept yet, 404 once given up on."""
    keeper, task = await _task(request, ref)
    if task.state == "pending":
        raise ApiError(409, f"not kept yet (attempt {task.attempts} of {keeper.policy.attempts})", field="ref",
                       state=task.state, last_error=task.last_error)
    if task.state != "stored" or not task.location:
        raise ApiError(404, f"the media of {ref} was not kept: {task.last_error or task.state}", field="ref",
                       state=task.state)
    try:
        stream = await asyncio.to_thread(keeper.store.open, task.location)
    except MediaStoreError as exc:
        raise ApiError(404, str(exc), field="ref") from None
    headers = {"X-Wacloud-Sha256": task.sha256 or "", "ETag": f'"{task.sha256}"'}
    if task.size is not None:
        headers["Content-Length"] = str(task.size)
    if task.filename:
        safe = "".join(c for c in task.filename if c.isascii() and c.isprintable() and c not in '"\\')[:200]
        headers["Content-Disposition"] = f'attachment; filename="{safe}"'
    return StreamingResponse(_chunks(stream), media_type=task.mime_type or "application/octet-stream",
                             headers=headers)


__all__ = ["router"]
