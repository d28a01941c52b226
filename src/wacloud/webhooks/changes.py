"""Helpers shared by the per-field parsers that live outside :mod:`wacloud.webhooks.parsing`.

A field parser receives one ``changes[]`` item (:class:`Change`) and appends typed updates, or
:class:`~wacloud.webhooks.updates.RawUpdate` for what does not validate, to ``out``. Parsers in their
own modules (calls, groups…) are registered in ``parsing._FIELDS``; they must not import
:mod:`wacloud.webhooks.parsing` (it imports them), so the pieces they need are here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

import wacloud.webhooks.models as m
import wacloud.webhooks.updates as u


class Change(Protocol):
    """One ``entry[].changes[]`` item as a field parser sees it."""

    field: str
    waba_id: str | None
    time: datetime | None
    value: dict[str, Any]

    def raw(self, item: Any, reason: str) -> u.RawUpdate:
        """A RawUpdate for ``item`` (logged once), keeping where it came from."""
        ...

    def metadata(self) -> m.Metadata | None:
        """The change's ``metadata`` (business number), when it validates."""
        ...


#: A field parser: reads one change, appends its updates.
FieldParser = Callable[[Change, list[u.Update]], None]


def why(exc: ValidationError) -> str:
    """The first validation problem as ``loc: message`` (and how many more there were)."""
    errs = exc.errors(include_url=False, include_input=False)
    first = errs[0] if errs else {"loc": (), "msg": str(exc)}
    loc = ".".join(str(p) for p in first["loc"])
    more = f" (+{len(errs) - 1} more)" if len(errs) > 1 else ""
    return f"{loc}: {first['msg']}{more}"


def items(ctx: Change, key: str, out: list[u.Update]) -> list[Any] | None:
    """``value[key]`` when it is a list; None when absent; a RawUpdate when it is something else."""
    found = ctx.value.get(key)
    if found is None:
        return None
    if not isinstance(found, list):
        out.append(ctx.raw(ctx.value, f"{key} is not a list"))
        return None
    return found


_CONTACTS: TypeAdapter[list[m.WebhookContact]] = TypeAdapter(list[m.WebhookContact])


def contacts(raw: Any) -> list[m.WebhookContact]:
    """``value.contacts`` typed; a malformed entry becomes an empty contact (never drops the event)."""
    if not isinstance(raw, list):
        return []
    try:
        return _CONTACTS.validate_python(raw)  # one call for the usual, well-formed list
    except ValidationError:
        pass
    found: list[m.WebhookContact] = []
    for item in raw:
        try:
            found.append(m.WebhookContact.model_validate(item))
        except ValidationError:
            # A malformed contact must not drop the message it describes; keep the slot aligned.
            found.append(m.WebhookContact())
    return found
