"""Job bodies: a customer address as jobs store it, the Graph send body, times given as datetimes.

Pure functions shared by the outbox, campaigns and the gateway's send routes (checked before any write).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from wacloud.errors import ValidationError
from wacloud.identity import CustomerIds, address_kind, is_bsuid, is_parent_bsuid
from wacloud.messages import parse
from wacloud.phone import wa_id as phone_wa_id


def epoch(value: datetime | float | int | str | timedelta | None, now: float) -> float | None:
    """A time as epoch seconds: a datetime, epoch seconds, or a timedelta from ``now``; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, timedelta):
        return now + value.total_seconds()
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValidationError("timestamp", f"not a time: {value!r}") from None
    if not math.isfinite(out):
        # NaN is never due (or breaks a NOT NULL column): a job that could never be sent.
        raise ValidationError("timestamp", f"not a time: {value!r}")
    return out


def is_phone_like(value: str) -> bool:
    """True when ``value`` reads as a phone number (digits, ``+`` and separators)."""
    try:
        return address_kind(value) == "phone"
    except ValidationError:
        return False


def address(to: str | int, field: str = "to") -> str:
    """A customer address as jobs store it: a phone number's digits (``wa_id``), or a BSUID as given.

    Anything else raises :class:`ValidationError` naming ``field``.
    """
    if not isinstance(to, str | int):
        raise ValidationError(field, f"must be a phone number or a BSUID, not {type(to).__name__}")
    if isinstance(to, str) and is_bsuid(to.strip()):
        return to.strip()
    try:
        return phone_wa_id(str(to))  # normalize(...).wa_id, without the validity look-up
    except ValidationError as exc:
        raise ValidationError(field, exc.reason) from None


def check_bsuid_send(body: Mapping[str, Any], category: str | None) -> None:
    """Refuse, before any call, a send Meta does not take by BSUID (``recipient``).

    Authentication templates (one-tap, zero-tap and copy-code one-time passwords) go to phone numbers
    only (Meta answers 131062): a job with category ``authentication`` needs a phone number.
    """
    if "to" in body or "recipient" not in body:
        return
    if category == "authentication":
        raise ValidationError("recipient", "authentication templates (one-time passwords) can only be sent to a "
                                           "phone number, not to a business-scoped user id (Meta error 131062)")


def graph_body(to: str, message: Any, validate: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """The full ``POST /messages`` body for ``message`` to ``to`` (a model, a SendRequest or a dict).

    ``to`` is a phone number (sent in ``to``) or a BSUID (sent in ``recipient``, for a customer known
    only by it, e.g. one who uses a username). ``validate`` checks the body (default
    :func:`validate_body`; a campaign passes one that knows the bodies it already checked).
    """
    if hasattr(message, "to_graph"):
        content = message.to_graph()
    elif isinstance(message, Mapping):
        content = dict(message)
    else:
        raise ValidationError("message", f"must be a message model or a Graph body dict, not "
                                         f"{type(message).__name__}")
    if not isinstance(content, Mapping) or not isinstance(content.get("type"), str):
        raise ValidationError("message.type", "the message has no type")
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", **content}
    body.pop("to", None)
    body.pop("recipient", None)
    body["recipient" if is_bsuid(to) else "to"] = to
    (validate or validate_body)(body)
    return body


def validate_body(body: dict[str, Any]) -> None:
    """Check a Graph send body with :func:`wacloud.messages.parse`."""
    try:
        json.dumps(body)
    except (TypeError, ValueError) as exc:
        raise ValidationError("message", f"not JSON-serialisable: {exc}") from None
    parse(body)


def answer_ids(body: Mapping[str, Any], answer: Any) -> CustomerIds | None:
    """The ids a send answer gives for its customer (``wa_id``, ``user_id``) with the address sent to;
    None when it names nobody new (only the address we sent to)."""
    sent = body.get("to") or body.get("recipient")
    known = [i for i in {str(sent) if sent else None, getattr(answer, "wa_id", None),
                         getattr(answer, "user_id", None)} if i]
    if len(known) < 2:
        return None
    return CustomerIds(wa_id=next((address(i) for i in known if not is_bsuid(i)), None),
                       bsuid=next((i for i in known if is_bsuid(i) and not is_parent_bsuid(i)), None),
                       parent_bsuid=next((i for i in known if is_parent_bsuid(i)), None))
