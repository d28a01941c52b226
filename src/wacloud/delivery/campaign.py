"""Campaign input: recipients from an iterable or a CSV file, and one template body per recipient."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wacloud.errors import ValidationError

#: CSV columns that hold the phone number or the BSUID (the first one present is used).
PHONE_COLUMNS = ("to", "phone", "wa_id", "number", "recipient", "bsuid", "user_id")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One campaign recipient and the template parameters for them.

    ``params`` is a list (positional ``{{1}}``, ``{{2}}``…) or a mapping (named parameters).
    ``components``, when given, are the template's whole ``components`` for this recipient (header,
    body and buttons, as :func:`wacloud.templates.fill.fill` builds them) and ``params`` is not used.
    """

    to: str
    params: Sequence[str] | Mapping[str, str] = ()
    key: str | None = None
    components: Sequence[Mapping[str, Any]] | None = None


@dataclass(slots=True)
class Campaign:
    """The result of :meth:`Outbox.broadcast`: what was queued, what was a repeat, what was refused."""

    id: str
    job_ids: list[str] = field(default_factory=list)
    queued: int = 0
    duplicates: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)


def recipients_from(source: Iterable[Any] | str | Path) -> Iterator[Recipient]:
    """Recipients from a CSV path, or from an iterable of numbers, dicts, tuples or :class:`Recipient`.

    In a CSV (or a dict), the phone column is one of :data:`PHONE_COLUMNS`; the other columns are
    template parameters: named ones, or positional when their names are ``1``, ``2``…
    """
    for item in recipients_or_errors(source):
        if isinstance(item, ValidationError):
            raise item
        yield item


def recipients_or_errors(source: Iterable[Any] | str | Path) -> Iterator[Recipient | ValidationError]:
    """Like :func:`recipients_from`, but a bad row yields its error and the rows after it still come.

    An unreadable file or a header without a phone column still raises: no row can be read.
    """
    if isinstance(source, str | Path):
        yield from _from_csv(Path(source))
        return
    for item in source:
        try:
            yield _one(item)
        except ValidationError as exc:
            yield exc


def _one(item: Any) -> Recipient:
    if isinstance(item, Recipient):
        return item
    if isinstance(item, str | int):
        return Recipient(str(item))
    if isinstance(item, Mapping):
        return _from_row({str(k): v for k, v in item.items()})
    if isinstance(item, tuple | list) and item:
        to, *rest = item
        if len(rest) == 1 and isinstance(rest[0], Mapping | list | tuple):
            params: Sequence[str] | Mapping[str, str] = (
                {str(k): str(v) for k, v in rest[0].items()} if isinstance(rest[0], Mapping)
                else [str(v) for v in rest[0]])
        else:
            params = [str(v) for v in rest]
        return Recipient(str(to), params)
    raise ValidationError("recipients", f"not a recipient: {type(item).__name__}")


def _from_row(row: Mapping[str, Any]) -> Recipient:
    phone_col = next((c for c in PHONE_COLUMNS if row.get(c) not in (None, "")), None)
    if phone_col is None:
        raise ValidationError("to", f"no phone number (a column named one of {', '.join(PHONE_COLUMNS)})")
    rest = {k: "" if v is None else str(v) for k, v in row.items()
            if k not in PHONE_COLUMNS and k != "key" and k}
    key = row.get("key") or None
    if rest and all(k.isdigit() for k in rest):
        return Recipient(str(row[phone_col]), [rest[k] for k in sorted(rest, key=int)], key)
    return Recipient(str(row[phone_col]), rest, key)


def _from_csv(path: Path) -> Iterator[Recipient | ValidationError]:
    try:
        f = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationError("recipients", f"cannot read {path}: {exc.strerror}") from exc
    with f:
        reader = csv.DictReader(f)
        try:
            if not reader.fieldnames or not any(c in reader.fieldnames for c in PHONE_COLUMNS):
                raise ValidationError("recipients", f"{path}: the header needs a phone column "
                                                    f"({', '.join(PHONE_COLUMNS)})")
            for row in reader:
                try:
                    yield _from_row({k: v for k, v in row.items() if k is not None})
                except ValidationError as exc:
                    yield exc
        except (csv.Error, UnicodeDecodeError) as exc:
            # Not UTF-8, a NUL byte, a field over the csv limit: the file itself is unreadable.
            raise ValidationError("recipients", f"{path}: line {reader.line_num}: {exc}") from None


def template_object(template: Any, language: str | None) -> dict[str, Any]:
    """The Graph ``template`` object from a name, a dict or a ``wacloud.messages.Template``."""
    if isinstance(template, str):
        if not template:
            raise ValidationError("template", "a template name is required")
        return {"name": template, "language": {"code": language or "en_US"}}
    if hasattr(template, "to_graph"):
        graph = template.to_graph()
        obj = graph.get("template", graph) if isinstance(graph, Mapping) else None
    elif isinstance(template, Mapping):
        obj = template.get("template", template) if template.get("type") == "template" else template
    else:
        obj = None
    if not isinstance(obj, Mapping) or "name" not in obj:
        raise ValidationError("template", "must be a template name, a template dict or a Template model")
    out = dict(obj)
    if language is not None:
        out["language"] = {"code": language}
    return out


def with_params(template: Mapping[str, Any], params: Sequence[str] | Mapping[str, str],
                components: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """A copy of ``template`` whose body component carries ``params`` (positional or named).

    With ``components`` (a recipient's filled header, body and buttons), those replace the template's.
    """
    out = dict(template)
    if components is not None:
        out["components"] = [dict(c) for c in components]
        return out
    if not params:
        return out
    if isinstance(params, Mapping):
        parameters = [{"type": "text", "parameter_name": k, "text": v} for k, v in params.items()]
    else:
        parameters = [{"type": "text", "text": v} for v in params]
    components = [c for c in out.get("components", [])
                  if not (isinstance(c, Mapping) and c.get("type") == "body")]
    components.insert(0, {"type": "body", "parameters": parameters})
    out["components"] = components
    return out
