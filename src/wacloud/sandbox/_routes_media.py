"""Media: ``POST /{phone-number-id}/media``, ``GET``/``DELETE /{media-id}`` and the download URL."""

from __future__ import annotations

import hashlib
import hmac
import math
import mimetypes

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from wacloud import limits
from wacloud.sandbox._errors import GraphError, param
from wacloud.sandbox._http import graph_error, no_object, sandbox_of
from wacloud.sandbox._model import Media
from wacloud.sandbox._state import SandboxState

DOWNLOAD_PATH = "/whatsapp_business/attachments/"
_SUCCESS = {"success": True}


async def upload(request: Request) -> Response:
    """``POST /{phone-number-id}/media`` (multipart: file, type, messaging_product)."""
    state = sandbox_of(request)
    try:
        phone = request.path_params["phone_number_id"]
        if phone not in state.config.numbers:
            raise no_object(phone, "post")
        try:
            form = await request.form(max_files=1, max_fields=10)
        except Exception:
            raise param("The upload must be multipart/form-data with file, type and messaging_product.") from None
        try:
            # Graph takes parameters from the query string on POST too.
            product = form.get("messaging_product") or request.query_params.get("messaging_product")
            if product is None:
                raise param("The parameter messaging_product is required.")
            if product != "whatsapp":
                raise param("Param messaging_product must be one of {WHATSAPP}.")
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise param("The parameter file is required.")
            mime = form.get("type") or request.query_params.get("type") or _file_type(upload)
            if not isinstance(mime, str) or not mime:
                raise param("The parameter type is required (the file part carries no content type).")
            kind = limits.media_kind_for_mime(mime)
            if kind is None:
                raise GraphError(
                    131053,
                    f"Param type {mime!r} is not a supported media type; use one of "
                    f"{', '.join(sorted(limits.ALL_MEDIA_MIME_TYPES))}.",
                )
            rule = limits.MEDIA_RULES[kind]
            data = await upload.read(rule.max_bytes + 1)
            if len(data) > rule.max_bytes:
                raise GraphError(131053, f"The {kind.value} file is larger than {rule.max_bytes} bytes.")
            if not data:
                raise GraphError(131053, "The uploaded file is empty.")
            filename = upload.filename
        finally:
            await form.close()
        media = Media(
            id=state.ids.object_id(),
            phone_number_id=phone,
            mime_type=mime.split(";")[0].strip(),
            data=data,
            sha256_hex=hashlib.sha256(data).hexdigest(),
            uploaded_at=state.clock.now(),
            filename=filename,
        )
        state.media[media.id] = media
        return JSONResponse({"id": media.id})
    except GraphError as err:
        return graph_error(state, err)


def _file_type(upload: UploadFile) -> str | None:
    """The media type of a file part that has no ``type`` field: its own content type, else its name's.

    Meta's upload example sends only the file and messaging_product; curl labels the part by extension."""
    given = (upload.content_type or "").split(";")[0].strip()
    if given and given != "application/octet-stream":
        return given
    guessed, _ = mimetypes.guess_type(upload.filename or "")
    return guessed


def live_media(media_id: str, request: Request, method: str) -> Media:
    state = sandbox_of(request)
    media = state.media.get(media_id)
    owner = request.query_params.get("phone_number_id")
    if (
        media is None
        or state.clock.now() - media.uploaded_at > limits.MEDIA_TTL_S
        or (owner is not None and owner != media.phone_number_id)
    ):
        raise no_object(media_id, method)
    return media


def _url_hash(state: SandboxState, media_id: str, expires: int) -> str:
    key = state.config.app_secret.encode()
    return hmac.new(key, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]


def media_info(media: Media, request: Request) -> Response:
    """``GET /{media-id}``: a download URL valid for ``MEDIA_URL_TTL_S`` on the sandbox clock."""
    state = sandbox_of(request)
    # Rounded up to whole seconds (like Meta's ``ext``), so a URL never dies early.
    expires = math.ceil(state.clock.now() + limits.MEDIA_URL_TTL_S)
    base = str(request.base_url).rstrip("/")
    url = f"{base}{DOWNLOAD_PATH}?mid={media.id}&ext={expires}&hash={_url_hash(state, media.id, expires)}"
    return JSONResponse(
        {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": media.mime_type,
            "sha256": media.sha256_hex,
            "file_size": str(len(media.data)),
            "id": media.id,
        }
    )


async def download(request: Request) -> Response:
    """The media URL itself (Bearer token checked by the gate); 404 once expired."""
    state = sandbox_of(request)
    q = request.query_params
    media = state.media.get(q.get("mid", ""))
    try:
        expires = int(q.get("ext", ""))
    except ValueError:
        expires = -1
    valid = (
        media is not None
        and hmac.compare_digest(q.get("hash", ""), _url_hash(state, media.id, expires))
        and state.clock.now() <= expires
    )
    if media is None or not valid:
        return JSONResponse(
            GraphError(100, "The media URL is invalid or has expired; GET the media id again for a new URL.").body(
                state.ids.fbtrace_id()
            ),
            status_code=404,
        )
    return Response(
        media.data,
        media_type=media.mime_type,
        headers={"Content-Disposition": f"attachment; filename={media.filename or media.id}"},
    )


async def object_answer(request: Request, media: Media) -> Response:
    """``GET``/``DELETE /{media-id}`` (the ``/{object-id}`` route hands media ids here)."""
    state = sandbox_of(request)
    try:
        media = live_media(media.id, request, request.method)
        if request.method == "GET":
            return media_info(media, request)
        if request.method == "DELETE":
            del state.media[media.id]
            return JSONResponse(_SUCCESS)
        raise no_object(media.id, request.method)
    except GraphError as err:
        return graph_error(state, err)


ROUTES: list[BaseRoute] = [
    Route(DOWNLOAD_PATH, download, methods=["GET"]),
    Route("/{phone_number_id}/media", upload, methods=["POST"]),
]
