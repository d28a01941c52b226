"""Where management state meets the rest of the sandbox, over real HTTP: the management call budget on the
template endpoints, sends from a deregistered number (133010), and the reset hook that renews it all."""

from __future__ import annotations

import json

from sandbox.helpers import WA_ID, error_code, open_window, send
from wacloud.sandbox._state import management_state
from wacloud.sandbox.testing import SandboxHandle


def _usage(response: object, waba_id: str) -> dict[str, int]:
    header = response.headers["X-Business-Use-Case-Usage"]  # type: ignore[attr-defined]
    entry: dict[str, int] = json.loads(header)[waba_id][0]
    return entry


def test_template_endpoints_spend_the_management_budget(sandbox: SandboxHandle) -> None:
    sandbox.freeze()
    management_state(sandbox.app.state).calls_per_hour = 4
    path = f"/{sandbox.waba_id}/message_templates"
    listed = sandbox.http.get(path)
    assert listed.status_code == 200
    assert _usage(listed, sandbox.waba_id)["call_count"] == 25
    template_id = next(t["id"] for t in listed.json()["data"] if t["name"] != "hello_world")
    one = sandbox.http.get(f"/{template_id}")  # a template node counts too
    assert one.status_code == 200 and _usage(one, sandbox.waba_id)["call_count"] == 50
    refused = sandbox.http.post(path, json={"name": "Bad Name"})  # refused calls are still calls
    assert error_code(refused) == 100 and _usage(refused, sandbox.waba_id)["call_count"] == 75
    deleted = sandbox.http.delete(path, params={"name": "hello_world"})
    assert deleted.json() == {"success": True} and _usage(deleted, sandbox.waba_id)["call_count"] == 100
    over = sandbox.http.get(path)
    assert over.status_code == 400
    assert over.json()["error"]["code"] == 80007
    usage = _usage(over, sandbox.waba_id)
    assert usage["call_count"] == 100 and usage["estimated_time_to_regain_access"] >= 1
    assert error_code(sandbox.http.get(f"/{template_id}")) == 80007
    # Other WABA-level management routes share the same budget.
    assert error_code(sandbox.http.get(f"/{sandbox.waba_id}/phone_numbers")) == 80007
    sandbox.advance(3600)
    again = sandbox.http.get(path)
    assert again.status_code == 200 and _usage(again, sandbox.waba_id)["call_count"] == 25


def test_sends_from_a_deregistered_number_answer_133010(sandbox: SandboxHandle) -> None:
    pid = sandbox.phone_number_id
    open_window(sandbox)
    text = {"to": WA_ID, "type": "text", "text": {"body": "hi"}}
    assert send(sandbox, text).status_code == 200
    assert sandbox.http.post(f"/{pid}/deregister").json() == {"success": True}
    refused = send(sandbox, text)
    assert refused.status_code == 400
    err = refused.json()["error"]
    assert err["code"] == 133010 and pid in err["error_data"]["details"]
    tpl = {"to": WA_ID, "type": "template", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    assert error_code(send(sandbox, tpl)) == 133010
    assert sandbox.stats()["errors"]["133010"] == 2
    assert sandbox.log()[-1]["code"] == 133010 and sandbox.log()[-1]["to"] == WA_ID
    assert len(sandbox.received(WA_ID)) == 1  # nothing refused reached the customer
    registered = sandbox.http.post(f"/{pid}/register", json={"messaging_product": "whatsapp", "pin": "123456"})
    assert registered.json() == {"success": True}
    assert send(sandbox, text).status_code == 200


def test_reset_renews_the_management_state(sandbox: SandboxHandle) -> None:
    state = sandbox.app.state
    before = management_state(state)
    before.calls_per_hour = 1
    assert sandbox.http.post(f"/{sandbox.phone_number_id}/deregister").json() == {"success": True}
    assert sandbox.http.get(f"/{sandbox.waba_id}/message_templates").status_code == 200
    assert error_code(sandbox.http.get(f"/{sandbox.waba_id}/message_templates")) == 80007
    sandbox.reset()
    after = management_state(state)
    assert after is not before and after is state.management
    assert after.calls_per_hour is None and after.is_registered(sandbox.phone_number_id)
    assert sandbox.http.get(f"/{sandbox.waba_id}/message_templates").status_code == 200
    open_window(sandbox)
    assert send(sandbox, {"to": WA_ID, "type": "text", "text": {"body": "back"}}).status_code == 200
    # Repeated resets renew it each time, with one hook (not one more per reset).
    hooks = len(state._reset_hooks)
    sandbox.reset()
    sandbox.reset()
    assert len(state._reset_hooks) == hooks and management_state(state) is not after
