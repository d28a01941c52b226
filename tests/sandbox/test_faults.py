"""Fault injection: 5xx, transient codes, dropped connections, timeouts, lost messages; seeded."""

from __future__ import annotations

import httpx
import pytest

from sandbox.helpers import WA_ID, send
from wacloud.sandbox.testing import SandboxHandle

HELLO = {"to": WA_ID, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ({"error_500_rate": 1.0}, 500, 1),
        ({"error_503_rate": 1.0}, 503, 2),
        ({"codes": {131000: 1.0}}, 500, 131000),
        ({"codes": {131016: 1.0}}, 503, 131016),
        ({"codes": {131057: 1.0}}, 500, 131057),
        ({"codes": {130429: 1.0}}, 400, 130429),
        ({"codes": {131056: 1.0}}, 400, 131056),
    ],
)
def test_error_answers(sandbox: SandboxHandle, fault: dict[str, object], status: int, code: int) -> None:
    sandbox.set_faults(**fault)
    r = send(sandbox, HELLO)
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == code and err["fbtrace_id"]
    [attempt] = sandbox.log()
    assert attempt["code"] == code and attempt["wamid"] is None
    assert sandbox.stats()["accepted"] == 0


def test_5xx_also_hits_other_endpoints(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(error_503_rate=1.0)
    assert sandbox.http.get(f"/{sandbox.waba_id}/message_templates").status_code == 503
    sandbox.control.delete("/faults")
    assert sandbox.http.get(f"/{sandbox.waba_id}/message_templates").status_code == 200


def test_dropped_connection(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(drop_rate=1.0)
    with pytest.raises(httpx.TransportError):
        send(sandbox, HELLO)
    [attempt] = sandbox.log()
    assert attempt["outcome"] == "drop"
    assert sandbox.stats()["accepted"] == 0
    sandbox.set_faults(drop_rate=0.0)
    assert send(sandbox, HELLO).status_code == 200  # the server is fine afterwards


def test_drop_after_accept_sends_the_message(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(drop_after_accept_rate=1.0)
    with pytest.raises(httpx.TransportError):
        send(sandbox, HELLO)
    [attempt] = sandbox.log()
    assert attempt["outcome"] == "accepted_dropped" and attempt["wamid"]
    assert sandbox.stats()["accepted_per_recipient"] == {WA_ID: 1}


def test_timeout(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(timeout_rate=1.0, timeout_s=0.5)
    with pytest.raises(httpx.TimeoutException):
        sandbox.http.post(
            f"/{sandbox.phone_number_id}/messages", json={"messaging_product": "whatsapp", **HELLO}, timeout=0.1
        )
    assert sandbox.log()[0]["outcome"] == "timeout"


def test_never_delivered(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(never_deliver_rate=1.0)
    r = send(sandbox, HELLO)
    assert r.status_code == 200
    sandbox.freeze()
    sandbox.advance(60)
    assert sandbox.message(r.json()["messages"][0]["id"])["statuses"] == []
    assert sandbox.log()[0]["outcome"] == "accepted_undelivered"


def test_latency_still_answers(sandbox: SandboxHandle) -> None:
    sandbox.set_faults(latency_s=0.01, latency_jitter_s=0.01)
    assert send(sandbox, HELLO).status_code == 200


def test_faults_are_seeded(sandbox: SandboxHandle) -> None:
    def run() -> list[int]:
        sandbox.reset()
        sandbox.configure(mps=1000)
        sandbox.set_faults(error_500_rate=0.3, codes={131000: 0.2})
        return [send(sandbox, {**HELLO, "to": f"1650555{i:04d}"}).status_code for i in range(40)]

    first, second = run(), run()
    assert first == second
    assert {200, 500} <= set(first)


def test_unknown_fault_is_refused(sandbox: SandboxHandle) -> None:
    r = sandbox.control.post("/faults", json={"lightning": 1})
    assert r.status_code == 400 and "lightning" in r.json()["error"]


async def test_dropped_connection_in_process() -> None:
    """Through httpx's ASGI transport (the gateway embeds the sandbox that way) a drop is a transport error."""
    from wacloud.sandbox import create_sandbox_app

    app = create_sandbox_app(None, faults={"drop_rate": 1.0})
    await app.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
            with pytest.raises(httpx.TransportError):
                await client.post(
                    f"/v25.0/{app.state.config.phone_number_id}/messages",
                    headers={"Authorization": f"Bearer {app.state.config.access_token}"},
                    json={"messaging_product": "whatsapp", **HELLO},
                )
    finally:
        await app.stop()
