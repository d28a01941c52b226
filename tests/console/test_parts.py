"""The console's parts without a browser: roles, stored tables (real SQLite files and the real
PostgreSQL), opt-out keywords, message bubbles, CSV reading and the template form's rule errors."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.datastructures import FormData, Headers, UploadFile

from wacloud.events import Event, Subscription
from wacloud.gateway._auth import role_refusal
from wacloud.gateway._db import Database
from wacloud.gateway._handover import Handover
from wacloud.gateway._keys import KeyStore
from wacloud.gateway._stop_words import StopWords, normalize
from wacloud.gateway.console._attach import MAX_REQUEST, AttachmentError, attachment_of
from wacloud.gateway.console._bubbles import bubble
from wacloud.gateway.console._campaigns import read_csv, schedule_time
from wacloud.gateway.console._live import slim
from wacloud.gateway.console._subs import _health
from wacloud.gateway.console._templates import check
from wacloud.identity import CustomerIds
from wacloud.limits import MEDIA_RULES, MediaKind

PG = os.environ.get("WACLOUD_TEST_PG_DSN")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A gateway database: a real SQLite file, or a fresh schema in the test PostgreSQL."""
    if request.param == "sqlite":
        found = Database(f"sqlite:///{tmp_path / 'gw.db'}")
        yield found
        found.close()
        return
    if not PG:
        pytest.skip("WACLOUD_TEST_PG_DSN is not set")
    psycopg = pytest.importorskip("psycopg")
    schema = "console_" + uuid.uuid4().hex[:10]
    with psycopg.connect(PG, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG else "?"
    found = Database(f"{PG}{sep}options=-csearch_path%3D{schema}")
    try:
        yield found
    finally:
        found.close()
        with psycopg.connect(PG, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize(
    ("role", "method", "path", "allowed"),
    [
        ("viewer", "GET", "/v1/jobs", True),
        ("viewer", "POST", "/v1/messages", False),
        ("viewer", "DELETE", "/v1/templates/x", False),
        ("viewer", "GET", "/v1/keys", False),
        ("agent", "POST", "/v1/messages", True),
        ("agent", "POST", "/v1/campaigns", True),
        ("agent", "GET", "/v1/keys", False),
        ("agent", "DELETE", "/v1/keys/ab12", False),
        ("agent", "GET", "/v1/audit", False),
        ("agent", "GET", "/v1/numbers", True),
        ("agent", "POST", "/v1/numbers/123/pause", False),
        ("agent", "POST", "/v1/subscriptions", False),
        ("agent", "POST", "/v1/keysmith", True),  # a prefix match is by path segment, not by letters
        ("admin", "POST", "/v1/keys", True),
        ("admin", "POST", "/v1/subscriptions", True),
    ],
)
def test_what_each_role_may_do(role: str, method: str, path: str, allowed: bool) -> None:
    assert (role_refusal(role, method, path) is None) is allowed


def test_keys_made_before_roles_become_admin(db: Database) -> None:
    # A table as older versions made it (no role column), with one key in it.
    db.execute("CREATE TABLE wacloud_api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, "
               "key_hash TEXT NOT NULL UNIQUE, created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION)")
    db.execute("INSERT INTO wacloud_api_keys (id, name, key_hash, created_at) VALUES ('old1', 'old', "
               "'ab', 1.0)")
    store = KeyStore(db)
    assert store.get("old1") is not None and store.get("old1").role == "admin"  # type: ignore[union-attr]
    info, key = store.create("support", role="agent")
    assert store.verify(key) == info and info.role == "agent"
    KeyStore(db)  # opening again does not add the column twice
    with pytest.raises(Exception, match="role"):
        store.create("x", role="root")


def test_handover_take_release(db: Database) -> None:
    handover = Handover(db)
    assert handover.holder("15551230000") is None
    handover.take("15551230000", "k1", "Ada")
    handover.take("15551230000", "k2", "Grace")  # taking it again changes the holder
    holder = handover.holder("15551230000")
    assert holder is not None and (holder.key_id, holder.name) == ("k2", "Grace")
    assert handover.release("15551230000") is True
    assert handover.release("15551230000") is False and handover.holder("15551230000") is None


def test_stop_words_match_whole_messages_per_language(db: Database) -> None:
    words = StopWords(db)
    assert words.match("  Stop! ") == "en"
    assert words.match("baja") == "es"
    assert words.match("please stop sending") is None  # a word inside a sentence is not an opt-out
    assert words.match("Arrêt") == "fr"  # accents do not matter
    words.add("it", "basta")
    words.remove("en", "STOP")
    words._cache = None
    assert words.match("BASTA.") == "it"
    assert words.match("stop") == "fr"  # French keeps its STOP
    assert ("it", "BASTA") in words.all()
    with pytest.raises(ValueError):
        words.add("en", "  !! ")
    assert StopWords(db).match("basta") == "it"  # opening again does not seed the defaults again
    assert normalize("  Cancelar  Suscripción ") == "CANCELAR SUSCRIPCION"


def test_bubbles_draw_both_directions_and_every_kind() -> None:
    buttons = bubble({"type": "interactive", "interactive": {
        "type": "button", "header": {"type": "text", "text": "Order 42"}, "body": {"text": "Ready?"},
        "footer": {"text": "shop"}, "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]}}})
    assert (buttons.header, buttons.text, buttons.footer) == ("Order 42", "Ready?", "shop")
    assert buttons.buttons == [("y", "Yes")]
    rows = bubble({"type": "interactive", "interactive": {"type": "list", "body": {"text": "Pick"}, "action": {
        "button": "Menu", "sections": [{"title": "S", "rows": [{"id": "r1", "title": "One", "description": "d"}]}]}}})
    assert rows.list_button == "Menu" and rows.rows == [("S", "r1", "One", "d")]
    tapped = bubble({"type": "interactive", "interactive": {"type": "button_reply",
                                                            "button_reply": {"id": "y", "title": "Yes"}}})
    assert tapped.replied_with == "Yes"
    place = bubble({"type": "location", "location": {"latitude": 1.5, "longitude": 2.5, "name": "Here"}})
    assert place.location is not None and place.location["name"] == "Here"
    image = bubble({"type": "image", "image": {"id": "m1", "caption": "look"}})
    assert (image.media, image.caption) == ("image", "look")
    card = bubble({"type": "contacts", "contacts": [{"name": {"formatted_name": "Ada"}, "phones": [{"phone": "+1"}]}]})
    assert card.contacts == ["Ada +1"]
    definition = {"name": "hi", "language": "en_US", "components": [
        {"type": "BODY", "text": "Hi {{1}}, order {{2}}"}, {"type": "BUTTONS", "buttons": [
            {"type": "QUICK_REPLY", "text": "Track"}]}]}
    sent = bubble({"type": "template", "template": {"name": "hi", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Ada"}, {"type": "text", "text": "7"}]}]}},
        templates={"hi:en_US": definition})
    assert (sent.template, sent.text, sent.buttons) == ("hi", "Hi Ada, order 7", [("QUICK_REPLY", "Track")])
    assert bubble(None, "status only").text == "status only"


def test_csv_reading_finds_the_header_and_refuses_unusable_files() -> None:
    columns, rows = read_csv("phone;name\n+15551234567;Ada\n+15551234568;Grace\n")
    assert columns == ["phone", "name"] and rows[1] == {"phone": "+15551234568", "name": "Grace"}
    with pytest.raises(ValueError, match="no recipients"):
        read_csv("phone,name\n")
    with pytest.raises(ValueError, match="header"):
        read_csv("")


def test_template_form_errors_land_on_their_field() -> None:
    def form(**values: str) -> FormData:
        return FormData({"name": "ok_name", "language": "en_US", "category": "UTILITY", "body": "Hello", **values})

    assert check(form())[1] == {}
    assert "name" in check(form(name="Bad Name"))[1]
    assert "header" in check(form(header="x" * 70))[1]
    assert "buttons" in check(form(buttons="y" * 30))[1]
    body, found = check(form(body="{{1}} at the start"))
    assert "body" in found and body["components"][0]["example"] == {"body_text": [["example 1"]]}


def test_live_events_are_slim_and_carry_what_a_page_matches_on() -> None:
    ev = Event(id="evt_1", position=42, seq=7, type="job.state_changed", at=1.0, phone_number_id="100000000000001",
               data={"job_id": "9", "state": "read", "to": "15550001111", "campaign": "spring", "detail": "secret"},
               contact=CustomerIds(contact_id="US.1", wa_id="15550001111"))
    assert slim(ev) == {"type": "job.state_changed", "position": 42, "number": "100000000000001",
                        "wa_id": "15550001111", "contact_id": "US.1", "campaign": "spring", "state": "read"}
    received = Event(id="evt_2", position=43, seq=8, type="message.received", at=1.0, phone_number_id="1",
                     data={"message": {"text": {"body": "private"}}, "type": "text"})
    assert "private" not in str(slim(received)) and slim(received)["wa_id"] == ""


def test_a_campaign_schedule_is_a_future_utc_time() -> None:
    assert schedule_time("") is None
    assert schedule_time("2099-01-02T03:04") == datetime(2099, 1, 2, 3, 4, tzinfo=UTC).timestamp()
    with pytest.raises(ValueError, match="in the past"):
        schedule_time("2001-01-01T00:00")
    with pytest.raises(ValueError, match="YYYY-MM-DDTHH:MM"):
        schedule_time("tomorrow")


def _sub(**changes: object) -> Subscription:
    base: dict[str, object] = dict(
        id="sub_1", url="https://crm.example.com/hook?token=t", types=None, numbers=None, secret="whsec_x",
        state="active", paused_reason=None, failing=False, cursor=0, generation=0, created_at=0.0, delivered=5,
        failed_attempts=0, dead_lettered=0, consecutive_failures=0, last_status=200, last_error=None,
        last_latency_ms=3.0, last_attempt_at=1.0, next_retry_at=None, holder=None, lease_until=None)
    base.update(changes)
    return Subscription(**base)  # type: ignore[arg-type]


def test_subscription_health_in_words() -> None:
    assert _health(_sub()) == ("delivering", False)
    assert _health(_sub(consecutive_failures=3, failing=True)) == ("failing: 3 failures in a row", True)
    assert _health(_sub(state="paused", paused_reason="20 failures in a row")) == ("paused: 20 failures in a row", True)
    assert _health(_sub(dead_lettered=2))[1] is True


async def test_attachments_are_checked_against_the_shared_limits() -> None:
    def form(name: str, data: bytes, mime: str) -> FormData:
        upload = UploadFile(io.BytesIO(data), filename=name, headers=Headers({"content-type": mime}))
        return FormData([("attachment", upload)])

    assert await attachment_of(FormData([("text", "hi")])) is None
    doc = await attachment_of(form("terms.pdf", b"%PDF-1.4", "application/octet-stream"))  # type from the name
    assert doc is not None and doc.kind == MediaKind.DOCUMENT and doc.mime == "application/pdf"
    with pytest.raises(AttachmentError, match="cannot send application/zip files"):
        await attachment_of(form("a.zip", b"PK", "application/zip"))
    with pytest.raises(AttachmentError, match="cannot send image/webp files"):
        await attachment_of(form("s.webp", b"RIFF", "image/webp"))
    too_big = b"\0" * (MEDIA_RULES[MediaKind.AUDIO].max_bytes + 1)
    with pytest.raises(AttachmentError, match="at most 16 MB"):
        await attachment_of(form("long.ogg", too_big, "audio/ogg"))
    assert MEDIA_RULES[MediaKind.DOCUMENT].max_bytes < MAX_REQUEST
