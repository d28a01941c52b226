"""Fidelity gaps closed for the 2026 API: voice notes, media upload parameters, the resumable upload's
``OAuth`` scheme, and several numbers in several WABAs with their own rates and windows."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from sandbox.helpers import FILES, WA_ID, error_code, open_window, send, upload
from wacloud.sandbox.testing import SandboxHandle, WebhookSink, run_sandbox


def test_voice_notes_are_accepted_and_only_they_are_played(sandbox: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox.connect(webhook_sink)
    open_window(sandbox)
    media = upload(sandbox, "audio")
    voice = send(sandbox, {"to": WA_ID, "type": "audio", "audio": {"id": media, "voice": True}})
    assert voice.status_code == 200, voice.text
    plain = send(sandbox, {"to": WA_ID, "type": "audio", "audio": {"id": media}})
    assert plain.status_code == 200, plain.text
    assert error_code(send(sandbox, {"to": WA_ID, "type": "audio", "audio": {"id": media, "voice": "yes"}})) == 100
    assert error_code(send(sandbox, {"to": WA_ID, "type": "image", "image": {"id": media, "voice": True}})) == 100
    voice_id, plain_id = voice.json()["messages"][0]["id"], plain.json()["messages"][0]["id"]
    webhook_sink.wait_statuses(voice_id, "played")
    webhook_sink.wait_statuses(plain_id, "read")
    sandbox.wait_idle()
    assert [s["status"] for s in webhook_sink.statuses(plain_id)] == ["sent", "delivered", "read"]


def test_media_upload_like_metas_example(sandbox: SandboxHandle) -> None:
    data, mime = FILES["image"]
    # messaging_product in the query string (Graph reads POST parameters there too), no "type" field:
    # the file part's own content type says what it is.
    r = sandbox.http.post(
        f"/{sandbox.phone_number_id}/media?messaging_product=whatsapp", files={"file": ("sale.jpg", data, mime)}
    )
    assert r.status_code == 200, r.text
    media_id = r.json()["id"]
    assert sandbox.http.get(f"/{media_id}").json()["mime_type"] == "image/jpeg"
    # An unlabelled part is typed by its name.
    r = sandbox.http.post(
        f"/{sandbox.phone_number_id}/media",
        data={"messaging_product": "whatsapp"},
        files={"file": ("doc.pdf", FILES["document"][0], "application/octet-stream")},
    )
    assert r.status_code == 200, r.text
    assert sandbox.http.get(f"/{r.json()['id']}").json()["mime_type"] == "application/pdf"
    # Nothing says what it is: the error names the parameter.
    r = sandbox.http.post(
        f"/{sandbox.phone_number_id}/media",
        data={"messaging_product": "whatsapp"},
        files={"file": ("blob", b"1234", "application/octet-stream")},
    )
    assert error_code(r) == 100 and "type" in r.json()["error"]["message"] + json.dumps(r.json())
    r = sandbox.http.post(f"/{sandbox.phone_number_id}/media", files={"file": ("sale.jpg", data, mime)})
    assert error_code(r) == 100 and "messaging_product" in json.dumps(r.json())


def test_resumable_upload_accepts_the_oauth_scheme(sandbox: SandboxHandle) -> None:
    data = FILES["image"][0]
    started = sandbox.http.post(
        "/1000000000000001/uploads", params={"file_name": "a.jpg", "file_length": len(data), "file_type": "image/jpeg"}
    )
    assert started.status_code == 200, started.text
    session = started.json()["id"]
    url = f"{sandbox.graph_url}/{session}"
    done = httpx.post(url, headers={"Authorization": f"OAuth {sandbox.token}", "file_offset": "0"}, content=data)
    assert done.status_code == 200, done.text
    assert done.json()["h"].startswith("4::")
    wrong = httpx.post(url, headers={"Authorization": "OAuth not-the-token", "file_offset": "0"}, content=data)
    assert error_code(wrong) == 190


NUMBERS = [
    {"phone_number_id": "106540352242922", "display_phone_number": "15550783881", "waba_id": "102290129340398",
     "mps": 1},
    {"phone_number_id": "206540352242922", "display_phone_number": "15550783882", "waba_id": "202290129340398",
     "mps": 3},
]  # fmt: skip


@pytest.fixture(scope="module")
def two_wabas() -> Iterator[SandboxHandle]:
    with run_sandbox(phone_numbers=NUMBERS) as handle:
        yield handle


def _text(sandbox: SandboxHandle, phone: str, to: str = WA_ID) -> httpx.Response:
    return sandbox.http.post(
        f"/{phone}/messages",
        json={"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}},
    )


def test_numbers_in_two_wabas_have_own_rates_webhooks_and_windows(
    two_wabas: SandboxHandle, webhook_sink: WebhookSink
) -> None:
    sandbox = two_wabas
    sandbox.reset()
    sandbox.connect(webhook_sink)
    first, second = (n["phone_number_id"] for n in NUMBERS)
    customers = [f"1650555{i:04d}" for i in range(5)]
    for wa_id in customers:
        sandbox.inject(wa_id, text="hi", to=first)
        sandbox.inject(wa_id, text="hi", to=second)
    sandbox.freeze()
    # Each number its own bucket: 1 per second on the first, 3 on the second.
    codes_first = [_text(sandbox, first, c).status_code for c in customers]
    codes_second = [_text(sandbox, second, c).status_code for c in customers]
    assert codes_first.count(200) == 1 and codes_second.count(200) == 3
    sandbox.advance(1.0)
    sandbox.wait_idle()
    # Each webhook carries its own number and its own WABA.
    for delivery in webhook_sink.deliveries:
        payload = json.loads(delivery.body)
        for entry in payload["entry"]:
            phone = entry["changes"][0]["value"]["metadata"]["phone_number_id"]
            assert entry["id"] == {n["phone_number_id"]: n["waba_id"] for n in NUMBERS}[phone]
    phones = {
        json.loads(d.body)["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]
        for d in webhook_sink.deliveries
    }
    assert phones == {first, second}
    # Each WABA lists its own number.
    listed = sandbox.http.get(f"/{NUMBERS[1]['waba_id']}/phone_numbers").json()["data"]
    assert [n["id"] for n in listed] == [second]


def test_a_window_belongs_to_one_number(two_wabas: SandboxHandle, webhook_sink: WebhookSink) -> None:
    sandbox = two_wabas
    sandbox.reset()
    sandbox.connect(webhook_sink)
    first, second = (n["phone_number_id"] for n in NUMBERS)
    sandbox.inject(WA_ID, text="hi", to=first)
    assert sandbox.control.get(f"/customers/{WA_ID}").json()["windows"] == {first: True}
    ok = _text(sandbox, first)
    other = _text(sandbox, second)
    assert ok.status_code == 200 and other.status_code == 200  # window failures arrive as failed statuses
    webhook_sink.wait_statuses(ok.json()["messages"][0]["id"], "delivered")
    [failed] = webhook_sink.wait_statuses(other.json()["messages"][0]["id"], "failed")
    assert failed["errors"][0]["code"] == 131047


def test_phone_numbers_setting_is_checked() -> None:
    from wacloud.sandbox._config import build_config

    cfg = build_config(phone_numbers=NUMBERS)
    assert cfg.phone_number_id == NUMBERS[0]["phone_number_id"] and cfg.mps == 1
    assert cfg.wabas == [NUMBERS[0]["waba_id"], NUMBERS[1]["waba_id"]] and cfg.number_rates() == {
        NUMBERS[1]["phone_number_id"]: 3
    }
    for bad in ([], [{"phone_number_id": "x", "display_phone_number": "1"}], [NUMBERS[0], NUMBERS[0]],
                [{**NUMBERS[0], "mps": 0}], [{**NUMBERS[0], "colour": "red"}]):  # fmt: skip
        with pytest.raises(ValueError, match="phone_numbers"):
            build_config(phone_numbers=bad)
