"""``wacloud events tail`` and ``wacloud subscriptions …`` against a running gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.events.receiver import Subscriber
from tests.gateway.conftest import LiveGateway, start_gateway, wait_for
from typer.testing import CliRunner

from wacloud.cli import app

runner = CliRunner()


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[LiveGateway]:
    server, live = start_gateway(tmp_path / "wacloud.db")
    try:
        yield live
    finally:
        live.http.close()
        server.stop()


def _cli(live: LiveGateway, *args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args), env={"WACLOUD_GATEWAY_URL": live.url, "WACLOUD_API_KEY": live.key},
                        catch_exceptions=False)
    return res.exit_code, res.output


def test_tail_and_the_subscription_commands(gw: LiveGateway, subscriber: Subscriber) -> None:
    for i in range(3):
        gw.inject(f"155500099{i:02d}", type="text", text={"body": f"cli {i}"})
    wait_for(lambda: len(gw.http.get("/v1/events", params={"types": "message.received"}).json()["events"]) == 3,
             15, "three events")
    code, out = _cli(gw, "events", "tail", "--after", "0", "--types", "message.received", "--count", "3", "--json")
    assert code == 0, out
    assert [json.loads(line)["data"]["message"]["text"]["body"] for line in out.splitlines()] == \
        ["cli 0", "cli 1", "cli 2"]
    code, out = _cli(gw, "events", "tail", "--types", "nope", "--count", "1")
    assert code == 2 and "unknown event type" in out

    code, out = _cli(gw, "subscriptions", "create", subscriber.url, "--types", "message.received", "--from",
                     "oldest", "--json")
    assert code == 0, out
    created = json.loads(out)
    subscriber.secret = created["secret"]
    wait_for(lambda: len(subscriber.got.events) == 3, 20, "three deliveries")
    code, out = _cli(gw, "subscriptions", "list", "--json")
    assert code == 0 and [s["id"] for s in json.loads(out)["subscriptions"]] == [created["id"]]
    code, out = _cli(gw, "subscriptions", "pause", created["id"], "--json")
    assert json.loads(out)["state"] == "paused"
    code, out = _cli(gw, "subscriptions", "resume", created["id"], "--json")
    assert json.loads(out)["state"] == "active"
    code, out = _cli(gw, "subscriptions", "replay", created["id"], "--from", "0", "--json")
    assert code == 0 and json.loads(out)["cursor"] == 0
    wait_for(lambda: len(subscriber.got.events) == 6, 20, "the replay")
    code, out = _cli(gw, "subscriptions", "show", created["id"])
    assert code == 0 and created["id"] in out
    code, out = _cli(gw, "subscriptions", "delete", created["id"])
    assert code == 0
    code, out = _cli(gw, "subscriptions", "show", created["id"])
    assert code == 5 and "no subscription" in out
