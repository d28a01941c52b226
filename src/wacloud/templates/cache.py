"""A cache of template definitions for the pre-send check, kept fresh by template webhooks.

Definitions are stored by name (every language of a name together, as ``GET message_templates?name=``
returns them). ``message_template_status_update`` webhooks update the cached status in place (a
PAUSED template fails the check at once, an APPROVED one passes); ``message_template_components_update``
drops the name so the next check fetches the new components. An optional ``ttl_s`` bounds how long an
entry is trusted without any webhook.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wacloud.templates.check import check_send, normalize_language

#: Webhook events whose name differs from the status a template is left in.
_EVENT_STATUS = {"REINSTATED": "APPROVED", "UNARCHIVED": "APPROVED", "FLAGGED": "APPROVED"}


@dataclass(slots=True)
class _Entry:
    definitions: list[dict[str, Any]]
    stored_at: float
    by_language: dict[str, dict[str, Any]] = field(default_factory=dict)


class TemplateCache:
    """Template definitions by name, refreshed by webhooks (thread-safe)."""

    def __init__(self, *, ttl_s: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def put(self, name: str, definitions: Iterable[Mapping[str, Any]]) -> None:
        """Store every language of template ``name`` (other names in ``definitions`` are ignored)."""
        defs = [dict(d) for d in definitions if d.get("name") == name]
        entry = _Entry(defs, self._clock())
        entry.by_language = {normalize_language(str(d.get("language", ""))): d for d in defs}
        with self._lock:
            self._entries[name] = entry

    def get(self, name: str) -> list[dict[str, Any]] | None:
        """The cached definitions of ``name``; None when unknown or expired (fetch and :meth:`put` then)."""
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                return None
            if self._ttl is not None and self._clock() - entry.stored_at > self._ttl:
                del self._entries[name]
                return None
            return [dict(d) for d in entry.definitions]

    def forget(self, name: str | None = None) -> None:
        """Drop one name, or everything."""
        with self._lock:
            if name is None:
                self._entries.clear()
            else:
                self._entries.pop(name, None)

    def check(self, template: Mapping[str, Any]) -> Mapping[str, Any]:
        """Run the pre-send check against the cached definitions; KeyError when the name is not cached."""
        name = str(template.get("name", "")) if isinstance(template, Mapping) else ""
        defs = self.get(name)
        if defs is None:
            raise KeyError(name)
        return check_send(template, defs)

    def on_status_update(
        self,
        *,
        event: str,
        message_template_name: str | None = None,
        message_template_language: str | None = None,
        message_template_id: int | str | None = None,
        **_: Any,
    ) -> None:
        """Apply a ``message_template_status_update`` webhook's ``value`` fields (pass ``**value``)."""
        status = _EVENT_STATUS.get(event.upper(), event.upper())
        with self._lock:
            for name, entry in list(self._entries.items()):
                for d in entry.definitions:
                    if not _matches(d, name, message_template_name, message_template_language, message_template_id):
                        continue
                    if status in ("DELETED",):
                        entry.definitions.remove(d)
                    else:
                        d["status"] = status
                    break

    def on_components_update(
        self,
        *,
        message_template_name: str | None = None,
        message_template_id: int | str | None = None,
        **_: Any,
    ) -> None:
        """Apply a ``message_template_components_update`` webhook: the name is refetched on next use."""
        with self._lock:
            for name, entry in list(self._entries.items()):
                if name == message_template_name or any(
                    message_template_id is not None and str(d.get("id")) == str(message_template_id)
                    for d in entry.definitions
                ):
                    del self._entries[name]

    def on_webhook_change(self, field: str, value: Mapping[str, Any]) -> bool:
        """Dispatch one webhook ``changes[]`` item by its ``field``; True when it concerned templates."""
        if field == "message_template_status_update" and isinstance(value.get("event"), str):
            self.on_status_update(**{str(k): v for k, v in value.items()})
            return True
        if field == "message_template_components_update":
            self.on_components_update(**{str(k): v for k, v in value.items()})
            return True
        return False

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _matches(
    d: Mapping[str, Any], name: str, wh_name: str | None, wh_lang: str | None, wh_id: int | str | None
) -> bool:
    if wh_id is not None and d.get("id") is not None:
        return str(d.get("id")) == str(wh_id)
    if wh_name is None or wh_name != name:
        return False
    return wh_lang is None or normalize_language(str(d.get("language", ""))) == normalize_language(wh_lang)


def definitions_from_page(page: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The ``data`` list of a ``GET message_templates`` answer (empty when absent)."""
    data = page.get("data")
    return [d for d in data if isinstance(d, Mapping)] if isinstance(data, list) else []
