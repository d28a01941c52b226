"""Turning the outbox's job objects into the API's :class:`~wacloud.server.schemas.JobOut` shape."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any


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


def _first(data: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if data.get(name) is not None:
            return data[name]
    return None


def _as_float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _as_int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _error(data: Mapping[str, Any]) -> dict[str, Any] | None:
    err = data.get("error")
    if isinstance(err, Mapping):
        code = _as_int(_first(err, "code", "error_code"))
        reason = _first(err, "details", "reason", "message", "title")
        return {
            "code": code,
            "title": err.get("title"),
            "reason": str(reason or f"error {code}"),
            "fbtrace_id": err.get("fbtrace_id"),
        }
    code = _as_int(_first(data, "error_code", "last_error_code", "code"))
    if code is None:
        return None
    reason = _first(data, "error_details", "error_title", "error_message", "reason")
    return {
        "code": code,
        "title": data.get("error_title"),
        "reason": str(reason or f"error {code}"),
        "fbtrace_id": data.get("fbtrace_id"),
    }


def _history(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    events = _first(data, "history", "events", "status_history")
    out = []
    for ev in events if isinstance(events, list) else []:
        if not isinstance(ev, Mapping):
            continue
        state = _first(ev, "state", "status", "event")
        entry = {k: v for k, v in ev.items() if isinstance(v, str | int | float | bool | type(None))}
        entry.update(
            {
                "state": str(state or "unknown"),
                "at": _as_float(_first(ev, "at", "ts", "timestamp")),
                "code": _as_int(_first(ev, "code", "error_code")),
            }
        )
        detail = _first(ev, "detail", "details", "reason")
        entry["detail"] = str(detail) if detail is not None else None
        out.append(entry)
    return out


#: Timestamp fields of a job, in life order, and the state each one marks.
_STAMPS = (
    ("created_at", "queued"),
    ("accepted_at", "accepted"),
    ("sent_at", "sent"),
    ("delivered_at", "delivered"),
    ("read_at", "read"),
)


def _stamped_history(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """History from the job's per-state timestamps (the outbox stores those, not an event list)."""
    out: list[dict[str, Any]] = []
    for name, state in _STAMPS:
        at = _as_float(data.get(name))
        if at is not None:
            out.append({"state": state, "at": at, "code": None, "detail": None})
    state = str(_first(data, "state", "status") or "")
    finished = _as_float(data.get("finished_at"))
    if state in ("failed", "dead", "uncertain") and finished is not None:
        err = _error(data) or {}
        out.append({"state": state, "at": finished, "code": err.get("code"), "detail": err.get("reason")})
    # Life order, not time order: Meta's status timestamps are whole seconds, so a status can carry
    # an earlier time than our own sub-second ``accepted_at``.
    return out


def job_dict(job: Any) -> dict[str, Any]:
    """A JobOut-shaped dict from whatever the outbox returned for a job."""
    data = _plain(job)
    if not isinstance(data, Mapping):
        raise TypeError(f"unexpected job object: {type(job).__name__}")
    message = next((data[k] for k in ("message", "body") if isinstance(data.get(k), Mapping)), None)
    return {
        "id": str(_first(data, "id", "job_id")),
        "to": _first(data, "to", "recipient", "wa_id"),
        "state": str(_first(data, "state", "status") or "unknown"),
        "wamid": _first(data, "wamid", "message_id"),
        "key": _first(data, "key", "idempotency_key"),
        "type": _first(data, "type", "kind") or (message.get("type") if message else None),
        "attempts": _as_int(data.get("attempts")),
        "error": _error(data),
        "created_at": _as_float(_first(data, "created_at", "created")),
        "updated_at": _as_float(_first(data, "updated_at", "updated")),
        "campaign_id": _first(data, "campaign_id", "campaign", "broadcast_id"),
        "phone_number_id": data.get("phone_number_id"),
        "category": data.get("category"),
        "history": _with_fallback(data, _history(data) or _stamped_history(data)),
        "fallback_template": _fallback_name(data),
    }


def _fallback_name(data: Mapping[str, Any]) -> str | None:
    """The template a job went out as instead of its own body (the window was closed), else None."""
    if not data.get("used_fallback"):
        return None
    body = data.get("body")
    template = body.get("template") if isinstance(body, Mapping) else None
    name = template.get("name") if isinstance(template, Mapping) else None
    return str(name) if name else "?"


def _with_fallback(data: Mapping[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with a "fallback" step before the send, when the job used its fallback template."""
    name = _fallback_name(data)
    if name is None:
        return history
    step = {"state": "fallback", "at": None, "code": 131047,
            "detail": f"window closed → sent fallback template {name}"}
    sent = next((i for i, e in enumerate(history) if e["state"] != "queued"), len(history))
    return [*history[:sent], step, *history[sent:]]
