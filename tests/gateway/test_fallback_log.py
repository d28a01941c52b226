"""A job that went out as its fallback template says so, and the conversation log shows the template."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from wacloud.cli import app

from .conftest import LiveGateway, wait_for

TEXT = {"type": "text", "text": {"body": "your parcel is at the depot"}}


def _outbound(live: LiveGateway, wa_id: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = live.http.get(f"/v1/conversations/{wa_id}/messages").json()["messages"]
    return [m for m in messages if m["direction"] == "out"]


def test_a_local_fallback_is_logged_as_the_template_and_shown_in_the_job(live: LiveGateway) -> None:
    wa_id = "15557000001"  # never wrote: the window is closed, the outbox swaps in the template
    job = live.http.post("/v1/messages", params={"fallback_template": "hello_world"}, json={"to": wa_id, **TEXT})
    assert job.status_code == 202, job.text
    done = live.wait_job(job.json()["id"], {"read"})
    assert done["fallback_template"] == "hello_world"
    steps = [(e["state"], e.get("detail")) for e in done["history"]]
    assert ("fallback", "window closed → sent fallback template hello_world") in steps, steps
    assert [s for s, _ in steps].index("fallback") < [s for s, _ in steps].index("accepted")
    # The log shows what the customer got once the send is known (its first status), not the text.
    logged = wait_for(lambda: [m for m in _outbound(live, wa_id) if m["type"] == "template"], 10,
                      "the template to be logged")
    assert len(_outbound(live, wa_id)) == 1 and logged[0]["wamid"] == done["wamid"]
    assert "hello_world" in logged[0]["summary"] and "parcel" not in logged[0]["summary"]
    assert logged[0]["body"]["template"]["name"] == "hello_world"
    # The CLI says it too.
    res = CliRunner().invoke(app, ["status", done["id"]], env={"WACLOUD_GATEWAY_URL": live.url,
                                                                "WACLOUD_API_KEY": live.key, "COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "sent fallback template hello_world" in res.output


def test_a_job_sent_as_written_has_no_fallback_step(live: LiveGateway) -> None:
    wa_id = "15557000002"
    live.inject(wa_id, text="hi")
    wait_for(lambda: live.http.get(f"/v1/conversations/{wa_id}/messages").json()["messages"], 10, "inbound")
    job = live.http.post("/v1/messages", params={"fallback_template": "hello_world"}, json={"to": wa_id, **TEXT})
    done = live.wait_job(job.json()["id"], {"read"})
    assert done.get("fallback_template") is None
    assert "fallback" not in [e["state"] for e in done["history"]]
    assert [m["type"] for m in _outbound(live, wa_id)] == ["text"]


def test_a_fallback_after_meta_refused_the_text_logs_both(tmp_path: Any) -> None:
    from .conftest import start_gateway

    def no_local_check(app: Any) -> None:
        # The outbox does not know the window is closed (another sender, a lost inbound): Meta says 131047.
        app.state.gateway.outbox.enforce_window = False

    server, live = start_gateway(tmp_path / "wacloud.db", prepare=no_local_check)
    try:
        wa_id = "15557000003"
        job = live.http.post("/v1/messages", params={"fallback_template": "hello_world"},
                             json={"to": wa_id, **TEXT})
        done = live.wait_job(job.json()["id"], {"read"})
        assert done["fallback_template"] == "hello_world"
        logged = wait_for(lambda: (lambda out: out if len(out) == 2 and out[1]["type"] == "template" else None)(
            _outbound(live, wa_id)), 10, "both sends to be logged")
        assert logged[0]["type"] == "text" and logged[0]["status"] == "failed"
        assert logged[1]["wamid"] == done["wamid"] and logged[1]["body"]["template"]["name"] == "hello_world"
    finally:
        live.http.close()
        server.stop()
