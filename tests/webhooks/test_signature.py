"""X-Hub-Signature-256: checked on the exact raw bytes, in constant time."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from wacloud.webhooks.receiver import WebhookReceiver
from wacloud.webhooks.signature import sign, verify

from . import payloads as p


def _receiver() -> tuple[WebhookReceiver, list[object]]:
    seen: list[object] = []
    return WebhookReceiver(app_secret=p.SECRET, verify_token=p.VERIFY_TOKEN, on_update=seen.append), seen


def test_sign_is_hmac_sha256_hex_of_the_raw_body() -> None:
    raw = b'{"a":1}'
    assert sign(raw, "k") == "sha256=" + hmac.new(b"k", raw, hashlib.sha256).hexdigest()
    assert verify(raw, sign(raw, "k"), "k")


@pytest.mark.parametrize("secret", ["", "k", "s" * 63, "s" * 64, "s" * 65, "s" * 200, "clé-ünïcode"])
def test_sign_matches_the_standard_hmac_for_any_secret_length(secret: str) -> None:
    # The padded key's hashes are made once per secret (short keys padded, long ones hashed first).
    for raw in (b"", b'{"a":1}', bytes(range(256)) * 20):
        expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        assert sign(raw, secret) == expected
        assert sign(raw, secret) == expected  # the cached hashes are copied, never fed the body
        assert verify(raw, expected, secret) and not verify(raw + b" ", expected, secret)
        assert not verify(raw, expected, secret + "x")


def test_right_signature_is_processed() -> None:
    rec, seen = _receiver()
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    assert rec.handle_post(raw, p.signed_headers(raw)) == (200, b'{"ok":true}')
    assert len(seen) == 1


@pytest.mark.parametrize(("header", "status"), [
    (None, 401), ("", 401), ("sha256=" + "0" * 64, 403), ("sha1=abc", 403), ("garbage", 403),
    ("sha256=", 403),
])
def test_missing_or_wrong_signature_is_refused_and_not_processed(header: str | None, status: int) -> None:
    rec, seen = _receiver()
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    headers = {"content-type": "application/json"}
    if header is not None:
        headers["x-hub-signature-256"] = header
    code, body = rec.handle_post(raw, headers)
    assert code == status and b"X-Hub-Signature-256" in body
    assert seen == []


def test_signature_with_another_secret_is_refused() -> None:
    rec, seen = _receiver()
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    assert rec.handle_post(raw, p.signed_headers(raw, "other-secret"))[0] == 403
    assert seen == []


def test_body_altered_by_one_byte_is_refused() -> None:
    rec, seen = _receiver()
    raw = p.body(p.inbound(p.msg("text", {"body": "pay 10"})))
    headers = p.signed_headers(raw)
    altered = raw.replace(b"pay 10", b"pay 90")
    assert len(altered) == len(raw) and altered != raw
    assert rec.handle_post(altered, headers)[0] == 403
    # Same JSON, one extra space: still not the bytes that were signed.
    assert rec.handle_post(raw[:-1] + b" }", headers)[0] == 403
    assert seen == []


def test_unicode_escaped_body_is_checked_on_the_raw_bytes_not_a_reserialisation() -> None:
    rec, seen = _receiver()
    payload = p.inbound(p.msg("text", {"body": "olá 👍 — ünïcode"}))
    raw = json.dumps(payload, ensure_ascii=True).encode()  # Meta escapes non-ASCII as \\uXXXX
    assert b"\\ud83d\\udc4d" in raw
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert sign(raw, p.SECRET) != sign(reserialised, p.SECRET)
    assert rec.handle_post(raw, p.signed_headers(raw))[0] == 200
    assert seen[0].text == "olá 👍 — ünïcode"  # type: ignore[attr-defined]
    # UTF-8 encoded (unescaped) bodies work too when that is what was signed.
    raw_utf8 = json.dumps(p.inbound(p.msg("text", {"body": "日本語"})), ensure_ascii=False).encode()
    assert rec.handle_post(raw_utf8, p.signed_headers(raw_utf8))[0] == 200
    assert seen[1].text == "日本語"  # type: ignore[attr-defined]


def test_header_name_is_case_insensitive() -> None:
    rec, seen = _receiver()
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Hub-Signature-256": sign(raw, p.SECRET)}
    assert rec.handle_post(raw, headers)[0] == 200 and len(seen) == 1


def test_verify_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert not verify(b"x", "sha256=" + "1" * 64, "k")
    assert calls and calls[0][1] == b"sha256=" + b"1" * 64


def test_non_ascii_signature_header_is_403_not_a_crash() -> None:
    rec, seen = _receiver()
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    headers = {"content-type": "application/json", "x-hub-signature-256": "sha256=ünïcode"}
    assert rec.handle_post(raw, headers)[0] == 403 and seen == []


def test_no_secret_needs_an_explicit_opt_out_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValueError, match="allow_unsigned"):
        WebhookReceiver(verify_token="t")
    rec = WebhookReceiver(allow_unsigned=True)
    assert not rec.signed
    assert any("signature checking is OFF" in r.getMessage() for r in caplog.records)
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    assert rec.handle_post(raw, {"content-type": "application/json"})[0] == 200


def test_a_secret_always_wins_over_allow_unsigned() -> None:
    rec = WebhookReceiver(app_secret=p.SECRET, allow_unsigned=True)
    raw = p.body(p.inbound(p.msg("text", {"body": "hi"})))
    assert rec.handle_post(raw, {"content-type": "application/json"})[0] == 401


def test_secrets_stay_out_of_repr() -> None:
    rec = WebhookReceiver(app_secret=p.SECRET, verify_token=p.VERIFY_TOKEN)
    assert p.SECRET not in repr(rec) and p.VERIFY_TOKEN not in repr(rec)
