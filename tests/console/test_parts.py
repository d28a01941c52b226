"""The console's parts without a browser: roles, stored tables (real SQLite files and the real
PostgreSQL), opt-out keywords, message bubbles, CSV reading and the template form's rule errors."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.datastructures import FormData

from wacloud.gateway._auth import role_refusal
from wacloud.gateway._db import Database
from wacloud.gateway._handover import Handover
from wacloud.gateway._keys import KeyStore
from wacloud.gateway._stop_words import StopWords, normalize
from wacloud.gateway.console._bubbles import bubble
from wacloud.gateway.console._campaigns import read_csv
from wacloud.gateway.console._templates import check

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
