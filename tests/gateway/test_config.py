"""Settings: environment, TOML file, precedence, and errors that say what to set (never the secret)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wacloud.gateway._settings import ConfigError, load_settings, redact_url

SECRET = "EAAG-very-secret-token-123"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WACLOUD_") and name not in ("WACLOUD_TEST_PG_DSN", "WACLOUD_SPEC_DIR"):
            monkeypatch.delenv(name)


def test_defaults_are_sandbox_mode() -> None:
    s = load_settings()
    assert s.sandbox_mode
    assert s.database_url == "sqlite:///wacloud.db"
    assert (s.host, s.port, s.mps) == ("127.0.0.1", 8080, 80)


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_ACCESS_TOKEN", SECRET)
    monkeypatch.setenv("WACLOUD_PHONE_NUMBER_ID", "1234")
    monkeypatch.setenv("WACLOUD_MPS", "1000")
    monkeypatch.setenv("WACLOUD_API_KEYS", "k1-abcdef, sha256:" + "ab" * 32)
    s = load_settings()
    assert not s.sandbox_mode
    assert s.access_token is not None and s.access_token.get_secret_value() == SECRET
    assert s.mps == 1000
    assert [k.get_secret_value() for k in s.api_keys] == ["k1-abcdef", "sha256:" + "ab" * 32]
    assert SECRET not in repr(s) and SECRET not in str(s)


def test_toml_file_and_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "wacloud.toml"
    cfg.write_text('mps = 20\nport = 9000\ndatabase_url = "sqlite:///x.db"\n')
    assert load_settings(cfg).mps == 20
    monkeypatch.setenv("WACLOUD_MPS", "80")
    s = load_settings(cfg, port=9100)
    assert s.mps == 80  # environment beats the file
    assert s.port == 9100  # CLI flags beat everything
    assert s.database_url == "sqlite:///x.db"
    monkeypatch.setenv("WACLOUD_CONFIG", str(cfg))
    assert load_settings().database_url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("env", "value", "needle"),
    [
        ("WACLOUD_MPS", "fast", "WACLOUD_MPS"),
        ("WACLOUD_MPS", "0", "WACLOUD_MPS"),
        ("WACLOUD_PORT", "70000", "WACLOUD_PORT"),
        ("WACLOUD_DATABASE_URL", "mysql://x", "sqlite:///"),
        ("WACLOUD_API_VERSION", "v19.0", "v21.0 or later"),
        ("WACLOUD_APP", "nocolon", "module:attribute"),
        ("WACLOUD_LOG_LEVEL", "loud", "WACLOUD_LOG_LEVEL"),
        ("WACLOUD_API_KEYS", "wk_plain,sha256:not-hex", "64 hex digits"),
    ],
)
def test_invalid_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, env: str, value: str, needle: str) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert needle in str(info.value)


def test_token_without_phone_number_id_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_ACCESS_TOKEN", SECRET)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "WACLOUD_PHONE_NUMBER_ID" in str(info.value)
    assert SECRET not in str(info.value)


def test_serve_in_live_mode_needs_webhook_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_ACCESS_TOKEN", SECRET)
    monkeypatch.setenv("WACLOUD_PHONE_NUMBER_ID", "1234")
    load_settings()  # enough for CLI commands
    with pytest.raises(ConfigError) as info:
        load_settings(for_serve=True)
    text = str(info.value)
    assert "WACLOUD_APP_SECRET" in text and "WACLOUD_VERIFY_TOKEN" in text
    assert len(info.value.problems) == 2
    monkeypatch.setenv("WACLOUD_APP_SECRET", "s3cr3t-app")
    monkeypatch.setenv("WACLOUD_VERIFY_TOKEN", "verify-me")
    assert not load_settings(for_serve=True).sandbox_mode


def test_toml_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("mps = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)
    typo = tmp_path / "typo.toml"
    typo.write_text(f'acess_token = "{SECRET}"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(typo)
    assert "unknown setting 'acess_token'" in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_secret_values_and_url_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WACLOUD_DATABASE_URL", "postgresql://app:pw-12345@db.internal/wacloud")
    s = load_settings()
    assert s.database_display == "postgresql://app:***@db.internal/wacloud"
    assert "pw-12345" in s.secret_values()
    assert redact_url("sqlite:///wacloud.db") == "sqlite:///wacloud.db"


def test_process_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="nothing to run"):
        load_settings(api=False, workers=False)
    with pytest.raises(ConfigError, match="sandbox mode runs in one process"):
        load_settings(api=False)
    monkeypatch.setenv("WACLOUD_ACCESS_TOKEN", SECRET)
    monkeypatch.setenv("WACLOUD_PHONE_NUMBER_ID", "1234")
    assert not load_settings(api=False).api
