"""The media routes under ``/v1/media``: upload (streamed, capped), info, download, delete.

The business token can read and delete far more than media, so these routes act on media ids only:
a media id is numeric, the gateway's own phone number and WABA are refused, and an id whose Graph
object is not media (no download ``url``) is answered 404 without being deleted. Whatever the Graph
API answers unexpectedly becomes a 502 with a reason, never a 500.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from wacloud import errors
from wacloud.client import AsyncClient
from wacloud.client.models import MediaInfo, UnexpectedResponse
from wacloud.gateway._api import gateway
from wacloud.gateway._api_errors import ApiError, whatsapp_error
from wacloud.gateway._auth import Authenticated
from wacloud.gateway._keys import KeyInfo
from wacloud.gateway._media_upload import UploadRejected, read_upload
from wacloud.gateway._numbers_api import NumberQuery, lane_for
from wacloud.gateway._schemas import Deleted, ErrorOut, MediaOut

router = APIRouter(
    prefix="/v1",
    tags=["media"],
    responses={s: {"model": ErrorOut} for s in (400, 401, 404, 409, 413, 422, 502, 503)},
)

#: Graph media ids are numeric (Meta's are 15-17 digits).
MediaId = Annotated[
    str, Path(min_length=1, max_length=32, pattern=r"^[0-9]+$", description="a media id (digits only)")
]

_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "type": {
                        "type": "string",
                        "maxLength": 255,
                        "description": "MIME type (defaults to the file part's); put it before the file",
                    },
                },
            }
        }
    },
}


def _client(request: Request, key: KeyInfo, number: str | None) -> AsyncClient:
    """The client of the number the call is for (``?number=``, its own token; the key's limits apply)."""
    gw = gateway(request)
    if len(gw.numbers):
        return lane_for(gw, key, number).client
    if gw.client is None:
        raise ApiError(503, "the Cloud API client is not available in this process")
    return gw.client


def _upstream(exc: Exception) -> ApiError:
    """An answer from the Graph API that makes no sense here, or no answer at all: 502 with a reason."""
    if isinstance(exc, errors.WhatsAppError):
        return whatsapp_error(exc)
    if isinstance(exc, errors.TransportError):
        return ApiError(502, f"the Cloud API could not be reached: {exc}"[:300])
    return ApiError(502, f"unexpected answer from the Cloud API: {exc}"[:300])


async def _media_info(request: Request, client: AsyncClient, media_id: str) -> MediaInfo:
    """The Graph media object for ``media_id``; 404 when the id names anything but media."""
    gw = gateway(request)
    own = {gw.creds.phone_number_id, gw.creds.waba_id}
    own |= {i for lane in gw.numbers for i in (lane.phone_number_id, lane.spec.waba_id)}
    if media_id in own:
        raise ApiError(404, f"{media_id} is this gateway's phone number or WABA, not media", field="media_id")
    try:
        return await client.media_url(media_id)
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field="media_id") from None
    except errors.WacloudError as exc:
        # A Graph object without a download url is not media (a template, a user, ...); a url that is
        # there but malformed is the Graph API's surprise (502). from_graph chains only the latter.
        if isinstance(exc, UnexpectedResponse) and exc.__cause__ is None:
            raise ApiError(404, f"no media {media_id}: that Graph object is not media", field="media_id") from None
        raise _upstream(exc) from None


@router.post(
    "/media",
    status_code=201,
    response_model=MediaOut,
    summary="Upload media",
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def upload_media(request: Request, key: Authenticated, number: NumberQuery = None) -> dict[str, Any]:
    """Upload a file (multipart ``file``, optional ``type``) for the number ``?number=`` (optional with one
    number), with its token; refused as soon as it passes its size cap."""
    client = _client(request, key, number)
    try:
        upload = await read_upload(request.headers, request.stream())
    except UploadRejected as exc:
        raise ApiError(exc.status, exc.reason, field=exc.field, **exc.extra) from None
    try:
        mime = upload.mime
        content: Any = upload.file if upload.size > 1024 * 1024 else upload.file.read()
        try:
            media_id = await client.upload(content, mime, filename=upload.filename or "upload")
        except errors.ValidationError as exc:
            field = "file" if exc.field in ("file", "media") else exc.field
            if field == "mime_type" and upload.type is not None:
                field = "type"
            raise ApiError(422, exc.reason, field=field) from None
        except errors.WacloudError as exc:
            raise _upstream(exc) from None
    finally:
        upload.close()
    return {"id": str(media_id), "mime_type": mime, "file_size": upload.size}


@router.get("/media/{media_id}", response_model=MediaOut, summary="Media info")
async def media_info(request: Request, key: Authenticated, media_id: MediaId, number: NumberQuery = None) -> MediaOut:
    """URL (short-lived), MIME type, sha256 and size (read with the token of ``?number=``)."""
    info = await _media_info(request, _client(request, key, number), media_id)
    return MediaOut(**info.model_dump(include=set(MediaOut.model_fields)))


@router.get(
    "/media/{media_id}/content",
    summary="Download media",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def media_content(request: Request, key: Authenticated, media_id: MediaId,
                        number: NumberQuery = None) -> Response:
    """The media bytes (sha256 checked), downloaded with the token of ``?number=``."""
    client = _client(request, key, number)
    info = await _media_info(request, client, media_id)
    try:
        data = await client.download(info)
    except errors.WacloudError as exc:
        raise _upstream(exc) from None
    return Response(content=data, media_type=info.mime_type or "application/octet-stream")


@router.delete("/media/{media_id}", response_model=Deleted, summary="Delete media")
async def delete_media(request: Request, key: Authenticated, media_id: MediaId,
                       number: NumberQuery = None) -> dict[str, Any]:
    """Delete uploaded media (only once the Graph API confirms the id is media), with the token of ``?number=``."""
    client = _client(request, key, number)
    await _media_info(request, client, media_id)
    try:
        return {"deleted": bool(await client.delete_media(media_id))}
    except errors.ValidationError as exc:
        raise ApiError(422, exc.reason, field="media_id") from None
    except errors.WacloudError as exc:
        raise _upstream(exc) from None


__all__ = ["router"]
