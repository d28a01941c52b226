"""The API's models show the engine's dataclasses: a field added to one fails here until the API shows it."""

from __future__ import annotations

import dataclasses

from wacloud.delivery import Job, JobState, Summary
from wacloud.delivery import JobEvent as DeliveryJobEvent
from wacloud.gateway._history import LoggedMessage
from wacloud.gateway._keys import KeyInfo
from wacloud.gateway._schemas import (
    JOB_FIELDS_NOT_SHOWN,
    JOB_FIELDS_SHOWN_AS,
    CampaignOut,
    JobEvent,
    JobOut,
    KeyOut,
    MessageOut,
)


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_job_field_is_shown_or_listed_with_a_reason() -> None:
    shown = set(JobOut.model_fields)
    unaccounted = _fields(Job) - shown - set(JOB_FIELDS_SHOWN_AS) - set(JOB_FIELDS_NOT_SHOWN)
    assert not unaccounted, f"Job fields the API neither shows nor lists: {sorted(unaccounted)}"
    # The lists name real fields, each once, and fold them into fields the API has.
    assert set(JOB_FIELDS_SHOWN_AS) | set(JOB_FIELDS_NOT_SHOWN) <= _fields(Job)
    assert not set(JOB_FIELDS_SHOWN_AS) & set(JOB_FIELDS_NOT_SHOWN)
    assert not (set(JOB_FIELDS_SHOWN_AS) | set(JOB_FIELDS_NOT_SHOWN)) & shown
    assert set(JOB_FIELDS_SHOWN_AS.values()) <= shown
    assert all(reason for reason in JOB_FIELDS_NOT_SHOWN.values())


def test_a_jobs_state_is_the_engines_enum() -> None:
    schema = JobOut.model_json_schema()
    state = schema["$defs"]["JobState"]
    assert set(state["enum"]) == {s.value for s in JobState}


def test_a_logged_message_is_shown_field_for_field() -> None:
    assert set(MessageOut.model_fields) == _fields(LoggedMessage)


def test_a_key_is_shown_with_its_state_and_never_itself() -> None:
    assert set(KeyOut.model_fields) == _fields(KeyInfo) | {"active"}


def test_a_campaign_shows_its_summary() -> None:
    shown_as = {"by_state": "states", "failed_by_code": "failed_by_code", "total": "total"}
    assert set(shown_as) == _fields(Summary)
    assert set(shown_as.values()) <= set(CampaignOut.model_fields)


def test_a_history_entry_shows_the_engines_event() -> None:
    # ``id`` orders the entries and ``job_id`` is the job they are listed under: neither is repeated.
    assert set(JobEvent.model_fields) == _fields(DeliveryJobEvent) - {"id", "job_id"}
