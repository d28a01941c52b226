"""Log redaction, JSON log lines, and API keys stored only as hashes."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from wacloud.gateway._db import Database
from wacloud.gateway._keys import KeyStore, hash_key
from wacloud.gateway._logs import setup_logging


@pytest.fixture
def capture() -> io.StringIO:
    stream = io.StringIO()
    yield stream
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_wacloud", False)]:
        root.removeHandler(h)


def test_known_secrets_and_secret_shapes_are_redacted(capture: io.StringIO) -> None:
    setup_logging(secrets=["EAAG-known-token-value"], stream=capture)
    log = logging.getLogger("wacloud.test")
    log.info("token %s in a message", "EAAG-known-token-value")
    log.info("header Authorization: Bearer abc.def-ghi and ?access_token=zzz999&x=1")
    log.info("key wk_abcdefghijklmnopqrstuvwxyz sig sha256=" + "a" * 64)
    log.warning("extra field", extra={"detail": "EAAG-known-token-value"})
    try:
        raise ValueError("boom EAAG-known-token-value")
    except ValueError:
        log.exception("failed")
    out = capture.getvalue()
    for leaked in ("EAAG-known-token-value", "abc.def-ghi", "zzz999", "wk_abcdefghij", "a" * 64):
        assert leaked not in out
    assert out.count("***") >= 6
    assert "token *** in a message" in out


def test_json_lines(capture: io.StringIO) -> None:
    setup_logging(json_lines=True, secrets=["hunter2-secret"], stream=capture)
    logging.getLogger("wacloud.test").info("sent %s", "hunter2-secret", extra={"job_id": "j1", "code": 130429})
    line = json.loads(capture.getvalue().strip().splitlines()[-1])
    assert line["msg"] == "sent ***"
    assert line["job_id"] == "j1" and line["code"] == 130429
    assert line["level"] == "INFO" and line["logger"] == "wacloud.test"



def test_plain_lines_do_not_repeat_fields_the_message_spells_out(capture: io.StringIO) -> None:
    setup_logging(stream=capture)
    logging.getLogger("wacloud.test").warning(
        "job %s: fail code=%s", "7", 131047, extra={"job_id": "7", "code": 131047, "action": "fail"}
    )
    line = capture.getvalue().strip().splitlines()[-1]
    assert line.endswith("job 7: fail code=131047 job_id=7 action=fail")

def test_keys_are_stored_hashed_and_revocable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    keys = KeyStore(Database(url))
    info, key = keys.create("ci")
    assert key.startswith("wk_") and len(key) > 30
    assert keys.verify(key) == info
    assert keys.verify(key + "x") is None and keys.verify("") is None
    raw = (tmp_path / "gw.db").read_bytes()
    assert key.encode() not in raw
    rows = sqlite3.connect(tmp_path / "gw.db").execute("SELECT key_hash FROM wacloud_api_keys").fetchall()
    assert rows == [(hash_key(key),)]
    # A second process (another KeyStore on the same database) sees the key and its revocation.
    other = KeyStore(Database(url))
    assert other.verify(key) is not None
    assert keys.revoke(info.id)
    assert other.verify(key) is None
    assert not keys.revoke(info.id)
    assert [k.active for k in keys.list()] == [False]
    assert not keys.has_active()


def test_configured_keys_plain_or_hashed(tmp_path: Path) -> None:
    keys = KeyStore(Database(f"sqlite:///{tmp_path / 'gw.db'}"), ["plain-key-1", "sha256:" + hash_key("k2")])
    assert keys.verify("plain-key-1") is not None
    assert keys.verify("k2") is not None
    assert keys.verify("k3") is None
    assert keys.has_active()


def test_sandbox_credentials_survive_a_restart(tmp_path: Path) -> None:
    from wacloud.gateway._runtime import open_gateway
    from wacloud.gateway._settings import load_settings

    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'gw.db'}")
    first = open_gateway(settings, base_url="http://127.0.0.1:1").creds
    again = open_gateway(settings, base_url="http://127.0.0.1:1").creds
    assert (first.token, first.app_secret, first.verify_token) == (again.token, again.app_secret, again.verify_token)
    other = open_gateway(load_settings(database_url=f"sqlite:///{tmp_path / 'other.db'}"), base_url="x").creds
    assert other.token != first.token
    assert first.token not in repr(first) and "***" in repr(first)
