"""A stored row becomes the same Job the dataclass's own constructor makes (job_from_row's faster path)."""

from __future__ import annotations

import dataclasses

import pytest

from wacloud.delivery._sql_jobs import JOB_COLUMNS, job_from_row
from wacloud.delivery.model import Job, JobState
from wacloud.delivery.sqlite import SqliteStore

_FIELD_OF_COLUMN = {"recipient": "to", "idem_key": "key"}


def _row() -> tuple[object, ...]:
    """A row of JOB_COLUMNS with a distinct value in every column (so a swapped position shows)."""
    values: dict[str, object] = {
        "id": 7, "phone_number_id": "106540352242922", "recipient": "+15550001111", "state": "failed",
        "body": '{"type":"text","text":{"body":"hi \\ud83d\\ude00"}}', "is_template": 1, "idem_key": "k-1",
        "category": "utility", "fallback": '{"type":"template"}', "campaign": "c-9", "not_before": 11,
        "attempts": 2, "failures": 3, "throttles": 4, "pair_retries": 5, "used_fallback": 0,
        "wamid": "wamid.X", "error_code": 131047, "error_title": "Re-engagement", "error_details": "24h",
        "fbtrace_id": "Ftrace", "created_at": 12, "updated_at": 13.5, "accepted_at": 14.0, "sent_at": 15.0,
        "delivered_at": 16.0, "read_at": 17.0, "finished_at": 18.0, "priority": 1,
    }
    return tuple(values[c.strip()] for c in JOB_COLUMNS.split(","))


def test_a_row_makes_the_job_the_constructor_makes() -> None:
    row = _row()
    columns = [c.strip() for c in JOB_COLUMNS.split(",")]
    given = dict(zip((_FIELD_OF_COLUMN.get(c, c) for c in columns), row, strict=True))
    expected = Job(**{**given, "id": "7", "state": JobState.FAILED, "is_template": True, "used_fallback": False,
                      "body": {"type": "text", "text": {"body": "hi \U0001F600"}}, "fallback": {"type": "template"},
                      "not_before": 11.0, "created_at": 12.0})
    job = job_from_row(row)
    assert type(job) is Job
    assert job == expected
    assert [getattr(job, f.name) for f in dataclasses.fields(Job)] == [
        getattr(expected, f.name) for f in dataclasses.fields(Job)]
    assert type(job.not_before) is float and type(job.created_at) is float and type(job.is_template) is bool
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.state = JobState.QUEUED  # type: ignore[misc]


def test_a_body_only_json_reads_still_reads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # json.dumps writes a lone surrogate as an escape msgspec refuses; the store still reads that body back.
    row = list(_row())
    row[4] = '{"text":"\\ud800"}'
    assert job_from_row(tuple(row)).body == {"text": "\ud800"}


def test_jobs_read_from_a_real_store_are_jobs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from wacloud.delivery.model import NewJob

    store = SqliteStore(str(tmp_path / "jobs.db"))
    try:
        [(job_id, created)] = store.add([NewJob("106540352242922", "+15550001111", {"type": "text", "text": {
            "body": "héllo"}}, False)], 100.0)
        job = store.get(job_id)
        assert created and job is not None and job.body == {"type": "text", "text": {"body": "héllo"}}
        assert job.to == "+15550001111" and job.state is JobState.QUEUED and job.created_at == 100.0
    finally:
        store.close()


def test_job_with_is_dataclasses_replace() -> None:
    from wacloud.delivery._sql_jobs import job_with

    job = job_from_row(_row())
    changes = {"state": JobState.READ, "sent_at": 20.0, "read_at": None, "updated_at": 21.5}
    fresh = job_with(job, changes)
    expected = dataclasses.replace(job, **changes)  # type: ignore[arg-type]
    assert type(fresh) is Job and fresh == expected and fresh is not job
    assert [getattr(fresh, f.name) for f in dataclasses.fields(Job)] == [
        getattr(expected, f.name) for f in dataclasses.fields(Job)]
    assert job.state is JobState.FAILED and job.sent_at == 15.0  # the original is left as it was
    assert job_with(job, {}) == job
    with pytest.raises(TypeError, match="no_such_field"):
        job_with(job, {"no_such_field": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        fresh.state = JobState.QUEUED  # type: ignore[misc]
