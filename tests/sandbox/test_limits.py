"""Throughput and pair-rate buckets: exact counts of 130429 and 131056 for a burst over the limit."""

from __future__ import annotations

from sandbox.helpers import WA_ID, error_code, send
from wacloud.sandbox.testing import SandboxHandle


def _hello(to: str) -> dict[str, object]:
    return {"to": to, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}


def test_throughput_burst_gives_exactly_the_excess_as_130429(sandbox: SandboxHandle) -> None:
    sandbox.configure(mps=20)
    sandbox.freeze()  # no refill during the burst: the count is exact
    codes = [send(sandbox, _hello(f"1650555{i:04d}")).status_code for i in range(27)]
    assert codes.count(200) == 20
    assert sandbox.stats()["errors"] == {"130429": 7}
    r = send(sandbox, _hello("16505559999"))
    assert error_code(r) == 130429 and r.status_code == 400
    assert r.json()["error"]["error_data"]["details"]
    sandbox.advance(0.5)  # half a second refills 10 tokens
    assert [send(sandbox, _hello(f"1650666{i:04d}")).status_code for i in range(11)].count(200) == 10


def test_throughput_status_can_be_429(sandbox: SandboxHandle) -> None:
    sandbox.configure(mps=1, throttle_http_status=429)
    sandbox.freeze()
    assert send(sandbox, _hello("16505550001")).status_code == 200
    r = send(sandbox, _hello("16505550002"))
    assert r.status_code == 429 and r.json()["error"]["code"] == 130429


def test_pair_rate_burst_45_then_one_per_6s(sandbox: SandboxHandle) -> None:
    sandbox.configure(mps=1000)
    sandbox.freeze()
    codes = [send(sandbox, _hello(WA_ID)).status_code for _ in range(50)]
    assert codes.count(200) == 45
    assert sandbox.stats()["errors"] == {"131056": 5}
    # Another recipient is not affected.
    assert send(sandbox, _hello("16505550000")).status_code == 200
    sandbox.advance(5.9)
    assert error_code(send(sandbox, _hello(WA_ID))) == 131056
    sandbox.advance(0.1)
    assert send(sandbox, _hello(WA_ID)).status_code == 200
    stats = sandbox.stats()
    assert stats["accepted_per_recipient"][WA_ID] == 46
    assert stats["errors"] == {"131056": 6}


def test_log_records_every_attempt(sandbox: SandboxHandle) -> None:
    sandbox.configure(mps=2)
    sandbox.freeze()
    for i in range(3):
        send(sandbox, _hello(f"1650555000{i}"))
    log = sandbox.log()
    assert [a["code"] for a in log] == [0, 0, 130429]
    assert [a["outcome"] for a in log] == ["accepted", "accepted", "error"]
    assert log[0]["wamid"].startswith("wamid.") and log[2]["wamid"] is None
    assert [a["wa_id"] for a in log] == ["16505550000", "16505550001", "16505550002"]
    assert sandbox.log(since=log[1]["seq"]) == log[2:]


def test_mexico_and_argentina_wa_ids(sandbox: SandboxHandle) -> None:
    assert send(sandbox, _hello("+52 55 1234 5678")).json()["contacts"][0]["wa_id"] == "5215512345678"
    assert send(sandbox, _hello("+54 11 2345 6789")).json()["contacts"][0]["wa_id"] == "5491123456789"
    assert send(sandbox, _hello("+5215512345678")).json()["contacts"][0]["wa_id"] == "5215512345678"
