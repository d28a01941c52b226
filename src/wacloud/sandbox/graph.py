"""Graph API routes other than sends: media, message templates, and the ``/{object-id}`` dispatch."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from wacloud import limits
from wacloud.sandbox.errors import GraphError, param
from wacloud.sandbox.management import ManagementRateLimited, management_state
from wacloud.sandbox.state import Media
from wacloud.sandbox.templates import edit_template, make_template, schedule_review, set_status

if TYPE_CHECKING:
    from wacloud.sandbox.state import SandboxState

DOWNLOAD_PATH = "/whatsapp_business/attachments/"
_SUCCESS = {"success": True}


def graph_error(state: SandboxState, err: GraphError) -> JSONResponse:
    """A JSON error answer in Meta's shape."""
    return JSONResponse(err.body(state.ids.fbtrace_id()), status_code=err.http_status)


def no_object(object_id: str, method: str) -> GraphError:
    """Graph's answer for an id that does not exist (or is not ours)."""
    return GraphError(
        100,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation.",
        subcode=33,
    )


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: hostile deep nesting
        raise param("The request body is not valid JSON.") from None


class GraphRoutes:
    """The handlers, bound to one sandbox state."""

    def __init__(self, state: SandboxState, fallthrough: ASGIApp) -> None:
        self.state = state
        self.fallthrough = fallthrough

    def routes(self) -> list[BaseRoute]:
        """Starlette routes (paths without the version prefix)."""
        return [
            Route(DOWNLOAD_PATH, self.download, methods=["GET"]),
            Route("/{phone_number_id}/media", self.upload, methods=["POST"]),
            Route("/{waba_id}/message_templates", self.templates, methods=["GET", "POST", "DELETE"]),
            Route("/{object_id}", _ObjectDispatch(self), methods=["GET", "POST", "DELETE"]),
        ]

    # --- media -------------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        """``POST /{phone-number-id}/media`` (multipart: file, type, messaging_product)."""
        state = self.state
        try:
            phone = request.path_params["phone_number_id"]
            if phone not in state.config.numbers:
                raise no_object(phone, "post")
            try:
                form = await request.form(max_files=1, max_fields=10)
            except Exception:
                raise param("The upload must be multipart/form-data with file, type and messaging_product.") from None
            try:
                product = form.get("messaging_product")
                if product is None:
                    raise param("The parameter messaging_product is required.")
                if product != "whatsapp":
                    raise param("Param messaging_product must be one of {WHATSAPP}.")
                upload = form.get("file")
                if not isinstance(upload, UploadFile):
                    raise param("The parameter file is required.")
                mime = form.get("type")
                if not isinstance(mime, str) or not mime:
                    raise param("The parameter type is required.")
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

    def _live_media(self, media_id: str, request: Request, method: str) -> Media:
        media = self.state.media.get(media_id)
        owner = request.query_params.get("phone_number_id")
        if (
            media is None
            or self.state.clock.now() - media.uploaded_at > limits.MEDIA_TTL_S
            or (owner is not None and owner != media.phone_number_id)
        ):
            raise no_object(media_id, method)
        return media

    def _url_hash(self, media_id: str, expires: int) -> str:
        key = self.state.config.app_secret.encode()
        return hmac.new(key, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def media_info(self, media: Media, request: Request) -> Response:
        """``GET /{media-id}``: a download URL valid for ``MEDIA_URL_TTL_S`` on the sandbox clock."""
        # Rounded up to whole seconds (like Meta's ``ext``), so a URL never dies early.
        expires = math.ceil(self.state.clock.now() + limits.MEDIA_URL_TTL_S)
        base = str(request.base_url).rstrip("/")
        url = f"{base}{DOWNLOAD_PATH}?mid={media.id}&ext={expires}&hash={self._url_hash(media.id, expires)}"
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

    async def download(self, request: Request) -> Response:
        """The media URL itself (Bearer token checked by the gate); 404 once expired."""
        q = request.query_params
        media = self.state.media.get(q.get("mid", ""))
        try:
            expires = int(q.get("ext", ""))
        except ValueError:
            expires = -1
        valid = (
            media is not None
            and hmac.compare_digest(q.get("hash", ""), self._url_hash(media.id, expires))
            and self.state.clock.now() <= expires
        )
        if media is None or not valid:
            return JSONResponse(
                GraphError(100, "The media URL is invalid or has expired; GET the media id again for a new URL.").body(
                    self.state.ids.fbtrace_id()
                ),
                status_code=404,
            )
        return Response(
            media.data,
            media_type=media.mime_type,
            headers={"Content-Disposition": f"attachment; filename={media.filename or media.id}"},
        )

    # --- templates -----------------------------------------------------------------------------

    async def templates(self, request: Request) -> Response:
        """``GET/POST/DELETE /{waba-id}/message_templates``."""
        state = self.state
        usage: dict[str, str] = {}
        try:
            waba = request.path_params["waba_id"]
            if waba != state.config.waba_id:
                raise no_object(waba, request.method)
            # Template management counts against the WABA's management budget like the other WABA calls.
            usage = management_state(state).charge(state, waba)
            if request.method == "GET":
                response = self._list_templates(request)
            elif request.method == "POST":
                data = await _json(request)
                tpl = make_template(state, data, strict=True)
                schedule_review(state, tpl)
                if tpl.status == "APPROVED":
                    set_status(state, tpl, "APPROVED")
                response = JSONResponse({"id": tpl.id, "status": tpl.status, "category": tpl.category})
            else:
                response = self._delete_templates(request)
        except ManagementRateLimited as err:
            response = graph_error(state, err)
            usage = err.headers
        except GraphError as err:
            response = graph_error(state, err)
        response.headers.update(usage)
        return response

    def _list_templates(self, request: Request) -> Response:
        q = request.query_params
        items = list(self.state.templates.values())
        if q.get("name"):
            items = [t for t in items if t.name == q["name"]]
        for key, attr in (("status", "status"), ("category", "category"), ("language", "language")):
            if q.get(key):
                wanted = {v.strip().upper() if key != "language" else v.strip() for v in q[key].split(",")}
                items = [t for t in items if getattr(t, attr) in wanted]
        try:
            limit = max(1, min(1000, int(q.get("limit", "25"))))
            start = int(base64.b64decode(q["after"]).decode()) if q.get("after") else 0
        except (ValueError, UnicodeDecodeError):
            raise param("Param limit/after is not valid.") from None
        page = items[start : start + limit]
        fields = [f.strip() for f in q["fields"].split(",")] if q.get("fields") else None
        data = []
        for tpl in page:
            obj = tpl.to_graph()
            if fields:
                obj = {k: v for k, v in obj.items() if k in fields or k == "id"}
            data.append(obj)
        body: dict[str, Any] = {
            "data": data,
            "paging": {
                "cursors": {
                    "before": base64.b64encode(str(start).encode()).decode(),
                    "after": base64.b64encode(str(start + len(page)).encode()).decode(),
                }
            },
        }
        if start + len(page) < len(items):
            after = body["paging"]["cursors"]["after"]
            body["paging"]["next"] = (
                f"{str(request.base_url).rstrip('/')}{request.url.path}?limit={limit}&after={after}"
            )
        return JSONResponse(body)

    def _delete_templates(self, request: Request) -> Response:
        state = self.state
        q = request.query_params
        if q.get("hsm_ids"):
            try:
                ids = [str(i) for i in json.loads(q["hsm_ids"])]
            except (ValueError, TypeError):
                raise param("Param hsm_ids must be a JSON array of template ids.") from None
            if len(ids) > 100:
                raise param("Param hsm_ids must have at most 100 ids.")
            unknown = [i for i in ids if i not in state.templates]
            if unknown:
                raise param(f"Param hsm_ids contains unknown template ids: {unknown}.")
            victims = [state.templates[i] for i in ids]
        else:
            name = q.get("name")
            if not name:
                raise param("The parameter name is required.")
            victims = [t for t in state.templates.values() if t.name == name]
            if q.get("hsm_id"):
                victims = [t for t in victims if t.id == q["hsm_id"]]
            if not victims:
                raise GraphError(100, f"Message template {name!r} not found.")
        for tpl in victims:
            if tpl.status == "DISABLED":
                raise param(f"Disabled template {tpl.name} can't be deleted.")
        for tpl in victims:
            del state.templates[tpl.id]
            state.dispatcher.emit(tpl.id, "message_template_status_update", _deleted_value(tpl), with_time=True)
        return JSONResponse(_SUCCESS)


def _deleted_value(tpl: Any) -> dict[str, Any]:
    from wacloud.sandbox.payloads import template_status_value

    return template_status_value(tpl, "DELETED", None)


class _ObjectDispatch:
    """``/{object-id}``: media and templates here; anything else goes to the management routes."""

    def __init__(self, graph: GraphRoutes) -> None:
        self.graph = graph

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        graph = self.graph
        state = graph.state
        object_id = scope["path_params"]["object_id"]
        request = Request(scope, receive)
        method = request.method
        response: Response
        usage: dict[str, str] = {}
        try:
            if object_id in state.media:
                media = graph._live_media(object_id, request, method)
                if method == "GET":
                    response = graph.media_info(media, request)
                elif method == "DELETE":
                    del state.media[object_id]
                    response = JSONResponse(_SUCCESS)
                else:
                    raise no_object(object_id, method)
            elif object_id in state.templates:
                tpl = state.templates[object_id]
                usage = management_state(state).charge(state, state.config.waba_id)
                if method == "GET":
                    response = JSONResponse(tpl.to_graph())
                elif method == "POST":
                    edit_template(tpl, await _json(request), strict=True)
                    # An edited template goes through review again.
                    tpl.status = "PENDING"
                    schedule_review(state, tpl)
                    response = JSONResponse(_SUCCESS)
                else:
                    raise no_object(object_id, method)
            else:
                await graph.fallthrough(scope, receive, send)
                return
        except ManagementRateLimited as err:
            response = graph_error(state, err)
            usage = err.headers
        except GraphError as err:
            response = graph_error(state, err)
        response.headers.update(usage)
        await response(scope, receive, send)
