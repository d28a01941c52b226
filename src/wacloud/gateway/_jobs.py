"""Turning the outbox's :class:`~wacloud.delivery.Job` and its history into the API's ``JobOut`` shape."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from wacloud.delivery import Job, JobEvent, JobState


def _plain(obj: Any) -> Any:
    """Dataclasses, pydantic models, enums and datetimes as JSON-ready values."""
    if hasattr(obj, "model_dump"):
        return _plain(obj.model_dump())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.timestamp()
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    return obj


def _error(job: Job) -> dict[str, Any] | None:
    """The job's last error, when it has one (a retry keeps it until the send is accepted)."""
    if job.error_code is None:
        return None
    return {
        "code": job.error_code,
        "title": job.error_title,
        "reason": str(job.error_details or job.error_title or f"error {job.error_code}"),
        "fbtrace_id": job.fbtrace_id,
    }


def event_dict(event: JobEvent) -> dict[str, Any]:
    """One history entry as the API shows it."""
    return {"state": event.state, "at": event.at, "code": event.code, "detail": event.detail,
            "attempt": event.attempt}


def fallback_name(job: Job) -> str | None:
    """The template a job went out as instead of its own body (the window was closed), else None."""
    if not job.used_fallback:
        return None
    template = job.body.get("template")
    name = template.get("name") if isinstance(template, Mapping) else None
    return str(name) if name else "?"


def job_dict(job: Job, history: Sequence[JobEvent]) -> dict[str, Any]:
    """A JobOut-shaped dict: the job's row and its recorded history (in recorded order)."""
    return {
        "id": job.id,
        "to": job.to,
        "state": JobState(job.state).value,
        "wamid": job.wamid,
        "key": job.key,
        "type": job.body.get("type"),
        "attempts": job.attempts,
        "error": _error(job),
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "campaign_id": job.campaign,
        "phone_number_id": job.phone_number_id,
        "category": job.category,
        "history": [event_dict(e) for e in history],
        "fallback_template": fallback_name(job),
    }
