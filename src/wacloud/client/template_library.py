"""Template operations beyond create/edit/delete: Meta's template library (browse, create from a library
template), archive/unarchive, unpause, compare two templates, and migrate templates between WABAs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.templates import CreatedTemplate, Page, _id, list_params, parse_answer, success
from wacloud.template_rules import LANGUAGE_RE, NAME_RE

#: Lookback windows the comparison endpoint accepts: exactly 7, 30, 60 or 90 days [OFF template-comparison].
COMPARE_WINDOWS_S = frozenset({7 * 86400, 30 * 86400, 60 * 86400, 90 * 86400})
LIBRARY_CATEGORIES = frozenset({"UTILITY", "AUTHENTICATION", "MARKETING"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class TemplateComparison(_Model):
    """The compare answer: one entry per metric (``BLOCK_RATE``, ``MESSAGE_SENDS``, ``TOP_BLOCK_REASON``)."""

    data: list[dict[str, Any]] = Field(default_factory=list)

    def metric(self, name: str) -> dict[str, Any] | None:
        """The entry of one metric, or None."""
        return next((m for m in self.data if m.get("metric") == name), None)


class MigrationResult(_Model):
    """Templates copied to the destination WABA, and those that failed with Meta's reason per id."""

    migrated_templates: list[str] = Field(default_factory=list)
    failed_templates: dict[str, str] = Field(default_factory=dict)


def library_button_inputs(inputs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check ``library_template_button_inputs``: one object per library button, each with its ``type``
    and the value Meta needs for it (``url.base_url`` for URL, ``phone_number`` for PHONE_NUMBER)."""
    if isinstance(inputs, Mapping | str) or not isinstance(inputs, Sequence):
        raise errors.ValidationError("library_template_button_inputs", "must be a list of button objects")
    out: list[dict[str, Any]] = []
    for i, item in enumerate(inputs):
        where = f"library_template_button_inputs[{i}]"
        if not isinstance(item, Mapping):
            raise errors.ValidationError(where, "must be an object")
        btype = str(item.get("type", "")).upper()
        if btype == "URL":
            url = item.get("url")
            base = url.get("base_url") if isinstance(url, Mapping) else None
            if not isinstance(base, str) or not base.startswith(("https://", "http://")):
                raise errors.ValidationError(f"{where}.url.base_url", "a URL button needs an http(s) base_url")
        elif btype == "PHONE_NUMBER":
            if not isinstance(item.get("phone_number"), str) or not item["phone_number"].strip():
                raise errors.ValidationError(f"{where}.phone_number", "a PHONE_NUMBER button needs a phone number")
        elif btype not in ("QUICK_REPLY", "OTP", "COPY_CODE"):
            raise errors.ValidationError(f"{where}.type", f"{item.get('type')!r} is not a library button type")
        out.append({**dict(item), "type": btype})
    return out


class TemplateLibraryApi(ApiConfig):
    """Template library, archive/unarchive, unpause, compare and migrate."""

    @operation
    def list_library_templates(
        self,
        *,
        search: str | None = None,
        topic: str | None = None,
        usecase: str | None = None,
        industry: str | None = None,
        language: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> Operation[Page]:
        """One page of Meta's template library (``GET /message_template_library``), filtered as Meta names it."""
        params = list_params(
            search=search, topic=topic, usecase=usecase, industry=industry, language=language, limit=limit,
            after=after,
        )
        body = yield from call(Request("GET", "message_template_library", params=params or None))
        return parse_answer(Page, body or {})

    @operation
    def create_from_library(
        self,
        name: str,
        library_template_name: str,
        *,
        category: str,
        language: str,
        button_inputs: Sequence[Mapping[str, Any]] | None = None,
        waba_id: str | None = None,
    ) -> Operation[CreatedTemplate]:
        """Create a template from a library template (pre-approved, fixed category); URL and phone buttons of
        the library template take their values from ``button_inputs``."""
        waba = self.require_waba(waba_id)
        if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > 512:
            raise errors.ValidationError("name", "lower-case letters, digits and underscores, at most 512")
        if not isinstance(library_template_name, str) or not library_template_name:
            raise errors.ValidationError("library_template_name", "is required")
        if str(category).upper() not in LIBRARY_CATEGORIES:
            raise errors.ValidationError("category", f"{category!r} is not one of {sorted(LIBRARY_CATEGORIES)}")
        if not isinstance(language, str) or not LANGUAGE_RE.match(language):
            raise errors.ValidationError("language", f"{language!r} is not a template language code such as 'en_US'")
        body: dict[str, Any] = {
            "name": name,
            "category": str(category).upper(),
            "language": language,
            "library_template_name": library_template_name,
        }
        if button_inputs is not None:
            body["library_template_button_inputs"] = library_button_inputs(button_inputs)
        answer = yield from call(Request("POST", f"{waba}/message_templates", json=body))
        return parse_answer(CreatedTemplate, answer)

    @operation
    def archive_template(self, template_id: str) -> Operation[bool]:
        """Archive a template (it stops being sendable; unarchive it to use it again).

        The path (``POST /{template-id}/archive``) is not confirmed in Meta's reference; the sandbox
        answers it. Use :meth:`edit_template`-style raw calls if Meta documents another shape.
        """
        answer = yield from call(Request("POST", f"{_id(template_id, 'template_id')}/archive"))
        return success(answer)

    @operation
    def unarchive_template(self, template_id: str) -> Operation[bool]:
        """Bring an archived template back to the status it had (see :meth:`archive_template` on the path)."""
        answer = yield from call(Request("POST", f"{_id(template_id, 'template_id')}/unarchive"))
        return success(answer)

    @operation
    def unpause_template(self, template_id: str) -> Operation[bool]:
        """Unpause a template Meta paused for low quality (``POST /{template-id}/unpause``)."""
        answer = yield from call(Request("POST", f"{_id(template_id, 'template_id')}/unpause"))
        return success(answer)

    @operation
    def compare_templates(
        self, template_id: str, other_template_id: str, *, start: int, end: int
    ) -> Operation[TemplateComparison]:
        """Compare two templates of the WABA over a 7, 30, 60 or 90 day window (Unix seconds)."""
        target = _id(template_id, "template_id")
        other = _id(other_template_id, "other_template_id")
        if other == target:
            raise errors.ValidationError("other_template_id", "compare a template with another one")
        for key, value in (("start", start), ("end", end)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise errors.ValidationError(key, "must be a Unix timestamp in seconds")
        if end - start not in COMPARE_WINDOWS_S:
            raise errors.ValidationError("start", "the window (end - start) must be exactly 7, 30, 60 or 90 days")
        params: dict[str, str | int] = {"template_ids": json.dumps([other]), "start": start, "end": end}
        body = yield from call(Request("GET", f"{target}/compare", params=params))
        return parse_answer(TemplateComparison, body or {})

    @operation
    def migrate_templates(
        self, source_waba_id: str, *, page_number: int | None = None, waba_id: str | None = None
    ) -> Operation[MigrationResult]:
        """Copy the templates of ``source_waba_id`` into this WABA (the destination); ``page_number`` pages
        through a large source (Meta migrates in pages)."""
        dest = self.require_waba(waba_id)
        source = _id(source_waba_id, "source_waba_id")
        if source == dest:
            raise errors.ValidationError("source_waba_id", "the source and the destination WABA are the same")
        body: dict[str, Any] = {"source_waba_id": source}
        if page_number is not None:
            if not isinstance(page_number, int) or isinstance(page_number, bool) or page_number < 0:
                raise errors.ValidationError("page_number", "must be a whole number ≥ 0")
            body["page_number"] = page_number
        answer = yield from call(Request("POST", f"{dest}/migrate_message_templates", json=body))
        return parse_answer(MigrationResult, answer or {})
