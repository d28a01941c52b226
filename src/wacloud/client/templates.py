"""Message templates: list (paged, filtered), get, create (checked locally first), edit, delete,
sample-media upload for header handles (resumable upload API), and the pre-send check."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.models import SentMessage, UnexpectedResponse
from wacloud.identity import is_bsuid
from wacloud.limits import limit
from wacloud.template_rules import bsuid_refusal
from wacloud.templates.builder import TemplateDefinition
from wacloud.templates.cache import TemplateCache
from wacloud.templates.check import check_send
from wacloud.templates.rules import check_definition


class Page(BaseModel):
    """One page of a Graph list: ``data`` plus the cursors to go on."""

    model_config = ConfigDict(extra="allow")

    data: list[dict[str, Any]] = Field(default_factory=list)
    paging: dict[str, Any] | None = None

    @property
    def after(self) -> str | None:
        """The cursor of the next page, or None on the last page (Graph omits ``next`` there)."""
        if not self.paging or not self.paging.get("next"):
            return None
        value = (self.paging.get("cursors") or {}).get("after")
        return str(value) if value else None

    @property
    def before(self) -> str | None:
        """The cursor of the previous page."""
        value = ((self.paging or {}).get("cursors") or {}).get("before")
        return str(value) if value else None


class CreatedTemplate(BaseModel):
    """The answer to a template creation: ``id``, ``status`` (PENDING, APPROVED…), ``category``."""

    model_config = ConfigDict(extra="allow")

    id: str
    status: str | None = None
    category: str | None = None


def list_params(**values: object) -> dict[str, str | int]:
    """Query parameters without the ``None`` values (lists become comma-separated)."""
    out: dict[str, str | int] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
        else:
            out[key] = str(value)
    return out


M = TypeVar("M", bound=BaseModel)


def parse_answer(model: type[M], body: Any) -> M:
    """Type a 2xx answer; a body that does not fit is an :class:`UnexpectedResponse`, not a crash."""
    try:
        return model.model_validate(body if body is not None else {})
    except PydanticValidationError as exc:
        raise UnexpectedResponse(f"unexpected {model.__name__} answer: {str(body)[:200]}") from exc


def success(body: Any) -> bool:
    """True for Graph's ``{"success": true}`` answers."""
    return bool(isinstance(body, Mapping) and body.get("success") is True)


class TemplatesApi(ApiConfig):
    """Message templates: list, get, create, edit, delete, sample upload and the pre-send check."""

    @property
    def template_cache(self) -> TemplateCache:
        """Definitions used by the pre-send check; feed it template webhooks (``on_webhook_change``)."""
        cache = self.__dict__.get("_template_cache")
        if cache is None:
            cache = TemplateCache()
            self.__dict__["_template_cache"] = cache
        return cache

    @operation
    def list_templates(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        category: str | None = None,
        language: str | None = None,
        fields: Sequence[str] | None = None,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
        waba_id: str | None = None,
    ) -> Operation[Page]:
        """One page of the WABA's templates (filters as Meta names them; ``after`` for the next page)."""
        waba = self.require_waba(waba_id)
        params = list_params(
            name=name,
            status=status,
            category=category,
            language=language,
            fields=list(fields) if fields else None,
            limit=limit,
            after=after,
            before=before,
        )
        body = yield from call(Request("GET", f"{waba}/message_templates", params=params))
        return parse_answer(Page, body or {})

    @operation
    def all_templates(
        self,
        *,
        name: str | None = None,
        status: str | None = None,
        category: str | None = None,
        language: str | None = None,
        page_size: int = 100,
        waba_id: str | None = None,
    ) -> Operation[list[dict[str, Any]]]:
        """Every template matching the filters, following the paging cursors."""
        waba = self.require_waba(waba_id)
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params = list_params(
                name=name, status=status, category=category, language=language, limit=page_size, after=after
            )
            body = yield from call(Request("GET", f"{waba}/message_templates", params=params))
            page = parse_answer(Page, body or {})
            out.extend(page.data)
            after = page.after
            if not after or not page.data:
                return out

    @operation
    def get_template(self, template_id: str, *, fields: Sequence[str] | None = None) -> Operation[dict[str, Any]]:
        """One template by id."""
        params = list_params(fields=list(fields) if fields else None)
        body = yield from call(Request("GET", _id(template_id, "template_id"), params=params or None))
        return dict(body or {})

    @operation
    def create_template(
        self,
        definition: TemplateDefinition | Mapping[str, Any],
        *,
        check_quota: bool = False,
        waba_id: str | None = None,
    ) -> Operation[CreatedTemplate]:
        """Create a template from the builder or a plain create body, checked against Meta's rules first.

        ``check_quota`` first counts the WABA's templates (one more call per 100 templates) so the
        250-template cap is reported locally instead of as Meta's 2388019.
        """
        waba = self.require_waba(waba_id)
        if not isinstance(definition, TemplateDefinition | Mapping):
            raise errors.ValidationError("template", "must be a TemplateDefinition or a create body object")
        body = definition.to_graph() if isinstance(definition, TemplateDefinition) else dict(definition)
        check_definition(body)
        if check_quota:
            existing = yield from TemplatesApi.all_templates.flow(self, waba_id=waba)
            check_definition(body, existing_count=len(existing))
        answer = yield from call(Request("POST", f"{waba}/message_templates", json=body))
        return parse_answer(CreatedTemplate, answer)

    @operation
    def edit_template(
        self,
        template_id: str,
        *,
        components: Sequence[Mapping[str, Any]] | None = None,
        category: str | None = None,
        message_send_ttl_seconds: int | None = None,
    ) -> Operation[bool]:
        """Replace a template's components, change its category or its TTL."""
        body: dict[str, Any] = {}
        if components is not None:
            body["components"] = [dict(c) for c in components]
        if category is not None:
            body["category"] = category
        if message_send_ttl_seconds is not None:
            body["message_send_ttl_seconds"] = message_send_ttl_seconds
        if not body:
            raise errors.ValidationError("template", "nothing to edit: give components, category or a TTL")
        answer = yield from call(Request("POST", _id(template_id, "template_id"), json=body))
        return success(answer)

    @operation
    def delete_template(
        self,
        name: str | None = None,
        *,
        template_id: str | None = None,
        hsm_ids: Sequence[str] | None = None,
        waba_id: str | None = None,
    ) -> Operation[bool]:
        """Delete by name (all languages), by name and id (one language), or up to 100 ids at once."""
        waba = self.require_waba(waba_id)
        params: dict[str, str | int] = {}
        if hsm_ids is not None:
            cap = limit("template.delete.hsm_ids")
            if not cap.min <= len(hsm_ids) <= cap.max:
                raise errors.ValidationError(
                    "hsm_ids", f"give {cap.min}–{cap.max} template ids", size=len(hsm_ids), limit=cap.max
                )
            params["hsm_ids"] = json.dumps([str(i) for i in hsm_ids])
        elif name:
            params["name"] = name
            if template_id:
                params["hsm_id"] = template_id
        else:
            raise errors.ValidationError("name", "give a template name (optionally with template_id) or hsm_ids")
        answer = yield from call(Request("DELETE", f"{waba}/message_templates", params=params))
        return success(answer)

    @operation
    def upload_sample(
        self,
        file: Path | bytes,
        mime_type: str | None = None,
        *,
        filename: str | None = None,
        app_id: str | None = None,
    ) -> Operation[str]:
        """Upload a header sample with the resumable upload API; return its handle for ``header_handle``."""
        app = app_id or self.app_id
        if not app:
            raise errors.ValidationError("app_id", "the resumable upload API needs the app id (Client(app_id=...))")
        if isinstance(file, Path):
            data, name = file.read_bytes(), filename or file.name
        else:
            data, name = bytes(file), filename or "sample"
        mime = mime_type or mimetypes.guess_type(name)[0]
        if not mime:
            raise errors.ValidationError("mime_type", f"cannot tell the MIME type of {name!r}; pass mime_type")
        if not data:
            raise errors.ValidationError("file", "the file is empty")
        session = yield from call(
            Request(
                "POST",
                f"{app}/uploads",
                params={"file_name": name, "file_length": len(data), "file_type": mime},
            )
        )
        upload_id = str((session or {}).get("id", ""))
        if not upload_id.startswith("upload:"):
            raise errors.ValidationError("upload", f"unexpected upload session answer: {session!r}")
        done = yield from call(Request("POST", upload_id, content=data, headers={"file_offset": "0"}))
        handle = (done or {}).get("h")
        if not isinstance(handle, str) or not handle:
            raise errors.ValidationError("upload", "the upload finished without a handle")
        return handle

    @operation
    def validate_template_send(
        self, template: Mapping[str, Any], *, refresh: bool = False, waba_id: str | None = None
    ) -> Operation[Mapping[str, Any]]:
        """Check a ``template`` send object against its definition (fetched once, then cached).

        Raises :class:`~wacloud.templates.TemplateMismatch` naming the mismatch; returns the definition.
        """
        name = template.get("name") if isinstance(template, Mapping) else None
        if not isinstance(name, str) or not name:
            raise errors.ValidationError("template.name", "is required")
        cache = self.template_cache
        defs = None if refresh else cache.get(name)
        if defs is None:
            waba = self.require_waba(waba_id)
            body = yield from call(Request("GET", f"{waba}/message_templates", params={"name": name, "limit": 100}))
            page = parse_answer(Page, body or {})
            cache.put(name, page.data)
            defs = cache.get(name) or []
        return check_send(template, defs)

    @operation
    def send_template_checked(
        self,
        to: str,
        template: Mapping[str, Any] | Any,
        *,
        reply_to: str | None = None,
        biz_opaque_callback_data: str | None = None,
        phone_number_id: str | None = None,
    ) -> Operation[SentMessage]:
        """Check ``template`` (a Graph ``template`` object or a ``messages.Template``) against its
        definition, then send it; a mismatch raises before any send request is made.

        ``to`` may be a BSUID (sent as ``recipient``); a one-time-password authentication template is
        then refused (field ``recipient``), as Meta would refuse it with 131062.
        """
        from wacloud.client.messaging import MessagingApi

        if hasattr(template, "to_graph"):
            template = template.to_graph()["template"]
        if not isinstance(template, Mapping):
            raise errors.ValidationError("template", "must be a template object or a messages.Template")
        by_bsuid = is_bsuid(str(to).strip())
        definition = yield from TemplatesApi.validate_template_send.flow(self, template)
        refusal = bsuid_refusal(definition) if by_bsuid else None
        if refusal is not None:
            raise errors.ValidationError("recipient", refusal)
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            ("recipient" if by_bsuid else "to"): str(to).strip() if by_bsuid else to,
            "type": "template",
            "template": dict(template),
        }
        if reply_to:
            body["context"] = {"message_id": reply_to}
        if biz_opaque_callback_data:
            body["biz_opaque_callback_data"] = biz_opaque_callback_data
        return (yield from MessagingApi.send_body.flow(self, body, phone_number_id=phone_number_id))


def _id(value: str, field: str) -> str:
    """A Graph node id used in a path: digits (or Meta's opaque ids) without slashes."""
    text = str(value).strip()
    if not text or "/" in text or "?" in text:
        raise errors.ValidationError(field, f"{value!r} is not an id")
    return text
