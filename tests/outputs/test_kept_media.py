"""Incoming media kept: a real gateway (sandbox mode) keeps what customers send, in a local directory or
in S3-compatible storage (moto's server, over real HTTP), and serves it with the API key."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.conftest import APP_SECRET, LiveGateway, start_gateway, wait_for
from wacloud.gateway._media_keeper import KeptOutcome
from wacloud.sandbox import ServerThread, free_port
from wacloud.webhooks.signature import sign

CUSTOMER = "15557770123"
BUCKET = "kept-media"


@pytest.fixture
def s3_server() -> Iterator[str]:
    """moto's S3-compatible server on a loopback port, with the bucket made; yields its URL."""
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="test-key", aws_secret_access_key="test-secret",
                          region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.stop()


def _gateway(tmp_path: Path, outcomes: list[KeptOutcome], **settings: Any) -> tuple[ServerThread, LiveGateway]:
    def hook(app: Any) -> None:
        keeper = app.state.gateway.media_keeper
        assert keeper is not None, "media keeping is configured, so the gateway has a keeper"
        keeper.on_kept = outcomes.append

    return start_gateway(tmp_path / "wacloud.db", prepare=hook, **settings)


def _status(live: LiveGateway, ref: str, *states: str) -> dict[str, Any] | None:
    r = live.http.get(f"/v1/media/kept/{ref}/status")
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data if data["state"] in states else None


def _kept(live: LiveGateway, ref: str, *states: str) -> dict[str, Any]:
    result: dict[str, Any] = wait_for(lambda: _status(live, ref, *states), 60, f"media of {ref} to be {states}")
    return result


@pytest.mark.parametrize("where", ["local", "s3"])
def test_media_from_a_webhook_is_kept_and_served(tmp_path: Path, where: str, request: pytest.FixtureRequest) -> None:
    outcomes: list[KeptOutcome] = []
    if where == "local":
        settings: dict[str, Any] = {"media_dir": str(tmp_path / "media")}
    else:
        settings = {"media_s3_url": request.getfixturevalue("s3_server"), "media_s3_bucket": BUCKET,
                    "media_s3_access_key": "test-key", "media_s3_secret_key": "test-secret",
                    "media_s3_prefix": "wa"}
    server, live = _gateway(tmp_path, outcomes, **settings)
    try:
        photo = secrets.token_bytes(50_000)
        pdf = b"%PDF-1.4 " + secrets.token_bytes(3000)
        image = live.inject(CUSTOMER, image={"data_base64": base64.b64encode(photo).decode(), "caption": "look"})
        doc = live.inject(CUSTOMER, document={"data_base64": base64.b64encode(pdf).decode(),
                                              "filename": "invoice.pdf"})
        for sent, data in ((image, photo), (doc, pdf)):
            status = _kept(live, sent["id"], "stored", "failed")
            assert status["state"] == "stored", status
            assert status["sha256"] == hashlib.sha256(data).hexdigest() and status["size"] == len(data)
            served = live.http.get(f"/v1/media/kept/{sent['id']}")
            assert served.status_code == 200
            assert served.content == data
            assert served.headers["x-wacloud-sha256"] == hashlib.sha256(served.content).hexdigest()
            by_media_id = live.http.get(f"/v1/media/kept/{status['media_id']}")
            assert by_media_id.content == data
        assert served.headers["content-type"] == "application/pdf"
        assert 'filename="invoice.pdf"' in served.headers["content-disposition"]
        # The webhook announced the sha256 (base64, as Meta sends it): the kept file matches it.
        webhook_sha = image["payload"]["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["sha256"]
        assert base64.b64decode(webhook_sha) == hashlib.sha256(photo).digest()
        # Where it is kept: a file in the directory, or an object in the bucket (read back directly).
        media_id = _status(live, image["id"], "stored")["media_id"]  # type: ignore[index]
        phone = live.gw.creds.phone_number_id
        if where == "local":
            assert (tmp_path / "media" / phone / f"{media_id}.jpg").read_bytes() == photo
        else:
            import boto3

            s3 = boto3.client("s3", endpoint_url=settings["media_s3_url"], aws_access_key_id="test-key",
                              aws_secret_access_key="test-secret", region_name="us-east-1")
            body = s3.get_object(Bucket=BUCKET, Key=f"wa/{phone}/{media_id}.jpg")["Body"].read()
            assert hashlib.sha256(body).hexdigest() == hashlib.sha256(photo).hexdigest()
        wait_for(lambda: len(outcomes) >= 2, 10, "the on_kept hook")
        assert {o.event_type for o in outcomes} == {"media.stored"}
        stored = {o.task.wamid: o.data() for o in outcomes}
        assert stored[image["id"]]["sha256"] == hashlib.sha256(photo).hexdigest()
        assert stored[image["id"]]["from"] == CUSTOMER and stored[image["id"]]["kind"] == "image"
        # The events the queue wrote with each outcome: one per kept file, the same payload, the customer's ids.
        events = live.http.get("/v1/events", params={"types": "media.stored,media.failed"}).json()["events"]
        assert {e["data"]["wamid"]: e["data"] for e in events} == stored
        assert all(e["type"] == "media.stored" and e["contact"]["wa_id"] == CUSTOMER for e in events)
        # The API key is required, and an unknown reference is a 404 naming it.
        assert httpx.get(f"{live.url}/v1/media/kept/{image['id']}").status_code == 401
        missing = live.http.get("/v1/media/kept/wamid.nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["field"] == "ref"
        assert live.http.get("/v1/media/kept/bad%2Fref").status_code in (404, 422)
    finally:
        live.http.close()
        server.stop()


def _post_webhook(live: LiveGateway, messages: list[dict[str, Any]]) -> httpx.Response:
    """Post a signed ``messages`` webhook, as Meta would, to the gateway."""
    payload = {"object": "whatsapp_business_account", "entry": [{"id": live.gw.creds.waba_id, "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550000001", "phone_number_id": live.gw.creds.phone_number_id},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": CUSTOMER}],
            "messages": messages,
        }}]}]}
    body = json.dumps(payload).encode()
    return httpx.post(f"{live.url}/webhook", content=body, timeout=10,
                      headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, APP_SECRET)})


def test_a_failed_download_is_retried_then_reported_and_the_text_beside_it_is_processed(tmp_path: Path) -> None:
    outcomes: list[KeptOutcome] = []
    server, live = _gateway(tmp_path, outcomes, media_dir=str(tmp_path / "media"), media_keep_attempts=3,
                            media_retry_s=0.05)
    try:
        # Media the sandbox had, then deleted: the webhook names it, the download cannot get it.
        data = b"\xff\xd8\xff\xe0" + secrets.token_bytes(2000)  # a JPEG's first bytes
        up = live.http.post("/v1/media", files={"file": ("gone.jpg", data, "image/jpeg")})
        assert up.status_code == 201, up.text
        gone = up.json()["id"]
        assert live.http.delete(f"/v1/media/{gone}").json() == {"deleted": True}
        now = str(int(time.time()))
        image_id, text_id = "wamid.kept-fails-" + secrets.token_hex(4), "wamid.beside-" + secrets.token_hex(4)
        ack = _post_webhook(live, [
            {"from": CUSTOMER, "id": image_id, "timestamp": now, "type": "image",
             "image": {"id": gone, "mime_type": "image/jpeg",
                       "sha256": base64.b64encode(hashlib.sha256(data).digest()).decode()}},
            {"from": CUSTOMER, "id": text_id, "timestamp": now, "type": "text", "text": {"body": "did you get it?"}},
        ])
        assert ack.status_code == 200
        status = _kept(live, image_id, "failed", "stored")
        assert status["state"] == "failed" and status["attempts"] == 3
        assert status["last_error"]
        # Reported: the hook got media.failed with the error, and the API says why it is not there.
        wait_for(lambda: outcomes, 10, "the on_kept hook")
        assert [(o.event_type, o.task.wamid) for o in outcomes] == [("media.failed", image_id)]
        assert outcomes[0].data()["error"] == status["last_error"]
        events = live.http.get("/v1/events", params={"types": "media.stored,media.failed"}).json()["events"]
        assert [(e["type"], e["data"]["wamid"], e["data"]["error"]) for e in events] == [
            ("media.failed", image_id, status["last_error"])]  # the retries wrote none: only the outcome
        content = live.http.get(f"/v1/media/kept/{image_id}")
        assert content.status_code == 404 and "not kept" in content.json()["error"]["reason"]
        # The text beside it was handled like any message: it is in the conversation log.
        msgs = live.http.get(f"/v1/conversations/{CUSTOMER}/messages").json()
        ids = {m.get("wamid") or m.get("id") for m in msgs["messages"]}
        assert {image_id, text_id} <= ids, msgs
    finally:
        live.http.close()
        server.stop()


def test_type_and_size_limits(tmp_path: Path) -> None:
    outcomes: list[KeptOutcome] = []
    server, live = _gateway(tmp_path, outcomes, media_dir=str(tmp_path / "media"), media_keep_types="image",
                            media_keep_max_bytes=1000)
    try:
        big = live.inject(CUSTOMER, image={"data_base64": base64.b64encode(os.urandom(5000)).decode()})
        small = live.inject(CUSTOMER, image={"data_base64": base64.b64encode(os.urandom(500)).decode()})
        voice = live.inject(CUSTOMER, audio={"data_base64": base64.b64encode(os.urandom(500)).decode()})
        assert _kept(live, small["id"], "stored")["size"] == 500
        skipped = _kept(live, big["id"], "skipped", "stored", "failed")
        assert skipped["state"] == "skipped" and "5000 bytes" in skipped["last_error"]
        assert live.http.get(f"/v1/media/kept/{voice['id']}/status").status_code == 404  # audio is not kept
        wait_for(lambda: len(outcomes) >= 2, 10, "the on_kept hook")
        by_wamid = {o.task.wamid: o for o in outcomes}
        assert by_wamid[big["id"]].event_type == "media.failed"
        assert by_wamid[big["id"]].data()["state"] == "skipped"
        assert by_wamid[small["id"]].event_type == "media.stored"
    finally:
        live.http.close()
        server.stop()
