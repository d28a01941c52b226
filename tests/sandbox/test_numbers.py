"""Several business numbers in one WABA: own throughput buckets, own metadata in webhooks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.helpers import WA_ID, error_code
from wacloud.sandbox.testing import SandboxHandle, WebhookSink, run_sandbox

SECOND = {"phone_number_id": "106540352242999", "display_phone_number": "15550783999"}


@pytest.fixture(scope="module")
def two_numbers() -> Iterator[SandboxHandle]:
    with run_sandbox(extra_phone_numbers=[SECOND], mps=1) as handle:
        yield handle


def _hello(sandbox: SandboxHandle, phone: str, to: str = WA_ID) -> int:
    r = sandbox.http.post(
        f"/{phone}/messages",
        json={
            "messaging_product": "whatsapp",
            "to": to,
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        },
    )
    return r.status_code if r.status_code == 200 else error_code(r)


def test_each_number_has_its_own_bucket_and_metadata(two_numbers: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox = two_numbers
    sandbox.reset()
    sandbox.connect(webhook_sink)
    sandbox.freeze()
    assert _hello(sandbox, sandbox.phone_number_id) == 200
    assert _hello(sandbox, sandbox.phone_number_id, "16505550001") == 130429
    assert _hello(sandbox, SECOND["phone_number_id"], "16505550002") == 200
    assert _hello(sandbox, "106540352240000") == 100
    sandbox.advance(1)
    webhook_sink.wait_for(lambda s: len(s.statuses()) == 6)
    by_phone = {v["metadata"]["phone_number_id"]: v["metadata"] for v in webhook_sink.changes()}
    assert by_phone[SECOND["phone_number_id"]] == SECOND
    assert by_phone[sandbox.phone_number_id]["display_phone_number"] == sandbox.display_phone_number
    # The customer can write to the second number; the webhook says which.
    payload = sandbox.inject("16505550003", text="hi second", to=SECOND["phone_number_id"])["payload"]
    assert payload["entry"][0]["changes"][0]["value"]["metadata"] == SECOND
    assert sandbox.control.post("/inbound", json={"from": WA_ID, "text": "x", "to": "1"}).status_code == 400
    assert _hello(sandbox, sandbox.phone_number_id, SECOND["display_phone_number"]) == 131021


def test_each_number_registers_on_its_own(two_numbers: SandboxHandle) -> None:
    sandbox = two_numbers
    sandbox.reset()
    sandbox.freeze()
    second = SECOND["phone_number_id"]
    listed = sandbox.http.get(f"/{sandbox.waba_id}/phone_numbers").json()["data"]
    assert {n["id"] for n in listed} == {sandbox.phone_number_id, second}
    one = sandbox.http.get(f"/{second}", params={"fields": "display_phone_number,status"}).json()
    assert one == {"id": second, "display_phone_number": "+1 555-078-3999", "status": "CONNECTED"}
    assert sandbox.http.post(f"/{second}/deregister").json() == {"success": True}
    assert _hello(sandbox, second) == 133010
    assert _hello(sandbox, sandbox.phone_number_id) == 200  # the other number is unaffected
    sandbox.reset()
    assert _hello(sandbox, second) == 200  # a reset registers it again
