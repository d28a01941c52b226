"""The control API: customers, records, config, clock, reset."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.helpers import WA_ID, open_window, send
from wacloud.sandbox.testing import SandboxHandle, run_sandbox


def test_customers_crud(sandbox: SandboxHandle) -> None:
    created = sandbox.add_customer("447700900001", profile_name="Ana", marketing_opt_out=True)
    user_id = created.pop("user_id")
    assert user_id.startswith("GB.") and user_id[3:].isdigit()  # a stable BSUID, UK number → GB
    assert created == {
        "wa_id": "447700900001",
        "profile_name": "Ana",
        "on_whatsapp": True,
        "marketing_opt_out": True,
        "blocked": False,
        "read_receipts": True,
        "last_inbound_at": None,
        "window_open": False,
        "windows": {},
        "phone": "447700900001",
        "parent_user_id": None,
        "username": None,
    }
    bulk = sandbox.control.post(
        "/customers", json={"customers": [{"wa_id": "447700900002"}, {"wa_id": "447700900003"}]}
    ).json()
    assert [c["wa_id"] for c in bulk["customers"]] == ["447700900002", "447700900003"]
    assert sandbox.update_customer("447700900001", blocked=True)["blocked"] is True
    listed = sandbox.control.get("/customers").json()["customers"]
    assert {c["wa_id"] for c in listed} == {"447700900001", "447700900002", "447700900003"}
    assert sandbox.control.delete("/customers/447700900002").json() == {"success": True}
    assert sandbox.control.get("/customers/447700900002").status_code == 404


def test_bad_customer_data_is_refused(sandbox: SandboxHandle) -> None:
    for body in (
        {"wa_id": "abc"},
        {"wa_id": "447700900001", "blocked": "yes"},
        {"wa_id": "447700900001", "shoe_size": 44},
        [1, 2],
    ):
        r = sandbox.control.post("/customers", json=body)
        assert r.status_code == 400 and r.json()["error"], body


def test_customer_record_shows_what_was_received(sandbox: SandboxHandle) -> None:
    inbound = open_window(sandbox)
    wamid = send(sandbox, {"to": WA_ID, "text": {"body": "thanks"}}).json()["messages"][0]["id"]
    sandbox.wait_idle()
    record = sandbox.control.get(f"/customers/{WA_ID}/messages").json()
    [received] = record["received"]
    assert received["id"] == wamid and received["body"]["text"] == {"body": "thanks"}
    assert received["status"] == "read"
    assert [s["status"] for s in received["statuses"]] == ["sent", "delivered", "read"]
    assert [m["id"] for m in record["sent"]] == [inbound]
    assert sandbox.control.get("/messages", params={"wa_id": WA_ID}).json()["messages"][0]["id"] == wamid


def test_config_changes_and_reset(sandbox: SandboxHandle) -> None:
    cfg = sandbox.configure(mps=1000, delivered_after_s=None)
    assert cfg["mps"] == 1000 and cfg["delivered_after_s"] is None
    assert "access_token" not in cfg and "app_secret" not in cfg
    r = sandbox.control.post("/config", json={"phone_number_id": "1"})
    assert r.status_code == 400
    sandbox.add_customer("447700900001")
    sandbox.reset()
    assert sandbox.control.get("/config").json()["mps"] == 80
    assert sandbox.control.get("/customers").json()["customers"] == []
    assert sandbox.stats()["attempts"] == 0


def test_clock(sandbox: SandboxHandle) -> None:
    before = sandbox.control.get("/clock").json()
    assert before["frozen"] is False
    sandbox.freeze()
    now = sandbox.control.get("/clock").json()["now"]
    sandbox.advance(3600)
    assert sandbox.control.get("/clock").json()["now"] == now + 3600
    assert sandbox.control.post("/clock/advance", json={"seconds": -1}).status_code == 400
    assert sandbox.control.post("/clock/unfreeze").json()["frozen"] is False


def test_customers_seeded_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "customers.json"
    path.write_text(json.dumps({"customers": [{"wa_id": "447700900009", "profile_name": "Zoe", "on_whatsapp": False}]}))
    with run_sandbox(customers_file=str(path), customers=[{"wa_id": "447700900010"}]) as sb:
        listed = {c["wa_id"]: c for c in sb.control.get("/customers").json()["customers"]}
        assert listed["447700900009"]["profile_name"] == "Zoe" and listed["447700900009"]["on_whatsapp"] is False
        assert "447700900010" in listed
        sb.reset()  # a reset seeds them again
        assert len(sb.control.get("/customers").json()["customers"]) == 2


def test_unknown_paths_answer_like_graph(sandbox: SandboxHandle) -> None:
    r = sandbox.http.get("/123456/no_such_edge")
    assert r.status_code == 400 and r.json()["error"]["code"] == 100
    assert sandbox.control.get("/no_such").status_code == 404


def test_health_and_statuses_off(sandbox: SandboxHandle) -> None:
    assert sandbox.control.get("/health").json() == {"status": "ok"}
    sandbox.configure(sent_after_s=None, delivered_after_s=None, read_after_s=None, played_after_s=None)
    open_window(sandbox)
    wamid = send(sandbox, {"to": WA_ID, "text": {"body": "quiet"}}).json()["messages"][0]["id"]
    sandbox.freeze()
    sandbox.advance(10)
    assert sandbox.message(wamid)["statuses"] == []
    sandbox.update_customer(WA_ID, last_inbound_at=None)
    failed = send(sandbox, {"to": WA_ID, "text": {"body": "closed window"}}).json()["messages"][0]["id"]
    sandbox.advance(1)
    assert sandbox.message(failed)["statuses"][0]["code"] == 131047  # failures still arrive


def test_bad_config_and_fault_values_are_refused_naming_the_setting(sandbox: SandboxHandle) -> None:
    before_cfg = sandbox.control.get("/config").json()
    for body, named in [
        ({"mps": "lots"}, "mps"),
        ({"mps": -5}, "mps"),
        ({"mps": 0}, "mps"),
        ({"webhook_url": 5}, "webhook_url"),
        ({"sent_after_s": "soon"}, "sent_after_s"),
        ({"pair_rate_burst": 1.5}, "pair_rate_burst"),
        ({"pace_new_templates": "yes"}, "pace_new_templates"),
        ({"failure_channels": {"131047": "bogus"}}, "failure_channels"),
        ({"failure_channels": {"100": "sync"}}, "failure_channels"),
        ({"unknown_recipients": "maybe"}, "unknown_recipients"),
        ({"duplicate_rate": 2}, "duplicate_rate"),
        ({"throttle_http_status": 200}, "throttle_http_status"),
    ]:
        r = sandbox.control.post("/config", json=body)
        assert r.status_code == 400 and named in r.json()["error"], (body, r.text)
    assert sandbox.control.get("/config").json() == before_cfg
    for body, named in [
        ({"error_500_rate": "x"}, "error_500_rate"),
        ({"error_500_rate": 5}, "error_500_rate"),
        ({"latency_s": -1}, "latency_s"),
        ({"codes": {"abc": 0.1}}, "codes"),
        ({"codes": {"999999": 0.5}}, "999999"),
        ({"codes": {"131000": 1.5}}, "codes.131000"),
        ({"drop_rate": 0.5, "timeout_rate": 7}, "timeout_rate"),
    ]:
        r = sandbox.control.post("/faults", json=body)
        assert r.status_code == 400 and named in r.json()["error"], (body, r.text)
        assert not r.json()["error"].startswith("ValueError")
    # Nothing of a refused update was applied (drop_rate came before the bad timeout_rate).
    assert sandbox.control.get("/faults").json()["drop_rate"] == 0.0
    good = sandbox.control.post("/faults", json={"codes": {"131000": 0.5}, "latency_s": 0.01})
    assert good.status_code == 200 and good.json()["codes"] == {"131000": 0.5}
    ok = sandbox.configure(mps=20, webhook_url=None, failure_channels={"131047": "sync"}, sent_after_s=None)
    assert ok["mps"] == 20 and ok["sent_after_s"] is None
