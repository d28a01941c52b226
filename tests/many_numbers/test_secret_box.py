"""An added number's access token and app secret, and an event subscription's signing secret, are kept
encrypted in the gateway database when ``WACLOUD_SECRET_KEY`` is set: a copy of the database does not give
them away, a restart reads them, keys rotate, values kept in clear before are encrypted at the next start,
and a missing or wrong key costs that number or subscription only (logged or shown, naming the setting),
never the gateway's start. On SQLite and the real PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from wacloud.cli import app as cli
from wacloud.events import SubscriptionStore
from wacloud.gateway import ConfigError, load_settings, new_secret_key
from wacloud.gateway._db import Database
from wacloud.gateway._number_config import NumberConfig
from wacloud.gateway._number_store import NumberStore
from wacloud.gateway._secret_box import SecretBox, SecretUnavailable
from wacloud.gateway._secret_keys import parse_keys

from .conftest import B, database_url
from .test_numbers_admin import NEW_B, TOKEN_B, _gateway, _numbers, _sandbox_and_settings, _sent_from

APP_SECRET_B = "b-app-secret-\u00e9-kept-encrypted"


def _raw(db: Database) -> str:
    """Every stored row's config text, as a copy of the database would show it."""
    return "\n".join(str(r[0]) for r in db.execute("SELECT config FROM wacloud_gw_numbers"))


def _config() -> NumberConfig:
    return NumberConfig.model_validate({**NEW_B, "app_secret": APP_SECRET_B})


def test_a_box_seals_opens_and_rotates() -> None:
    old, new = new_secret_key(), new_secret_key()
    sealed = SecretBox([old]).seal("tok")
    assert sealed.startswith("enc:v1:") and "tok" not in sealed
    assert SecretBox([old]).seal("tok") != sealed  # a fresh IV each time
    assert SecretBox([old]).open(sealed) == "tok" and SecretBox([new, old]).open(sealed) == "tok"
    assert SecretBox([new, old]).stale(sealed) and not SecretBox([old]).stale(sealed)
    assert SecretBox([old]).stale("tok") and not SecretBox().stale("tok")
    assert SecretBox().open("tok") == "tok" and SecretBox().seal("tok") == "tok"  # no key: in clear
    with pytest.raises(SecretUnavailable, match="WACLOUD_SECRET_KEY is not set"):
        SecretBox().open(sealed)
    with pytest.raises(SecretUnavailable, match="none of the keys"):
        SecretBox([new]).open(sealed)
    with pytest.raises(SecretUnavailable):
        SecretBox([old]).open("enc:v1:not-a-token")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_key_keeps_the_secrets_encrypted_and_rotates(kind: str, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    old, new = new_secret_key(), new_secret_key()
    for url in database_url(kind, tmp_path):
        db = Database(url)
        try:
            store = NumberStore(db, SecretBox([old]))
            assert store.add(_config())
            assert TOKEN_B not in _raw(db) and APP_SECRET_B not in _raw(db)
            assert json.loads(_raw(db))["access_token"].startswith("enc:v1:")
            [kept] = NumberStore(db, SecretBox([old])).list()  # a restart with the same key
            assert kept.access_token is not None and kept.access_token.get_secret_value() == TOKEN_B
            assert kept.app_secret is not None and kept.app_secret.get_secret_value() == APP_SECRET_B
            assert NumberStore(db, SecretBox([old])).protect() == 0  # nothing to do

            # Without the key, or with another one, the number is not served, and the log says why.
            caplog.clear()
            with caplog.at_level(logging.ERROR, logger="wacloud"):
                assert NumberStore(db).list() == []
                assert NumberStore(db, SecretBox([new])).list() == []
            assert "WACLOUD_SECRET_KEY is not set" in caplog.text and "none of the keys" in caplog.text
            assert B["phone_number_id"] in caplog.text and TOKEN_B not in caplog.text

            # Rotation: the new key first, the old one after it; the start encrypts again with the new one.
            rotating = NumberStore(db, SecretBox([new, old]))
            assert rotating.protect() == 1
            [again] = NumberStore(db, SecretBox([new])).list()
            assert again.access_token is not None and again.access_token.get_secret_value() == TOKEN_B
            assert NumberStore(db, SecretBox([old])).list() == []  # the old key alone no longer opens it
            # A change of a number keeps its secrets encrypted.
            assert rotating.replace(again.model_copy(update={"mps": 12}))
            assert TOKEN_B not in _raw(db)
            got = NumberStore(db, SecretBox([new])).get(B["phone_number_id"])
            assert got is not None and got.mps == 12 and got.app_secret is not None
            assert got.app_secret.get_secret_value() == APP_SECRET_B
        finally:
            db.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_secrets_kept_in_clear_are_encrypted_once_a_key_is_set(kind: str, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    key = new_secret_key()
    for url in database_url(kind, tmp_path):
        db = Database(url)
        try:
            plain = NumberStore(db)
            assert plain.add(_config())
            assert TOKEN_B in _raw(db)  # no key: in clear, as before
            with caplog.at_level(logging.WARNING, logger="wacloud"):
                assert plain.protect() == 0
            assert "keep their access token in clear" in caplog.text and "WACLOUD_SECRET_KEY" in caplog.text
            assert NumberStore(db, SecretBox([key])).protect() == 1
            assert TOKEN_B not in _raw(db) and APP_SECRET_B not in _raw(db)
            [kept] = NumberStore(db, SecretBox([key])).list()
            assert kept.access_token is not None and kept.access_token.get_secret_value() == TOKEN_B
        finally:
            db.close()


def test_the_setting_takes_keys_and_refuses_a_bad_one_without_echoing_it() -> None:
    k1, k2 = new_secret_key(), new_secret_key()
    settings = load_settings(secret_key=f"{k1}, {k2}")
    assert settings.secret_keys() == [k1, k2] == parse_keys(f"{k1} {k2}")
    assert k1 in settings.secret_values() and k2 in settings.secret_values()
    assert load_settings().secret_keys() == []
    for bad in ("not-a-key-at-all", k1[:-4], f"{k1},short"):
        with pytest.raises(ConfigError, match="secret_key") as refused:
            load_settings(secret_key=bad)
        assert bad not in str(refused.value)


def test_keys_secret_prints_a_key_the_setting_takes() -> None:
    result = CliRunner().invoke(cli, ["keys", "secret"])
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    assert parse_keys(key) == [key]
    assert SecretBox([key]).open(SecretBox([key]).seal("x")) == "x"
    as_json = CliRunner().invoke(cli, ["keys", "secret", "--json"])
    assert json.loads(as_json.output)["setting"] == "WACLOUD_SECRET_KEY"


def test_a_gateway_with_a_key_serves_an_added_number_after_a_restart(tmp_path: Path) -> None:
    key = new_secret_key()
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    with _sandbox_and_settings(url) as (sbx, settings, port):
        settings = settings.model_copy(update={"secret_key": SecretStr(key)})
        with _gateway(settings, port, sbx) as gw:
            resp = gw.http.post("/v1/numbers", json=NEW_B)
            assert resp.status_code == 201, resp.text
        db = Database(url)
        try:
            assert TOKEN_B not in _raw(db) and "enc:v1:" in _raw(db)
        finally:
            db.close()
        with _gateway(settings, port, sbx) as gw:  # a restart reads it with the key, and sends with its token
            assert _numbers(gw)[B["phone_number_id"]]["source"] == "api"
            _sent_from(gw, B["phone_number_id"], "15553330011")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_event_subscriptions_keep_their_signing_secret_encrypted(kind: str, tmp_path: Path) -> None:
    key, other = new_secret_key(), new_secret_key()
    for url in database_url(kind, tmp_path):
        db = Database(url)
        try:
            plain = SubscriptionStore(db.run, SecretBox())
            before = plain.create("https://example.com/a", types=None, numbers=None, cursor=0)
            assert _raw_secrets(db) == [before.secret]  # no key: in clear, as before
            sealed = SubscriptionStore(db.run, SecretBox([key]))
            assert sealed.protect() == 1 and sealed.protect() == 0
            made = sealed.create("https://example.com/b", types=None, numbers=None, cursor=0)
            assert made.secret.startswith("whsec_")
            stored = _raw_secrets(db)
            assert before.secret not in stored and made.secret not in stored
            assert all(s.startswith("enc:v1:") for s in stored)
            # What the dispatcher leases to sign with is the secret in clear.
            leased = sealed.lease(made.id, "me", time.time(), 30)
            assert leased is not None and leased.secret == made.secret and leased.state == "active"
            got = sealed.get(before.id)
            assert got is not None and got.secret == before.secret
            # Without the key (or with another), nothing is signed with a wrong secret: shown paused, saying why.
            for box in (SecretBox(), SecretBox([other])):
                lost = SubscriptionStore(db.run, box).get(made.id)
                assert lost is not None and lost.state == "paused" and lost.secret == ""
                assert lost.paused_reason is not None and "WACLOUD_SECRET_KEY" in lost.paused_reason
        finally:
            db.close()


def _raw_secrets(db: Database) -> list[str]:
    return sorted(str(r[0]) for r in db.execute("SELECT secret FROM wacloud_gw_subscriptions"))
