"""Configuration of several numbers (TOML, environment, the single-number settings), and the stores
behind them (keys limited to numbers, unrouted webhooks) on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wacloud.cli import app as cli
from wacloud.errors import ValidationError
from wacloud.gateway._db import Database
from wacloud.gateway._keys import KeyStore
from wacloud.gateway._number_log import NumberLog
from wacloud.gateway._settings import ConfigError, load_settings

from .conftest import A, B, TwoNumbers, database_url, start_two_numbers

TWO_NUMBERS_TOML = """
access_token = "EAAG-first-app-token"
app_secret = "first-app-secret"
verify_token = "verify"

[[numbers]]
phone_number_id = "300000000000001"
waba_id = "400000000000001"
name = "Brand A"
display_phone_number = "+1 555-000-1001"
mps = 80

[[numbers]]
phone_number_id = "300000000000002"
waba_id = "400000000000002"
access_token = "EAAG-second-app-token"
app_secret = "second-app-secret"
name = "Brand B (another app)"
mps = 20
"""


def test_a_toml_list_of_numbers_with_a_token_and_secret_per_app(tmp_path: Path) -> None:
    cfg = tmp_path / "wacloud.toml"
    cfg.write_text(TWO_NUMBERS_TOML)
    s = load_settings(cfg, for_serve=True)
    assert not s.sandbox_mode
    first, second = s.number_specs()
    assert (first.phone_number_id, first.waba_id, first.access_token, first.app_secret, first.mps) == (
        "300000000000001", "400000000000001", "EAAG-first-app-token", "first-app-secret", 80)
    assert (second.access_token, second.app_secret, second.mps, second.name) == (
        "EAAG-second-app-token", "second-app-secret", 20, "Brand B (another app)")
    # Secrets never print, and the log redaction knows the per-number ones.
    assert "EAAG-second-app-token" not in repr(s) and "EAAG-second-app-token" not in repr(second)
    assert {"EAAG-second-app-token", "second-app-secret"} <= set(s.secret_values())
    # The level decides the rate: 1,000 at HIGH, capped by max_mps when set.
    assert (first.rate_for("STANDARD"), first.rate_for("HIGH"), second.rate_for(None)) == (80, 1000, 20)


def test_numbers_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_NUMBERS", json.dumps([
        {"phone_number_id": "1001", "access_token": "t1"}, {"phone_number_id": "1002", "access_token": "t2"}]))
    s = load_settings()
    assert [n.phone_number_id for n in s.number_specs()] == ["1001", "1002"] and not s.sandbox_mode


@pytest.mark.parametrize(
    ("numbers", "needle"),
    [
        ([{"phone_number_id": "1"}, {"phone_number_id": "1"}], "numbers[1].phone_number_id: 1 is already numbers[0]"),
        ([{"phone_number_id": "1", "display_phone_number": "+1 555 0001"},
          {"phone_number_id": "2", "display_phone_number": "15550001"}], "numbers[1].display_phone_number"),
        ([{"waba_id": "2"}], "numbers[0].phone_number_id"),
        ([{"phone_number_id": "abc"}], "numbers[0].phone_number_id"),
        ([{"phone_number_id": "1", "mps": 5000}], "numbers[0].mps"),
        ([{"phone_number_id": "1", "colour": "red"}], "numbers[0].colour"),
    ],
)
def test_bad_number_lists_are_clear_config_errors(numbers: list[dict[str, object]], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(access_token="EAAG-secret-token", numbers=numbers)
    assert needle in str(err.value) and "EAAG-secret-token" not in str(err.value)


def test_a_number_without_any_token_and_a_stray_single_id_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"numbers\[1\].access_token"):
        load_settings(numbers=[{"phone_number_id": "1", "access_token": "t"}, {"phone_number_id": "2"}])
    with pytest.raises(ConfigError, match="is not among the"):
        load_settings(access_token="t", phone_number_id="9", numbers=[{"phone_number_id": "1"}])
    with pytest.raises(ConfigError, match="numbers without their own app_secret: 2"):
        load_settings(numbers=[{"phone_number_id": "1", "access_token": "t", "app_secret": "s"},
                               {"phone_number_id": "2", "access_token": "t"}], verify_token="v", for_serve=True)


def test_the_single_number_environment_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_ACCESS_TOKEN", "EAAG-one")
    monkeypatch.setenv("WACLOUD_PHONE_NUMBER_ID", "1234")
    monkeypatch.setenv("WACLOUD_WABA_ID", "5678")
    monkeypatch.setenv("WACLOUD_MPS", "20")
    [only] = load_settings().number_specs()
    assert (only.phone_number_id, only.waba_id, only.access_token, only.mps) == ("1234", "5678", "EAAG-one", 20)


@pytest.fixture
def single(tmp_path: Path) -> Iterator[TwoNumbers]:
    """The single-number settings (no [[numbers]]) against the sandbox: phone_number_id alone."""
    yield from start_two_numbers(tmp_path, [], phone_number_id=A["phone_number_id"], waba_id=A["waba_id"])


def test_a_single_number_gateway_sends_without_from(single: TwoNumbers) -> None:
    [number] = single.http.get("/v1/numbers").json()["numbers"]
    assert number["phone_number_id"] == A["phone_number_id"] and number["rate"] == 80.0
    resp = single.http.post("/v1/messages", json={"to": "+15551110001", "type": "template",
                                                  "template": {"name": "hello_world", "language": {"code": "en_US"}}})
    assert resp.status_code == 202 and resp.json()["phone_number_id"] == A["phone_number_id"]
    # The sandbox's other number is not this gateway's: its webhooks are kept apart.
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": B["display_phone_number"],
                                                           "phone_number_id": B["phone_number_id"]},
             "statuses": [{"id": "wamid.other", "status": "sent", "timestamp": "1767225600",
                           "recipient_id": "15551110002"}]}
    assert single.post_webhook(value).status_code == 200
    from .conftest import wait_for

    wait_for(lambda: single.http.get("/v1/webhooks/unrouted").json()["updates"], 20, "the other number's status")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    for url in database_url(request.param, tmp_path):
        database = Database(url)
        yield database
        database.close()


def test_keys_limited_to_numbers_and_the_column_added_to_an_old_table(db: Database) -> None:
    # A key table from before keys could be limited (no numbers column), with one key in it.
    db.execute("""CREATE TABLE wacloud_api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION)""")
    db.execute("INSERT INTO wacloud_api_keys (id, name, key_hash, created_at) VALUES ('old', 'old', 'h', 1.0)")
    keys = KeyStore(db)
    KeyStore(db)  # a second start finds the column there
    assert keys.get("old") is not None and keys.get("old").numbers is None  # type: ignore[union-attr]
    info, key = keys.create("brand-a", ["1001", "1001", " 1002"])
    assert info.numbers == ("1001", "1002")
    found = keys.verify(key)
    assert found is not None and found.may_use("1002") and not found.may_use("2001")
    assert keys.list()[-1].as_dict()["numbers"] == ["1001", "1002"]
    with pytest.raises(ValidationError, match="numbers"):
        keys.create("bad", ["not-an-id"])


def test_unrouted_updates_are_kept_once_and_counted(db: Database) -> None:
    log = NumberLog(db)
    args = {"phone_number_id": "999", "display_phone_number": "1555", "waba_id": "1", "field": "messages",
            "kind": "MessageUpdate"}
    assert log.keep_unrouted(**args, key="999:wamid.1", body={"id": "wamid.1", "text": "nul \u0000 inside"})
    assert not log.keep_unrouted(**args, key="999:wamid.1", body={"id": "wamid.1"})  # a redelivery
    assert log.keep_unrouted(**{**args, "phone_number_id": None}, key=None, body={"event": "FLAGGED"})
    assert log.unrouted_count() == {"999": 1, "": 1}
    [kept] = log.unrouted(phone_number_id="999")
    assert kept.body["id"] == "wamid.1" and kept.kind == "MessageUpdate"
    log.touch("1001", "15550001", 10.0, wamid="wamid.x")
    log.touch("1001", "15550001", 5.0)
    assert log.wa_ids("1001") == {"15550001"} and log.number_of("wamid.x") == "1001" and log.wa_ids("1002") == set()


def test_keys_create_numbers_on_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    KeyStore(Database(url)).db.close()  # the gateway made its database
    out = CliRunner().invoke(cli, ["keys", "create", "--name", "a", "--numbers", "1001,1002", "--database-url", url,
                                   "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["numbers"] == ["1001", "1002"]
    bad = CliRunner().invoke(cli, ["keys", "create", "--numbers", "x", "--database-url", url])
    assert bad.exit_code == 2 and "--numbers" in bad.output
