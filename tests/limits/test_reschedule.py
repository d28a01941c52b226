"""A campaign's schedule and budget change after it was queued, and its operator's actions are events.

On SQLite and the real PostgreSQL, through ``outbox.campaigns`` (what the HTTP API, the CLI and the console
call): a campaign that has not started moves (its jobs' times with it), one that has started does not; a
budget must be a finite amount; pause, resume, cancel, reschedule and a new budget are ``campaign.progress``
events written with the change.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest

from wacloud.delivery import Outbox, open_store
from wacloud.delivery.statuses import JoinableStore
from wacloud.errors import ValidationError

PID = "106540352242922"
HELLO = {"name": "hello_world", "language": {"code": "en_US"}}


def _steps(outbox: Outbox, campaign: str) -> list[dict[str, Any]]:
    store = outbox.store
    assert isinstance(store, JoinableStore)
    rows = store.transact(lambda tx: tx.rows("SELECT data FROM events WHERE type = 'campaign.progress' "
                                             "ORDER BY position"))
    return [d for d in (json.loads(r[0]) for r in rows) if d["campaign"] == campaign]


def test_a_campaign_that_has_not_started_moves_and_one_that_has_does_not(store_url: str) -> None:
    outbox = Outbox(open_store(store_url), phone_number_id=PID)
    try:
        start = time.time() + 3600
        outbox.broadcast(HELLO, ["+16505550101", "+16505550102"], category="utility", campaign="later",
                         not_before=start)
        report = outbox.campaigns.reschedule("later", start + 60)
        assert report.start_at is not None and abs(report.start_at - (start + 60)) < 1e-6
        jobs = outbox.jobs(campaign="later")
        assert [abs(j.not_before - (start + 60)) < 1e-6 for j in jobs] == [True, True]
        past = outbox.campaigns.reschedule("later", time.time() - 500)  # a time past: now
        assert past.start_at is not None and abs(past.start_at - time.time()) < 5
        for bad in ("soon", math.nan, math.inf, True):
            with pytest.raises(ValidationError) as refused:
                outbox.campaigns.reschedule("later", bad)  # type: ignore[arg-type]
            assert refused.value.field == "start_at"
        with pytest.raises(KeyError):
            outbox.campaigns.reschedule("nope", None)
        # One job leaves the queue: the campaign has started.
        outbox.store.claim(PID, 1, time.time(), lease_s=60, worker="w", pair_interval_s=0.0, pair_burst=1)
        with pytest.raises(ValidationError, match="has started"):
            outbox.campaigns.reschedule("later", start)
        outbox.campaigns.cancel("later")
        with pytest.raises(ValidationError, match="cancelled"):
            outbox.campaigns.reschedule("later", start)
        steps = _steps(outbox, "later")
        assert [s["step"] for s in steps] == ["queued", "rescheduled", "rescheduled", "cancelled"]
        assert steps[1]["jobs"] == 2 and abs(steps[1]["start_at"] - (start + 60)) < 1e-6
    finally:
        outbox.close()


def test_budgets_are_finite_amounts_and_operator_actions_are_events(store_url: str) -> None:
    outbox = Outbox(open_store(store_url), phone_number_id=PID)
    try:
        outbox.broadcast(HELLO, ["+16505550103"], category="utility", campaign="ops", not_before=time.time() + 600)
        for bad in (math.nan, math.inf, -1, "10", True):
            with pytest.raises(ValidationError) as refused:
                outbox.campaigns.set_budget("ops", bad)  # type: ignore[arg-type]
            assert refused.value.field == "budget"
        outbox.campaigns.set_budget("ops", 2.5)
        outbox.campaigns.set_budget("ops", 2.5)  # the same again: no event
        outbox.campaigns.pause("ops")
        outbox.campaigns.pause("ops")  # already paused: no event
        outbox.campaigns.resume("ops")
        outbox.campaigns.set_budget("ops", None)
        assert outbox.campaigns.report("ops").budget is None
        assert [(s["step"], s.get("budget")) for s in _steps(outbox, "ops")] == [
            ("queued", None), ("budget", 2.5), ("paused", None), ("resumed", None), ("budget", None)]
    finally:
        outbox.close()
