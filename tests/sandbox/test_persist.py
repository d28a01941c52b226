"""Snapshot and restore of the sandbox state (what a host such as the gateway keeps across restarts)."""

from __future__ import annotations

import pytest

from sandbox.helpers import WA_ID, open_window, send, upload
from wacloud.sandbox import SnapshotError, Snapshotter, create_sandbox_app, restore, snapshot
from wacloud.sandbox.testing import SandboxHandle


def test_a_restored_sandbox_has_the_same_customers_media_templates_and_profile(sandbox: SandboxHandle) -> None:
    inbound = open_window(sandbox)
    media_id = upload(sandbox, "image")
    sandbox.control.post("/templates", json={
        "name": "kept", "language": "en_US", "category": "UTILITY", "pacing": True,
        "components": [{"type": "BODY", "text": "Kept {{1}} for you", "example": {"body_text": [["x"]]}}],
    }).raise_for_status()
    pnid = sandbox.phone_number_id
    sandbox.http.post(f"/{pnid}/whatsapp_business_profile",
                      json={"messaging_product": "whatsapp", "about": "kept"}).raise_for_status()
    sandbox.advance(60)
    records = snapshot(sandbox.app.state)

    fresh = create_sandbox_app(None).state
    restore(fresh, records)
    old = sandbox.app.state
    assert fresh.customers[WA_ID].window_open(fresh.clock.now())
    assert abs(fresh.clock.now() - old.clock.now()) < 5  # the advanced clock too
    assert fresh.media[media_id].data == old.media[media_id].data
    kept = next(t for t in fresh.templates.values() if t.name == "kept")
    assert kept.pacing.enabled and kept.body_vars == next(
        t for t in old.templates.values() if t.name == "kept").body_vars
    assert fresh.management is not None and fresh.management.phones[pnid].profile["about"] == "kept"
    assert inbound in fresh.inbound
    # Ids go on from where the saved run stopped, so none is handed out twice.
    assert fresh.ids.wamid(WA_ID) not in set(old.messages) | set(old.inbound)
    assert fresh.ids.object_id() not in set(old.media) | set(old.templates)
    # Nothing changed since the snapshot: nothing to write.
    assert Snapshotter(fresh, snapshot(fresh)).changes() == ({}, [])
    assert send(sandbox, {"to": WA_ID, "text": {"body": "x"}}).status_code == 200


def test_unreadable_records_are_refused_and_change_nothing() -> None:
    state = create_sandbox_app(None).state
    before = dict(state.templates)
    for records in ({"core": "{not json"}, {"core": '{"format": 99}'}, {"core": '{"format": 1, "customers": 5}'}):
        with pytest.raises(SnapshotError):
            restore(state, records)
    assert state.templates == before and state.customers == {}


def test_changes_name_only_what_changed(sandbox: SandboxHandle) -> None:
    snap = Snapshotter(sandbox.app.state)
    first, _ = snap.changes()
    snap.saved(first, [])
    media_id = upload(sandbox, "image")
    upserts, deletes = snap.changes()
    assert set(upserts) == {"core", f"media/{media_id}"} and deletes == []
    snap.saved(upserts, deletes)
    sandbox.http.delete(f"/{media_id}").raise_for_status()
    upserts, deletes = snap.changes()
    assert deletes == [f"media/{media_id}"]
