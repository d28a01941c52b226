"""Coexistence through the gateway, driven by the embedded sandbox over HTTP: history imported into the
conversation log without opening the 24-hour window, app echoes logged as outgoing, app contacts recorded,
a customer's edit and revoke applied to the logged message, and the number paced at 20 msg/s."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from coverage.conftest import control
from gateway.conftest import LiveGateway, start_gateway, wait_for
from wacloud.limits import COEXISTENCE_MPS, DEFAULT_MPS
from wacloud.sandbox._coexistence import flag_number


def _share_with_the_app(app: Any) -> None:
    """Before the gateway starts: its sandbox number is flagged as shared with the Business app."""
    flag_number(app.state.gateway.sandbox_app.state, {"on_biz_app": True})


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveGateway]:
    """A gateway whose number the sandbox reports as a coexistence number (``is_on_biz_app``)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
                mp.delenv(name)
        server, gateway = start_gateway(tmp_path_factory.mktemp("coex") / "wacloud.db", prepare=_share_with_the_app)
    try:
        yield gateway
    finally:
        gateway.http.close()
        server.stop()


def _log(live: LiveGateway, wa_id: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = live.http.get(f"/v1/conversations/{wa_id}/messages").json()["messages"]
    return messages


def _logged(live: LiveGateway, wa_id: str, count: int) -> list[dict[str, Any]]:
    return wait_for(lambda: (m := _log(live, wa_id)) and len(m) >= count and m, 10, f"{count} messages of {wa_id}")


def test_a_coexistence_number_is_paced_at_20(shared: LiveGateway, live: LiveGateway) -> None:
    got = shared.http.get("/v1/coexistence").json()
    assert got == {"phone_number_id": shared.gw.outbox.phone_number_id, "mps": COEXISTENCE_MPS, "coexistence": True}
    assert shared.gw.outbox.pacing.mps == COEXISTENCE_MPS
    sandbox = shared.gw.sandbox_app.state
    assert sandbox.limiter.per_number[shared.gw.outbox.phone_number_id] == COEXISTENCE_MPS
    # A number not shared with the app keeps the configured rate.
    assert live.http.get("/v1/coexistence").json()["mps"] == DEFAULT_MPS
    assert live.http.get("/v1/coexistence").json()["coexistence"] is False


def test_the_setting_forces_the_coexistence_rate(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WACLOUD_COEXISTENCE", "true")
    server, gateway = start_gateway(tmp_path / "wacloud.db", mps=500)
    try:
        assert gateway.http.get("/v1/coexistence").json()["mps"] == COEXISTENCE_MPS
    finally:
        gateway.http.close()
        server.stop()


def test_history_is_imported_without_opening_the_window(shared: LiveGateway) -> None:
    user = "15550202001"
    now = int(time.time())
    made = control(shared, "/coexistence/history", wa_id=user, phase=0, chunk_order=1, progress=100, messages=[
        {"text": "old hello", "timestamp": now - 120},
        {"text": "old reply", "from_business": True, "timestamp": now - 60, "status": "READ"},
    ])
    log = _logged(shared, user, 2)
    assert [(m["wamid"], m["direction"], m["summary"], m["ts"]) for m in log] == [
        (made["ids"][0], "in", "old hello", now - 120), (made["ids"][1], "out", "old reply", now - 60)]
    assert log[1]["status"] == "read" and log[0]["body"]["origin"] == "history"
    # The customer wrote 2 minutes ago in the app's past chats, yet no window is open: a free-form send fails.
    job = shared.http.post("/v1/messages", json={"to": user, "type": "text", "text": {"body": "hi again"}}).json()
    done = shared.wait_job(job["id"], {"failed", "sent", "delivered", "read"})
    assert done["state"] == "failed" and done["error"]["code"] == 131047  # window closed
    # A real message does open it.
    shared.inject(user, text="hello now")
    job = shared.http.post("/v1/messages", json={"to": user, "type": "text", "text": {"body": "hi"}}).json()
    assert shared.wait_job(job["id"], {"failed", "sent", "delivered", "read"})["state"] != "failed"
    # The same chunk again changes nothing (wamids are logged once). The outbox learns of an inbound message
    # before the conversation log does: count only once the customer's message is logged.
    wait_for(lambda: any(m["summary"] == "hello now" for m in _log(shared, user)), 10, "the customer's message")
    before = len(_log(shared, user))
    control(shared, "/coexistence/history", declined=True)
    assert len(_log(shared, user)) == before


def test_app_echoes_are_logged_as_outgoing(shared: LiveGateway) -> None:
    user = "15550202002"
    echo = control(shared, "/coexistence/echo", to=user, text="sent from the app")
    [logged] = _logged(shared, user, 1)
    assert (logged["wamid"], logged["direction"], logged["summary"]) == (echo["id"], "out", "sent from the app")
    assert logged["job_id"] is None and logged["status"] == "sent" and logged["body"]["origin"] == "business_app"


def test_edit_and_revoke_change_the_logged_message(shared: LiveGateway) -> None:
    user = "15550202003"
    first = shared.inject(user, text="helo")["id"]
    second = shared.inject(user, text="call me")["id"]
    _logged(shared, user, 2)
    edit = control(shared, "/coexistence/edit", **{"from": user, "original_message_id": first, "text": "hello"})
    log = wait_for(lambda: (m := _log(shared, user)) and m[0]["status"] == "edited" and m, 10, "the edit")
    assert (log[0]["wamid"], log[0]["summary"], log[0]["body"]["text"]) == (first, "hello", {"body": "hello"})
    assert log[0]["body"]["edited"]["edit_id"] == edit["id"]
    control(shared, "/coexistence/revoke", **{"from": user, "original_message_id": second})
    log = wait_for(lambda: (m := _log(shared, user)) and m[1]["status"] == "revoked" and m, 10, "the revoke")
    assert log[1]["summary"] == "" and "text" not in log[1]["body"] and log[1]["body"]["revoked"]
    assert len(log) == 2  # the edit and revoke are applied, not logged as messages of their own
    missing = control(shared, "/coexistence/edit", 400, **{"from": user, "original_message_id": "wamid.nope",
                                                          "text": "x"})
    assert "is not a message" in missing["error"]


def test_app_contacts_are_recorded(shared: LiveGateway) -> None:
    control(shared, "/coexistence/contacts", phone_number="15550202004", full_name="Sheena Nelson",
            first_name="Sheena")
    control(shared, "/coexistence/contacts", phone_number="15550202005", full_name="Old Friend")
    control(shared, "/coexistence/contacts", phone_number="15550202005", action="remove")

    def book() -> dict[str, Any]:
        rows = shared.http.get("/v1/coexistence/contacts").json()["contacts"]
        found = {c["phone_number"]: c for c in rows}
        return found if "15550202004" in found and found.get("15550202005", {}).get("removed") else {}

    found = wait_for(book, 10, "the app contacts")
    assert (found["15550202004"]["full_name"], found["15550202004"]["first_name"]) == ("Sheena Nelson", "Sheena")
    assert found["15550202005"]["full_name"] == "Old Friend" and found["15550202005"]["removed"] is True


def test_a_number_not_shared_gets_no_coexistence_webhooks(live: LiveGateway) -> None:
    refused = control(live, "/coexistence/echo", 400, to="15550202006", text="x")
    assert "not shared with the Business app" in refused["error"]
    assert control(live, "/coexistence/number", on_biz_app="yes", expect=400)
