"""The CLI in-process (Typer's runner) against a live gateway: JSON output, exit codes, every command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from wacloud.cli import app
from wacloud.cli.broadcast import read_recipients
from wacloud.cli.output import CliError, Exit

from .conftest import APP_SECRET, VERIFY_TOKEN, LiveGateway, wait_for

runner = CliRunner()


def run(live: LiveGateway | None, *args: str, **env: str) -> Any:
    base = {"WACLOUD_GATEWAY_URL": live.url, "WACLOUD_API_KEY": live.key} if live else {}
    return runner.invoke(app, list(args), env={**base, **env}, catch_exceptions=False)


def test_version_and_help() -> None:
    assert "wacloud 0.1.0" in run(None, "--version").output
    out = run(None, "--help").output
    for command in ("serve", "send", "broadcast", "status", "media", "keys", "webhook", "doctor", "sandbox"):
        assert command in out
    send_help = run(None, "send", "--help").output
    assert "Send an image message" in send_help and "Send a sticker message" in send_help
    # Every option of serve and sandbox says what it is for.
    for command in ("serve", "sandbox"):
        params = typer.main.get_command(app).commands[command].params  # type: ignore[attr-defined]
        assert [p.name for p in params if not getattr(p, "help", None) and p.name != "help"] == []


def test_send_every_simple_type_and_status(live: LiveGateway) -> None:
    wa = "15556000001"
    live.template("gw_promo", "Our {{1}} sale: code {{2}} for {{3}} off.", positional=3)
    live.inject(wa, text="hello")  # open the 24-hour window
    res = run(live, "send", "text", f"+{wa}", "hi there", "--key", "cli-1", "--wait", "--json")
    assert res.exit_code == 0, res.output
    job = json.loads(res.output)
    assert job["state"] in ("delivered", "read") and job["key"] == "cli-1"
    again = json.loads(run(live, "send", "text", f"+{wa}", "hi there", "--key", "cli-1", "--json").output)
    assert again["id"] == job["id"]  # idempotent
    for args in (
        ["location", f"+{wa}", "40.41", "3.70", "--name", "Office"],
        ["reaction", f"+{wa}", job["wamid"], "👍"],
        ["buttons", f"+{wa}", "Pick one", "-b", "yes:Yes", "-b", "no:No"],
        ["image", f"+{wa}", "--link", "https://example.com/a.jpg", "--caption", "look"],
        ["template", f"+{wa}", "gw_promo", "-p", "Summer", "-p", "SUN", "-p", "10%"],
    ):
        res = run(live, "send", *args, "--json")
        assert res.exit_code == 0, (args, res.output)
        assert json.loads(res.output)["state"]
    status = run(live, "status", job["id"])
    assert status.exit_code == 0 and job["wamid"] in status.output


def test_send_raw_from_stdin_and_bad_input(live: LiveGateway, tmp_path: Path) -> None:
    body = {
        "to": "+15556000002",
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    res = runner.invoke(
        app,
        ["send", "raw", "-", "--json"],
        input=json.dumps(body),
        env={"WACLOUD_GATEWAY_URL": live.url, "WACLOUD_API_KEY": live.key},
    )
    assert res.exit_code == 0, res.output
    too_long = run(live, "send", "text", "+15556000002", "x" * 5000, "--json")
    assert too_long.exit_code == Exit.USAGE and "4096" in too_long.output
    both = run(live, "send", "image", "+15556000002", "--id", "1", "--link", "https://e.com/x.jpg")
    assert both.exit_code == 2
    bad_file = tmp_path / "b.json"
    bad_file.write_text("[1, 2]")
    assert run(live, "send", "raw", str(bad_file)).exit_code == Exit.USAGE
    no_key = runner.invoke(app, ["status", "1"], env={"WACLOUD_GATEWAY_URL": live.url, "WACLOUD_API_KEY": ""})
    assert no_key.exit_code == Exit.USAGE
    down = run(live, "status", "1", WACLOUD_GATEWAY_URL="http://127.0.0.1:9")
    assert down.exit_code == Exit.UNREACHABLE


def test_failed_job_exits_1(live: LiveGateway) -> None:
    res = run(live, "send", "text", "+15556000003", "nobody wrote to us", "--wait", "--json")
    assert res.exit_code == Exit.FAILED
    assert json.loads(res.output)["error"]["code"] == 131047
    rescued = run(
        live, "send", "text", "+15556000004", "nobody wrote", "--fallback-template", "hello_world", "--wait", "--json"
    )
    assert rescued.exit_code == 0 and json.loads(rescued.output)["type"] == "template"


def test_broadcast_csv_with_progress_and_outcomes(live: LiveGateway, tmp_path: Path) -> None:
    live.template("gw_order", "Hi {{first_name}}, order {{order_id}} is confirmed.", named=["first_name", "order_id"])
    live.template("gw_promo", "Our {{1}} sale: code {{2}} for {{3}} off.", positional=3)
    good = tmp_path / "good.csv"
    good.write_text("phone,first_name,order_id\n+15556100001,Ana,A-1\n+15556100002,Bo,B-2\n")
    res = run(live, "broadcast", "--template", "gw_order", "--recipients", str(good), "--json")
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["total"] == 2 and summary["failed_by_code"] == {}
    mismatch = tmp_path / "bad.csv"
    mismatch.write_text("to,1\n+15556100003,only-one\n")
    res = run(live, "broadcast", "--template", "gw_promo", "--recipients", str(mismatch), "--until", "accepted")
    assert res.exit_code == Exit.USAGE  # refused before queueing: columns 2 and 3 are missing
    assert "needs 2, 3" in res.output
    gone = live.http.post(f"{live.sandbox}/_sandbox/customers", json={"wa_id": "15556100005", "on_whatsapp": False})
    assert gone.status_code == 200, gone.text
    some_fail = tmp_path / "some_fail.csv"
    some_fail.write_text("to,1,2,3\n+15556100004,a,b,c\n+15556100005,a,b,c\n")
    res = run(live, "broadcast", "--template", "gw_promo", "--recipients", str(some_fail), "--until", "delivered")
    assert res.exit_code == Exit.FAILED
    assert "failed with code" in res.output  # the human table of outcomes by code


def test_read_recipients(tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("\ufeffwa_id,2,param1,city\n+15556000123,b,a,Lima\n")
    assert read_recipients(f).recipients == [{"to": "+15556000123", "values": {"2": "b", "1": "a", "city": "Lima"}}]
    f.write_text("name\nAna\n")
    with pytest.raises(CliError, match="no recipient column"):
        read_recipients(f)
    f.write_text("to\n")
    with pytest.raises(CliError, match="no recipients"):
        read_recipients(f)


def test_media_upload_info_download_delete(live: LiveGateway, tmp_path: Path) -> None:
    pic = tmp_path / "pic.png"
    pic.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x01" * 100)
    up = run(live, "media", "upload", str(pic), "--json")
    assert up.exit_code == 0, up.output
    media_id = json.loads(up.output)["id"]
    assert json.loads(run(live, "media", "info", media_id, "--json").output)["file_size"] == 108
    out = tmp_path / "copy.png"
    assert run(live, "media", "download", media_id, "-o", str(out)).exit_code == 0
    assert out.read_bytes() == pic.read_bytes()
    assert run(live, "media", "delete", media_id).exit_code == 0
    unknown = tmp_path / "x.unknownext"
    unknown.write_bytes(b"x")
    assert run(live, "media", "upload", str(unknown)).exit_code == Exit.USAGE


def test_webhook_verify_url_and_replay(live: LiveGateway, tmp_path: Path) -> None:
    ok = run(None, "webhook", "verify-url", f"{live.url}/webhook", "--verify-token", VERIFY_TOKEN, "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"]
    bad = run(None, "webhook", "verify-url", f"{live.url}/webhook", "--verify-token", "wrong")
    assert bad.exit_code == Exit.FAILED and "403" in bad.output
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "1", "phone_number_id": "100000000000001"},
                            "contacts": [{"wa_id": "15556200001", "profile": {"name": "Replay"}}],
                            "messages": [
                                {
                                    "from": "15556200001",
                                    "id": "wamid.replay-1",
                                    "timestamp": "1700000000",
                                    "type": "text",
                                    "text": {"body": "replayed"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    f = tmp_path / "hook.json"
    f.write_text(json.dumps(payload))
    res = run(None, "webhook", "replay", str(f), "--url", f"{live.url}/webhook", "--app-secret", APP_SECRET, "--json")
    assert res.exit_code == 0, res.output
    msgs = wait_for(
        lambda: live.http.get("/v1/conversations/15556200001/messages").json()["messages"],
        10,
        "the replayed message to be processed (after the 200)",
    )
    assert [m["summary"] for m in msgs] == ["replayed"]
    forged = run(None, "webhook", "replay", str(f), "--url", f"{live.url}/webhook", "--app-secret", "nope")
    assert forged.exit_code == Exit.FAILED


def test_keys_and_doctor(live: LiveGateway, tmp_path: Path) -> None:
    db = live.gw.settings.database_url
    made = json.loads(run(None, "keys", "create", "--name", "ci", "--database-url", db, "--json").output)
    listed = json.loads(run(None, "keys", "list", "--database-url", db, "--json").output)["keys"]
    assert made["id"] in [k["id"] for k in listed] and all("key" not in k for k in listed)
    assert run(None, "keys", "revoke", made["id"], "--database-url", db).exit_code == 0
    assert run(None, "keys", "revoke", made["id"], "--database-url", db).exit_code == Exit.NOT_FOUND
    doc = run(
        None, "doctor", "--gateway", live.url, "--json", WACLOUD_DATABASE_URL=db, WACLOUD_VERIFY_TOKEN=VERIFY_TOKEN
    )
    checks = {c["name"]: c["state"] for c in json.loads(doc.output)["checks"]}
    assert checks == {
        "configuration": "ok", "token": "skip", "store": "ok", "gateway": "ok", "api key": "skip", "webhook": "ok",
        "api version": "ok",
    }
    assert doc.exit_code == 0
    broken = run(None, "doctor", "--gateway", live.url, "--json", WACLOUD_MPS="lots")
    assert broken.exit_code == Exit.FAILED and "WACLOUD_MPS" in broken.output


def test_doctor_checks_a_live_token_against_a_graph_api(live: LiveGateway, tmp_path: Path) -> None:
    gw = live.gw
    env = {
        "WACLOUD_ACCESS_TOKEN": gw.creds.token,
        "WACLOUD_PHONE_NUMBER_ID": gw.creds.phone_number_id,
        "WACLOUD_GRAPH_URL": live.sandbox,
        "WACLOUD_APP_SECRET": APP_SECRET,
        "WACLOUD_VERIFY_TOKEN": VERIFY_TOKEN,
        "WACLOUD_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
        "WACLOUD_PUBLIC_URL": live.url,
    }
    doc = run(None, "doctor", "--gateway", live.url, "--json", **env)
    checks = {c["name"]: (c["state"], c["detail"]) for c in json.loads(doc.output)["checks"]}
    assert checks["token"][0] == "ok", checks
    bad = run(None, "doctor", "--gateway", live.url, "--json", **{**env, "WACLOUD_ACCESS_TOKEN": "wrong-token"})
    assert bad.exit_code == Exit.FAILED
    detail = json.loads(bad.output)
    assert "wrong-token" not in json.dumps(detail)
    assert dict((c["name"], c["state"]) for c in detail["checks"])["token"] == "fail"


def test_direct_send_needs_credentials(live: LiveGateway) -> None:
    res = run(None, "send", "text", "+15550000000", "hi", "--direct", "--json")
    assert res.exit_code == Exit.USAGE and "WACLOUD_ACCESS_TOKEN" in res.output
    gw = live.gw
    live.inject("15556300001", text="hey")
    env = {
        "WACLOUD_ACCESS_TOKEN": gw.creds.token,
        "WACLOUD_PHONE_NUMBER_ID": gw.creds.phone_number_id,
        "WACLOUD_GRAPH_URL": live.sandbox,
    }
    direct = run(None, "send", "text", "+15556300001", "direct hi", "--direct", "--json", **env)
    assert direct.exit_code == 0, direct.output
    assert json.loads(direct.output)["wamid"].startswith("wamid.")


@pytest.fixture
def restore_logging() -> Any:
    """``serve`` configures the root logger; give the next tests theirs back."""
    import logging

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_serve_refuses_incomplete_live_config_saying_what_to_set(tmp_path: Path) -> None:
    res = run(None, "serve", "--port", "0", WACLOUD_ACCESS_TOKEN="EAAG-secret-live-token", WACLOUD_PHONE_NUMBER_ID="1")
    assert res.exit_code == Exit.USAGE
    assert "WACLOUD_APP_SECRET" in res.output and "WACLOUD_VERIFY_TOKEN" in res.output
    assert "EAAG-secret-live-token" not in res.output
    bad = run(None, "serve", "--json", WACLOUD_DATABASE_URL="mysql://nope")
    assert bad.exit_code == Exit.USAGE and "WACLOUD_DATABASE_URL" in json.loads(bad.output)["error"]
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = run(
            None, "serve", "--port", str(busy.getsockname()[1]), WACLOUD_DATABASE_URL=f"sqlite:///{tmp_path / 'y.db'}"
        )
    assert taken.exit_code == Exit.USAGE and "already in use" in taken.output
    for port in ("8080", "0"):  # 192.0.2.0/24 is TEST-NET: never an address of this machine
        elsewhere = run(None, "serve", "--host", "192.0.2.55", "--port", port,
                        WACLOUD_DATABASE_URL=f"sqlite:///{tmp_path / 'z.db'}")
        assert elsewhere.exit_code == Exit.USAGE and "WACLOUD_HOST" in elsewhere.output
        assert "already in use" not in elsewhere.output
    missing_bot = run(
        None,
        "serve",
        "--port",
        "0",
        "--app",
        "no_such_module_xyz:app",
        WACLOUD_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert missing_bot.exit_code == Exit.USAGE and "no_such_module_xyz" in missing_bot.output



def test_serve_with_an_unusable_database_says_so_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    from wacloud.sandbox import free_port

    url = f"postgresql://gw:hunter2-secret@127.0.0.1:{free_port()}/wacloud"  # nothing listens there
    down = run(None, "serve", "--port", "0", WACLOUD_DATABASE_URL=url)
    assert down.exit_code == Exit.UNREACHABLE
    assert "WACLOUD_DATABASE_URL" in down.output and "Traceback" not in down.output
    assert "hunter2-secret" not in down.output
    # A base install has no psycopg (it is the postgres extra): the error says what to install.
    monkeypatch.setitem(sys.modules, "psycopg", None)
    missing = run(None, "serve", "--port", "0", WACLOUD_DATABASE_URL=url)
    assert missing.exit_code == Exit.UNREACHABLE and "wacloud[postgres]" in missing.output

def test_sandbox_command_passes_its_flags(tmp_path: Path) -> None:
    import subprocess
    import sys

    from wacloud.sandbox import free_port

    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wacloud",
            "sandbox",
            "--port",
            str(port),
            "--access-token",
            "tok-cli-123",
            "--phone-number-id",
            "123456789",
            "--mps",
            "20",
            "--seed",
            "7",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        head = "".join(proc.stdout.readline() for _ in range(9))
        assert f"http://127.0.0.1:{port}" in head and "tok-cli-123" in head and "123456789" in head
        assert "20 mps, seed 7" in head
        info = wait_for(lambda: _get(f"http://127.0.0.1:{port}/_sandbox/"), 10, "the sandbox to answer")
        assert info["phone_number_id"] == "123456789"
        refused = httpx.post(
            f"http://127.0.0.1:{port}/v25.0/123456789/messages", json={}, headers={"Authorization": "Bearer wrong"}
        )
        assert refused.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(url: str) -> Any:
    try:
        return httpx.get(url, timeout=2).json()
    except httpx.TransportError:
        return None
