"""The rows of :meth:`Outbox.broadcast <wacloud.delivery.Outbox.broadcast>`: each recipient's job, a chunk at a time.

A chunk of rows is read, each row's address and body made, the people they name looked up in one
store call (campaign de-duplication: one job per person, whichever id a row gives), then the rows are
taken in order exactly as one at a time would: duplicates skipped, each body checked (the campaign's
shape once, :mod:`~wacloud.delivery._body_check`), a row's error raised (``strict``) or listed, and the
jobs stored every ``chunk`` jobs, each store call one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import Any

from wacloud.delivery._bodies import address
from wacloud.delivery._body_check import BodyCheck
from wacloud.delivery.campaign import Campaign, Recipient, recipients_or_errors, with_params
from wacloud.delivery.model import NewJob
from wacloud.delivery.store import Store
from wacloud.errors import ValidationError

#: (address, body, idempotency key, body check) -> the job; raises ValidationError for a bad row.
MakeJob = Callable[[str, dict[str, Any], str, Callable[[dict[str, Any]], None]], NewJob]
_Row = tuple[int, Recipient | ValidationError]


def queue_rows(recipients: Iterable[Any] | str | Path, *, store: Store, phone_number_id: str, result: Campaign,
               base: Mapping[str, Any], make_job: MakeJob, marker: Mapping[str, Any] | None, strict: bool,
               chunk: int, flush: Callable[[list[NewJob]], None]) -> None:
    """Queue every row of ``recipients`` into ``result`` (see the module); ``flush`` stores a batch of jobs."""
    check = BodyCheck()
    seen: set[str] = set()
    batch: list[NewJob] = []
    rows = enumerate(recipients_or_errors(recipients), start=1)
    size = max(1, chunk)
    while True:
        staged, unreadable = _read(rows, size)
        if not staged and unreadable is None:
            break
        made: dict[int, tuple[Recipient, str, dict[str, Any]] | ValidationError] = {}
        for row, rcpt in staged:
            try:
                if isinstance(rcpt, ValidationError):
                    raise rcpt
                body = {"type": "template", "template": with_params(base, rcpt.params, rcpt.components)}
                made[row] = (rcpt, address(rcpt.to), body)
            except ValidationError as exc:
                made[row] = exc
        known = store.people(phone_number_id, [m[1] for m in made.values() if not isinstance(m, ValidationError)])
        for row, _ in staged:
            item = made[row]
            try:
                if isinstance(item, ValidationError):
                    raise item
                rcpt, wa_id, body = item
                ids = known.get(wa_id)
                person = (ids.wa_id or ids.bsuid or ids.parent_bsuid or wa_id) if ids is not None else wa_id
                if rcpt.key is None and person in seen:
                    result.duplicates += 1  # the same customer by another id (phone and BSUID)
                    continue
                seen.add(person)
                job = make_job(wa_id, body, rcpt.key or f"campaign:{result.id}:{person}", check)
                if marker:
                    job = dataclasses.replace(job, body={**job.body, **marker})
            except ValidationError as exc:
                if strict:
                    # 0-based, like every other path into a list (``row`` counts from 1 for people).
                    raise ValidationError(f"recipients[{row - 1}].{exc.field}", exc.reason) from None
                result.invalid.append((row, f"{exc.field}: {exc.reason}"))
                continue
            batch.append(job)
            if len(batch) >= size:
                flush(batch)
                batch = []
        if unreadable is not None:
            raise unreadable  # the source itself failed (a CSV broken mid-way): as one row at a time would
    if batch:
        flush(batch)


def _read(rows: Iterator[_Row], n: int) -> tuple[list[_Row], ValidationError | None]:
    """Up to ``n`` rows; a source that fails mid-way gives the rows before it and its error."""
    staged: list[_Row] = []
    try:
        for row in islice(rows, n):
            staged.append(row)
    except ValidationError as exc:
        return staged, exc
    return staged, None
