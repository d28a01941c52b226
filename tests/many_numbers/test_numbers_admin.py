"""Numbers added, changed and removed at run time through ``/v1/numbers`` (admins only), kept in the gateway
database across restarts; media and management calls act for the number they name, with its own token.

The sandbox serves A (the gateway's configured number, the gateway-wide token) and B, a number of another
app with a token of its own: the sandbox answers B's paths only with B's token, so whatever the gateway
does for B succeeds only with B's credentials.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from wacloud.cli import app as cli
from wacloud.gateway._app import create_app
from wacloud.gateway._db import Database
from wacloud.gateway._number_config import NumberConfig
from wacloud.gateway._number_store import NumberStore
from wacloud.gateway._settings import Settings, load_settings
from wacloud.sandbox import ServerThread, free_port
from wacloud.sandbox.testing import SandboxHandle, run_sandbox

from .conftest import APP_SECRET, HELLO, SANDBOX_MPS, TOKEN, VERIFY_TOKEN, A, B, TwoNumbers, database_url, wait_for

TOKEN_B = "EAAG-second-app-token-that-must-never-show-7f3c"
NEW_B = {"phone_number_id": B["phone_number_id"], "waba_id": B["waba_id"], "access_token": TOKEN_B,
         "name": "Brand B", "display_phone_number": B["display_phone_number"], "mps": 40}


@contextlib.contextmanager
def _gateway(settings: Settings, port: int, sbx: SandboxHandle) -> Iterator[TwoNumbers]:
    """One gateway process on ``port`` (an admin key of its own), stopped on exit."""
    app = create_app(settings)
    _, key = app.state.gateway.keys.create("admin")
    server = ServerThread(app, port=port)
    server.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}, timeout=20)
    try:
        yield TwoNumbers(url=f"http://127.0.0.1:{port}", http=http, app=app, sandbox=sbx)
    finally:
        http.close()
        server.stop()


@contextlib.contextmanager
def _sandbox_and_settings(url: str) -> Iterator[tuple[SandboxHandle, Settings, int]]:
    port = free_port()
    with run_sandbox(access_token=TOKEN, app_secret=APP_SECRET, mps=SANDBOX_MPS,
                     webhook_url=f"http://127.0.0.1:{port}/webhook",
                     phone_numbers=[A, {**B, "access_token": TOKEN_B}], delivered_after_s=0.05,
                     read_after_s=None) as sbx:
        settings = load_settings(database_url=url, port=port, access_token=TOKEN, app_secret=APP_SECRET,
                                 verify_token=VERIFY_TOKEN, graph_url=sbx.base_url, numbers=[dict(A)])
        yield sbx, settings, port


@pytest.fixture
def one_number(tmp_path: Path) -> Iterator[TwoNumbers]:
    """A gateway configured with A only (SQLite), the sandbox serving A and B."""
    with _sandbox_and_settings(f"sqlite:///{tmp_path / 'gw.db'}") as (sbx, settings, port), \
            _gateway(settings, port, sbx) as gw:
        yield gw


def _message_to(number: dict[str, str], customer: str, wamid: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": number["display_phone_number"],
                         "phone_number_id": number["phone_number_id"]},
            "contacts": [{"profile": {"name": "Bea"}, "wa_id": customer}],
            "messages": [{"from": customer, "id": wamid, "timestamp": "1767225600", "type": "text",
                          "text": {"body": "hi B"}}]}


def _numbers(gw: TwoNumbers) -> dict[str, dict[str, Any]]:
    resp = gw.http.get("/v1/numbers")
    assert resp.status_code == 200, resp.text
    assert TOKEN_B not in resp.text
    return {n["phone_number_id"]: n for n in resp.json()["numbers"]}


def _sent_from(gw: TwoNumbers, sender: str, to: str) -> dict[str, Any]:
    job = gw.send(sender, to)
    done = wait_for(lambda: (j := gw.http.get(f"/v1/jobs/{job['id']}").json())["state"] in ("sent", "delivered")
                    and j, 20, "the job sent")
    assert isinstance(done, dict)
    return done


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_number_added_over_the_api_sends_receives_and_survives_a_restart(
        kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="wacloud")
    for url in database_url(kind, tmp_path):
        with _sandbox_and_settings(url) as (sbx, settings, port):
            with _gateway(settings, port, sbx) as gw:
                # Before B is added, its webhooks are kept apart.
                assert gw.post_webhook(_message_to(B, "15553330001", "wamid.before")).status_code == 200
                wait_for(lambda: gw.http.get("/v1/webhooks/unrouted").json()["updates"], 20, "kept apart")

                resp = gw.http.post("/v1/numbers", json=NEW_B)
                assert resp.status_code == 201, resp.text
                assert TOKEN_B not in resp.text
                added = resp.json()
                assert (added["source"], added["access_token_set"], added["name"], added["rate"]) == (
                    "api", True, "Brand B", 40.0)
                assert added["workers"] == "ok"

                # It sends with its own token (the sandbox takes no other on B's path).
                job = _sent_from(gw, B["phone_number_id"], "15553330002")
                assert job["phone_number_id"] == B["phone_number_id"]
                accepted = [a for a in sbx.log() if a["code"] == 0 and a["wamid"] == job["wamid"]]
                assert [a["phone_number_id"] for a in accepted] == [B["phone_number_id"]]

                # Its webhooks land on it at once, no longer kept apart.
                assert gw.post_webhook(_message_to(B, "15553330003", "wamid.after")).status_code == 200
                wait_for(lambda: [c for c in gw.http.get("/v1/conversations", params={"number": B["phone_number_id"]})
                                  .json()["conversations"] if c["wa_id"] == "15553330003"], 20, "B's conversation")
                unrouted = gw.http.get("/v1/webhooks/unrouted").json()
                [kept] = unrouted["updates"]
                assert "wamid.before" in json.dumps(kept["body"]) and kept["phone_number_id"] == B["phone_number_id"]
                on_a = gw.http.get("/v1/conversations", params={"number": A["phone_number_id"]}).json()
                assert "15553330003" not in {c["wa_id"] for c in on_a["conversations"]}

            # A restart: B comes back from the database, and still sends with its own token.
            with _gateway(settings, port, sbx) as gw:
                numbers = _numbers(gw)
                assert numbers[B["phone_number_id"]]["source"] == "api"
                assert numbers[B["phone_number_id"]]["rate"] == 40.0
                assert numbers[A["phone_number_id"]]["source"] == "config"
                _sent_from(gw, B["phone_number_id"], "15553330004")

                resp = gw.http.delete(f"/v1/numbers/{B['phone_number_id']}")
                assert resp.status_code == 200, resp.text
                assert resp.json()["removed"] is True
                assert B["phone_number_id"] not in _numbers(gw)
                # Removed: sends from it are refused, its webhooks are kept apart again.
                refused = gw.http.post("/v1/messages", json={"from": B["phone_number_id"], "to": "15553330005",
                                                             **HELLO})
                assert refused.status_code == 422 and refused.json()["error"]["field"] == "from"
                assert gw.post_webhook(_message_to(B, "15553330006", "wamid.gone")).status_code == 200
                wait_for(lambda: "wamid.gone" in gw.http.get("/v1/webhooks/unrouted").text, 20,
                         "kept apart after removal")

            with _gateway(settings, port, sbx) as gw:
                assert set(_numbers(gw)) == {A["phone_number_id"]}
    # The token was never logged.
    assert caplog.records and TOKEN_B not in caplog.text


def test_viewers_agents_and_limited_keys_cannot_change_numbers(one_number: TwoNumbers) -> None:
    keys = one_number.gw.keys
    for role in ("viewer", "agent"):
        _, key = keys.create(role, role=role)
        headers = {"Authorization": f"Bearer {key}"}
        for method, path, body in (("POST", "/v1/numbers", NEW_B),
                                   ("PATCH", f"/v1/numbers/{A['phone_number_id']}", {"name": "x"}),
                                   ("DELETE", f"/v1/numbers/{A['phone_number_id']}", None)):
            resp = one_number.http.request(method, path, json=body, headers=headers)
            assert resp.status_code == 403, (role, method, resp.text)
            assert "admin only" in resp.json()["error"]["reason"] or "read-only" in resp.json()["error"]["reason"]
        # Reading the numbers is every role's, and shows no token either.
        seen = one_number.http.get("/v1/numbers", headers=headers)
        assert seen.status_code == 200 and TOKEN not in seen.text
    _, limited = keys.create("limited admin", numbers=[A["phone_number_id"]], role="admin")
    resp = one_number.http.post("/v1/numbers", json=NEW_B, headers={"Authorization": f"Bearer {limited}"})
    assert resp.status_code == 403 and "limited" in resp.json()["error"]["reason"]
    assert B["phone_number_id"] not in _numbers(one_number)


def test_bad_numbers_are_refused_and_nothing_is_kept(one_number: TwoNumbers) -> None:
    http = one_number.http
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({**NEW_B, "phone_number_id": "12ab"}, 422, "phone_number_id"),
        ({**NEW_B, "name": "bad\x00name"}, 422, "name"),
        ({**NEW_B, "mps": 0}, 422, "mps"),
        ({**NEW_B, "colour": "red"}, 422, "colour"),
        # Meta refuses the token: nothing kept.
        ({**NEW_B, "access_token": "EAAG-wrong"}, 422, "access_token"),
        # The gateway-wide token cannot reach B (another app's number).
        ({k: v for k, v in NEW_B.items() if k != "access_token"}, 422, "phone_number_id"),
        # A is the configured number; its display number is A's too.
        ({**A}, 409, "phone_number_id"),
        ({**NEW_B, "display_phone_number": A["display_phone_number"]}, 409, "display_phone_number"),
    ]
    for body, status, field in cases:
        resp = http.post("/v1/numbers", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.json()["error"]["field"] == field, resp.text
        assert TOKEN_B not in resp.text and "EAAG-wrong" not in resp.text
    assert set(_numbers(one_number)) == {A["phone_number_id"]}
    assert http.post("/v1/numbers", json=NEW_B).status_code == 201
    assert http.post("/v1/numbers", json=NEW_B).status_code == 409
    # The audit log has every attempt, and no token.
    audit = http.get("/v1/audit")
    assert audit.status_code == 200 and "/v1/numbers" in audit.text
    assert TOKEN_B not in audit.text and "EAAG-wrong" not in audit.text


def test_configured_and_last_numbers_stay_and_a_patch_changes_rate_name_and_token(one_number: TwoNumbers) -> None:
    http = one_number.http
    a, b = A["phone_number_id"], B["phone_number_id"]
    resp = http.delete(f"/v1/numbers/{a}")
    assert resp.status_code == 409 and "only number" in resp.json()["error"]["reason"]
    assert http.patch(f"/v1/numbers/{a}", json={"mps": 10}).status_code == 409
    assert http.delete("/v1/numbers/999999").status_code == 422
    assert http.post("/v1/numbers", json=NEW_B).status_code == 201
    resp = http.delete(f"/v1/numbers/{a}")
    assert resp.status_code == 409 and "configuration" in resp.json()["error"]["reason"]

    resp = http.patch(f"/v1/numbers/{b}", json={"name": "Brand B (EU)", "mps": 25})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["name"], resp.json()["rate"]) == ("Brand B (EU)", 25.0)
    resp = http.patch(f"/v1/numbers/{b}", json={"max_mps": 5})
    assert resp.json()["rate"] == 5.0
    # A wrong token is refused by Meta before anything changes; the number goes on with its own.
    resp = http.patch(f"/v1/numbers/{b}", json={"access_token": "EAAG-rotated-wrong"})
    assert resp.status_code == 422 and resp.json()["error"]["field"] == "access_token"
    assert "EAAG-rotated-wrong" not in resp.text
    _sent_from(one_number, b, "15553330010")
    resp = http.patch(f"/v1/numbers/{b}", json={"access_token": TOKEN_B})
    assert resp.status_code == 200 and TOKEN_B not in resp.text and resp.json()["workers"] == "ok"
    assert resp.json()["rate"] == 5.0
    _sent_from(one_number, b, "15553330011")
    assert http.patch(f"/v1/numbers/{b}", json={"token": "x"}).status_code == 422  # unknown field


def test_media_and_management_act_for_the_number_named_with_its_token(one_number: TwoNumbers) -> None:
    http = one_number.http
    sbx = one_number.sandbox
    a, b = A["phone_number_id"], B["phone_number_id"]
    assert http.post("/v1/numbers", json=NEW_B).status_code == 201
    files = {"file": ("b.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")}
    resp = http.post("/v1/media", params={"number": b}, files=files)
    assert resp.status_code == 201, resp.text
    media_b = resp.json()["id"]
    # The sandbox kept it as B's upload, made on B's path (which only B's token reaches).
    assert sbx.app.state.media[media_b].phone_number_id == b
    direct = httpx.post(f"{sbx.graph_url}/{b}/media", headers={"Authorization": f"Bearer {TOKEN}"},
                        data={"messaging_product": "whatsapp"}, files=files)
    assert direct.status_code == 400 and direct.json()["error"]["code"] == 100
    # Without ?number= the gateway's implicit number (A) uploads.
    resp = http.post("/v1/media", files=files)
    assert resp.status_code == 201 and sbx.app.state.media[resp.json()["id"]].phone_number_id == a
    info = http.get(f"/v1/media/{media_b}", params={"number": b})
    assert info.status_code == 200 and info.json()["mime_type"] == "image/png"
    assert http.get(f"/v1/media/{b}", params={"number": b}).status_code == 404  # a number is not media

    # Management: each number's own profile; templates of the number's WABA.
    assert http.get("/v1/profile", params={"number": b}).status_code == 200
    assert http.patch("/v1/profile", params={"number": b}, json={"about": "Brand B"}).status_code == 200
    assert http.get("/v1/profile", params={"number": b}).json()["about"] == "Brand B"
    assert http.get("/v1/profile").json().get("about") != "Brand B"
    # The sandbox counts each WABA's management calls: a template call for B goes to B's WABA.
    def calls(waba: str) -> int:
        return len(sbx.app.state.management.calls.get(waba, ()))

    before_a, before_b = calls(A["waba_id"]), calls(B["waba_id"])
    created = http.post("/v1/templates", params={"number": b}, json={
        "name": "b_only", "language": "en_US", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Your order is ready"}]})
    assert created.status_code == 201, created.text
    assert http.get("/v1/templates", params={"number": b}).status_code == 200
    assert (calls(A["waba_id"]), calls(B["waba_id"])) == (before_a, before_b + 2)
    assert http.get("/v1/templates").status_code == 200
    assert (calls(A["waba_id"]), calls(B["waba_id"])) == (before_a + 1, before_b + 2)

    # The limits route tells each number's own rate.
    assert http.get("/v1/limits", params={"number": b}).json()["mps"] == 40.0
    assert http.get("/v1/limits").json()["mps"] == 80.0

    # A key for A only may not act for B, and gets A without ?number=.
    _, key_a = one_number.gw.keys.create("a only", numbers=[a], role="agent")
    as_a = {"Authorization": f"Bearer {key_a}"}
    refused = http.post("/v1/media", params={"number": b}, files=files, headers=as_a)
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "number"
    assert http.get("/v1/profile", params={"number": b}, headers=as_a).status_code == 403
    own = http.post("/v1/media", files=files, headers=as_a)
    assert own.status_code == 201 and sbx.app.state.media[own.json()["id"]].phone_number_id == a


def test_the_numbers_command_adds_lists_changes_and_removes(one_number: TwoNumbers, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    key = one_number.http.headers["Authorization"].removeprefix("Bearer ")
    where = ["--gateway", one_number.url, "--api-key", key]
    b = B["phone_number_id"]
    monkeypatch.setenv("WACLOUD_NUMBER_ACCESS_TOKEN", TOKEN_B)
    out = CliRunner().invoke(cli, ["numbers", "add", b, "--waba-id", B["waba_id"], "--name", "Brand B", "--token",
                                   *where, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["source"] == "api" and TOKEN_B not in out.output
    listed = CliRunner().invoke(cli, ["numbers", "list", *where])
    assert listed.exit_code == 0 and "Brand B" in listed.output and TOKEN_B not in listed.output
    # Media and management commands take --number: the upload is B's, made with B's token.
    png = tmp_path / "logo.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"1" * 32)
    uploaded = CliRunner().invoke(cli, ["media", "upload", str(png), "--number", b, *where, "--json"])
    assert uploaded.exit_code == 0, uploaded.output
    assert one_number.sandbox.app.state.media[json.loads(uploaded.output)["id"]].phone_number_id == b
    profile = CliRunner().invoke(cli, ["profile", "set", "--about", "B by CLI", "--number", b, *where, "--json"])
    assert profile.exit_code == 0, profile.output
    assert one_number.http.get("/v1/profile", params={"number": b}).json()["about"] == "B by CLI"
    assert one_number.http.get("/v1/profile").json().get("about") != "B by CLI"
    changed = CliRunner().invoke(cli, ["numbers", "set", b, "--mps", "30", *where, "--json"])
    assert changed.exit_code == 0 and json.loads(changed.output)["rate"] == 30.0
    nothing = CliRunner().invoke(cli, ["numbers", "set", b, *where])
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output
    again = CliRunner().invoke(cli, ["numbers", "add", b, "--token", *where, "--json"])
    assert again.exit_code != 0 and "already" in again.output
    gone = CliRunner().invoke(cli, ["numbers", "remove", b, *where, "--json"])
    assert gone.exit_code == 0 and json.loads(gone.output)["removed"] is True
    refused = CliRunner().invoke(cli, ["numbers", "remove", A["phone_number_id"], *where])
    assert refused.exit_code != 0 and "only number" in refused.output


def test_an_added_number_of_another_app_has_its_webhooks_signed_by_that_apps_secret(one_number: TwoNumbers) -> None:
    secret_b = "b-app-secret-never-shown"
    hello = _message_to(B, "15553330020", "wamid.signed-b")
    assert one_number.post_webhook(hello, secret=secret_b).status_code == 403  # not an app of ours yet
    resp = one_number.http.post("/v1/numbers", json={**NEW_B, "app_secret": secret_b})
    assert resp.status_code == 201 and resp.json()["app_secret_set"] is True and secret_b not in resp.text
    assert one_number.post_webhook(hello, secret=secret_b).status_code == 200
    wait_for(lambda: one_number.http.get("/v1/conversations", params={"number": B["phone_number_id"]})
             .json()["conversations"], 20, "B's conversation")
    metrics = httpx.get(f"{one_number.url}/metrics").text
    assert f'wacloud_number_rate_mps{{phone_number_id="{B["phone_number_id"]}"}}' in metrics
    assert one_number.http.delete(f"/v1/numbers/{B['phone_number_id']}").status_code == 200
    # Removed: its app's secret no longer signs for this gateway, and its gauges are gone.
    assert one_number.post_webhook(hello, secret=secret_b).status_code == 403
    assert f'phone_number_id="{B["phone_number_id"]}"' not in httpx.get(f"{one_number.url}/metrics").text


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_number_store_keeps_numbers_with_their_secrets_on_both_databases(kind: str, tmp_path: Path) -> None:
    for url in database_url(kind, tmp_path):
        db = Database(url)
        try:
            store = NumberStore(db)
            NumberStore(db)  # a second process opening the same table
            config = NumberConfig.model_validate({**NEW_B, "name": "Tienda ñ 🛒 \\u0000-looking", "max_mps": 90,
                                                  "app_secret": "s\u00e9cret"})
            assert store.add(config) and not store.add(config)
            # A row that no longer reads as a number (edited by hand) is skipped, not fatal.
            db.execute("INSERT INTO wacloud_gw_numbers (phone_number_id, config, created_at, updated_at) "
                       "VALUES ('9', '{\"phone_number_id\": \"x\"}', 0, 0)")
            [kept] = store.list()
            assert kept.access_token is not None and kept.access_token.get_secret_value() == TOKEN_B
            assert kept.app_secret is not None and kept.app_secret.get_secret_value() == "s\u00e9cret"
            assert (kept.name, kept.max_mps, kept.mps) == ("Tienda ñ 🛒 \\u0000-looking", 90, 40)
            assert TOKEN_B not in repr(kept) and TOKEN_B not in kept.model_dump_json()
            assert store.replace(kept.model_copy(update={"mps": 12}))
            got = store.get(B["phone_number_id"])
            assert got is not None and got.mps == 12
            assert store.remove(B["phone_number_id"]) and not store.remove(B["phone_number_id"])
            assert store.list() == [] and not store.replace(kept)
            with pytest.raises(ValueError, match="NUL"):
                NumberConfig.model_validate({**NEW_B, "access_token": "tok\x00en"})
        finally:
            db.close()


def test_in_sandbox_mode_an_added_number_is_served_by_the_embedded_sandbox_too(tmp_path: Path) -> None:
    port = free_port()
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'sbx.db'}", host="127.0.0.1", port=port)
    third = {"phone_number_id": "100000000000003", "waba_id": "200000000000003", "name": "third",
             "display_phone_number": "+1 555 000 0003"}
    for restart in (False, True):
        app = create_app(settings)
        _, key = app.state.gateway.keys.create("admin")
        server = ServerThread(app, port=port)
        server.start()
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"},
                            timeout=20)
        try:
            if not restart:
                resp = http.post("/v1/numbers", json=third)
                assert resp.status_code == 201, resp.text
            numbers = {n["phone_number_id"]: n for n in http.get("/v1/numbers").json()["numbers"]}
            assert numbers[third["phone_number_id"]]["source"] == "api"
            assert numbers[third["phone_number_id"]]["display_phone_number"] == "+1 555 000 0003"
            # Without "from" the sandbox's first number still sends; with it, the added one.
            queued = http.post("/v1/messages", json={"from": "15550000003", "to": "15553330030", **HELLO})
            assert queued.status_code == 202, queued.text
            job = queued.json()
            assert job["phone_number_id"] == third["phone_number_id"]
            url = f"/v1/jobs/{job['id']}"
            wait_for(lambda c=http, u=url: c.get(u).json()["state"] in ("sent", "delivered", "read"),
                     20, "the added number's send")
            assert http.post("/v1/messages", json={"to": "15553330031", **HELLO}).json()["phone_number_id"] == (
                "100000000000001")
        finally:
            http.close()
            server.stop()
