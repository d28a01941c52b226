"""wacloud.errors: the code table matches the facts file, Meta's error object is parsed fully and safely."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wacloud import errors
from wacloud.errors import (
    ERROR_CODES,
    TEMPLATE_SUBCODES,
    AuthError,
    ErrorDetail,
    InvalidRequest,
    PairRateLimited,
    RateLimited,
    RecipientOptedOut,
    RecipientUnavailable,
    RetryClass,
    ServerError,
    TemplateError,
    ValidationError,
    WacloudError,
    WhatsAppError,
    WindowClosed,
    from_response,
)

META_EXAMPLE: dict[str, Any] = {
    "error": {
        "message": "(#130429) Rate limit hit",
        "type": "OAuthException",
        "code": 130429,
        "error_data": {"messaging_product": "whatsapp",
                       "details": "Cloud API message throughput has been reached."},
        "error_subcode": 2494055,
        "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
    }
}


# --- the table against the facts file, section 6.3 ----------------------------------------------


def _facts_rows(spec_dir: Path) -> list[tuple[str, str, str]]:
    """The (code cell, meaning, retry advice) rows of the facts file's section 6.3 table."""
    text = (spec_dir / "cloud-api-facts.md").read_text(encoding="utf-8")
    start = text.index("### 6.3")
    section = text[start:text.index("\n## ", start)]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.match(r"^\d", cells[0]):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def _codes(cell: str) -> list[int]:
    """Expand a code cell: ``200–299``, ``139100–139103``, ``2388039/40/47``, ``2388024 (subcode of 100)``."""
    cell = cell.split("(")[0].strip()
    if m := re.fullmatch(r"(\d+)\s*[–-]\s*(\d+)", cell):
        return list(range(int(m[1]), int(m[2]) + 1))
    first, *rest = cell.split("/")
    head = first.strip()
    return [int(head)] + [int(head[: len(head) - len(r.strip())] + r.strip()) for r in rest]


def test_code_cell_expansion() -> None:
    assert _codes("200–299")[:2] == [200, 201] and len(_codes("200–299")) == 100
    assert _codes("2388039/40/47/72/73/293/299") == [2388039, 2388040, 2388047, 2388072, 2388073,
                                                    2388293, 2388299]
    assert _codes("2388024 (subcode of 100)") == [2388024]


def test_every_code_in_the_facts_table_is_known(spec_dir: Path) -> None:
    rows = _facts_rows(spec_dir)
    assert len(rows) >= 60, "the facts table did not parse"
    missing = []
    for cell, meaning, _retry in rows:
        for code in _codes(cell):
            is_subcode = "subcode" in cell or meaning.startswith("Template creation")
            if is_subcode:
                if code not in TEMPLATE_SUBCODES:
                    missing.append(code)
            elif errors.lookup(code) is None:
                missing.append(code)
    assert not missing, f"codes in the facts file but not in ERROR_CODES: {missing}"


def test_named_table_codes_have_their_own_row(spec_dir: Path) -> None:
    # Single codes (not ranges) must be rows of their own, not caught by the 200-299 fallback.
    singles = [int(c) for c, m, _ in _facts_rows(spec_dir)
               if re.fullmatch(r"\d+", c) and not m.startswith("Template creation")]
    assert [c for c in singles if c not in ERROR_CODES] == []


@pytest.mark.parametrize(
    ("advice", "allowed"),
    [
        ("Yes", {RetryClass.BACKOFF, RetryClass.RECIPIENT_LATER}),
        ("Maybe", {RetryClass.BACKOFF}),
        ("Later", {RetryClass.RECIPIENT_LATER, RetryClass.BACKOFF}),
        ("No (use a template)", {RetryClass.NEEDS_TEMPLATE}),
        ("No", {RetryClass.NEVER, RetryClass.FIX_REQUEST, RetryClass.AUTH, RetryClass.NEEDS_TEMPLATE}),
        ("Never", {RetryClass.NEVER}),
        ("Not within 24 h", {RetryClass.NEVER}),
    ],
)
def test_retry_classes_follow_the_facts_advice(spec_dir: Path, advice: str, allowed: set[RetryClass]) -> None:
    checked = 0
    for cell, _meaning, retry in _facts_rows(spec_dir):
        if not re.fullmatch(r"\d+", cell) or int(cell) not in ERROR_CODES:
            continue
        first = retry.split(",")[0].split(";")[0].split("/")[0].strip()
        if advice == "No (use a template)":
            matches = retry.startswith(advice)
        elif advice == "No":
            matches = first.startswith("No") and not retry.startswith("No (use a template)") \
                and not first.startswith("Not")
        else:
            matches = first.startswith(advice)
        if matches:
            checked += 1
            assert ERROR_CODES[int(cell)].retry in allowed, (cell, retry, ERROR_CODES[int(cell)].retry)
    assert checked, f"no row with advice {advice!r}"


def test_token_problems_are_auth_class() -> None:
    for code in (0, 190, 104, 10, 200, 250, 299, 131005, 131031):
        assert errors.retry_class(code) is RetryClass.AUTH, code


def test_table_rows_are_well_formed() -> None:
    names = [row.name for row in ERROR_CODES.values()]
    assert len(names) == len(set(names)), "error names must be unique"
    for code, row in ERROR_CODES.items():
        assert row.code == code
        assert re.fullmatch(r"[a-z0-9_]+", row.name), row.name
        assert row.title and row.meaning
        assert 400 <= row.http_status <= 599
        assert isinstance(row.retry, RetryClass)


@pytest.mark.parametrize(
    ("codes", "status"),
    [((0, 190), 401), ((10, 200, 368, 131005, 131031, 130497), 403), ((132001,), 404),
     ((1, 131000, 131057, 133000), 500), ((2, 131016, 133004), 503), ((131056, 100, 131047, 130429), 400)],
)
def test_http_status_per_code_follows_the_facts_advice(codes: tuple[int, ...], status: int) -> None:
    for code in codes:
        assert errors.http_status_for(code) == status, code


def test_unknown_codes() -> None:
    assert errors.lookup(987654) is None
    assert errors.http_status_for(987654) == 400
    assert errors.retry_class(987654, 500) is RetryClass.BACKOFF
    assert errors.retry_class(987654, 429) is RetryClass.BACKOFF
    assert errors.retry_class(987654, 401) is RetryClass.AUTH
    assert errors.retry_class(987654, 400) is RetryClass.FIX_REQUEST
    assert errors.retry_class(987654) is RetryClass.FIX_REQUEST


# --- parsing Meta's error object --------------------------------------------------------------


def test_meta_example_is_parsed_in_full() -> None:
    exc = from_response(META_EXAMPLE, 400)
    assert type(exc) is RateLimited
    assert exc.code == 130429
    assert exc.http_status == 400
    assert exc.fbtrace_id == "Az8or2yhqkZfEZ-_4Qn_Bam"
    assert exc.details == "Cloud API message throughput has been reached."
    assert exc.retry is RetryClass.BACKOFF
    d = exc.detail
    assert (d.message, d.type, d.error_subcode) == ("(#130429) Rate limit hit", "OAuthException", 2494055)
    text = str(exc)
    assert "(#130429) Rate limit hit" in text
    assert "throughput has been reached" in text
    assert "Az8or2yhqkZfEZ-_4Qn_Bam" in text


def test_graph_generic_fields() -> None:
    body = {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190,
                      "error_subcode": 463, "is_transient": False, "error_user_title": "Session expired",
                      "error_user_msg": "Log in again", "fbtrace_id": "T1"}}
    exc = from_response(body, 401)
    assert isinstance(exc, AuthError)
    assert exc.detail.error_subcode == 463
    assert exc.detail.is_transient is False
    assert exc.detail.error_user_title == "Session expired"
    assert exc.detail.error_user_msg == "Log in again"


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (130429, RateLimited), (4, RateLimited), (80007, RateLimited), (80008, RateLimited),
        (131056, PairRateLimited),
        (131047, WindowClosed),
        (131050, RecipientOptedOut),
        (131026, RecipientUnavailable), (130403, RecipientUnavailable), (131030, RecipientUnavailable),
        (130472, RecipientUnavailable), (131049, RecipientUnavailable),
        (0, AuthError), (190, AuthError), (104, AuthError), (10, AuthError), (200, AuthError),
        (250, AuthError), (131005, AuthError),
        (100, InvalidRequest), (131008, InvalidRequest), (131009, InvalidRequest), (131051, InvalidRequest),
        (132000, TemplateError), (132001, TemplateError), (132012, TemplateError), (132018, TemplateError),
        (1, ServerError), (2, ServerError), (131000, ServerError), (131016, ServerError),
        (131057, ServerError), (133004, ServerError),
    ],
)
def test_exception_class_by_meaning(code: int, cls: type[WhatsAppError]) -> None:
    exc = from_response(errors.error_body(code, fbtrace_id="FB1"), errors.http_status_for(code))
    assert type(exc) is cls
    assert exc.code == code
    assert exc.fbtrace_id == "FB1"
    assert isinstance(exc, WhatsAppError) and isinstance(exc, WacloudError)


def test_every_row_round_trips_through_error_body() -> None:
    for code, row in ERROR_CODES.items():
        body = errors.error_body(code, "some details", fbtrace_id="TRACE")
        assert body["error"]["code"] == code
        exc = from_response(body, row.http_status)
        assert exc.code == code
        assert exc.retry is row.retry
        assert exc.fbtrace_id == "TRACE"
        assert exc.details == "some details"
        assert issubclass(errors.exception_class(code), WhatsAppError)


def test_error_body_shape() -> None:
    body = errors.error_body(131056, fbtrace_id="X", subcode=7)
    err = body["error"]
    assert err["message"].startswith("(#131056)")
    assert err["error_data"]["messaging_product"] == "whatsapp"
    assert err["error_data"]["details"] == ERROR_CODES[131056].meaning
    assert err["error_subcode"] == 7
    assert errors.error_body(987654, fbtrace_id="X")["error"]["message"] == "(#987654) Error"


def test_template_creation_subcode_is_carried() -> None:
    body = {"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100,
                      "error_subcode": 2388024, "fbtrace_id": "T"}}
    exc = from_response(body, 400)
    assert isinstance(exc, InvalidRequest)
    assert exc.detail.error_subcode == 2388024
    assert exc.detail.error_subcode in TEMPLATE_SUBCODES


@pytest.mark.parametrize(
    ("body", "status", "cls"),
    [
        (None, 500, ServerError),
        (None, 401, AuthError),
        (None, 403, AuthError),
        (None, 404, InvalidRequest),
        ("<html>Bad gateway</html>", 502, ServerError),
        (b"\x00\xff", 400, InvalidRequest),
        ([], 400, InvalidRequest),
        ({}, 503, ServerError),
        ({"error": "a string"}, 400, InvalidRequest),
        ({"error": None}, 500, ServerError),
        ({"error": []}, 429, RateLimited),
    ],
)
def test_garbage_bodies_become_typed_errors(body: object, status: int, cls: type[WhatsAppError]) -> None:
    exc = from_response(body, status)
    assert type(exc) is cls
    assert exc.http_status == status
    assert str(status) in str(exc)


@pytest.mark.parametrize(
    "obj",
    [
        {},
        {"code": "abc"},
        {"code": None, "message": None},
        {"code": "131056"},
        {"code": 131056, "error_data": "not a dict", "error_subcode": "x", "is_transient": "yes"},
        {"code": 131056, "error_data": {"details": 5}, "fbtrace_id": 12},
        {"code": 1.5},
        {"code": [1]},
        {"code": float("inf")},
        {"code": float("nan")},
        {"code": -3},
        {"code": True},
        {"message": "x" * 10_000},
    ],
)
def test_missing_and_wrong_fields_never_crash(obj: dict[str, Any]) -> None:
    exc = from_response({"error": obj}, 400)
    assert isinstance(exc, WhatsAppError)
    assert isinstance(exc.code, int)
    assert isinstance(str(exc), str)


def test_string_codes_and_odd_types_are_read_leniently() -> None:
    d = ErrorDetail.from_graph({"code": "131056", "error_subcode": "2494055", "fbtrace_id": 12,
                                "error_data": {"details": 5}, "is_transient": "yes"})
    assert d.code == 131056 and d.error_subcode == 2494055
    assert d.fbtrace_id == "12" and d.details == "5"
    assert d.is_transient is None
    assert type(from_response({"error": {"code": "131056"}}, 400)) is PairRateLimited


def test_an_error_without_code_falls_back_on_the_http_status() -> None:
    # No code at all must not be read as code 0 ("AuthException") for a server failure.
    assert type(from_response({"error": {"message": "boom", "fbtrace_id": "F"}}, 500)) is ServerError
    exc = from_response({"error": {"message": "boom", "fbtrace_id": "F"}}, 400)
    assert type(exc) is InvalidRequest
    assert exc.fbtrace_id == "F" and "boom" in str(exc)


def test_unknown_code_uses_the_http_status() -> None:
    assert type(from_response({"error": {"code": 987654}}, 503)) is ServerError
    assert type(from_response({"error": {"code": 987654}}, 401)) is AuthError
    assert type(from_response({"error": {"code": 987654}}, 400)) is InvalidRequest
    assert type(from_response({"error": {"code": 987654}}, 429)) is RateLimited


def test_message_without_text_uses_the_title() -> None:
    exc = from_response({"error": {"code": 131047}}, 400)
    assert "(#131047) Re-engagement message" in str(exc)


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4),
                    max_leaves=12),
       st.sampled_from([400, 401, 403, 404, 429, 500, 503]))
def test_any_body_gives_a_whatsapp_error(body: object, status: int) -> None:
    for candidate in (body, {"error": body}):
        exc = from_response(candidate, status)
        assert isinstance(exc, WhatsAppError)
        assert isinstance(exc.code, int)
        str(exc)


def test_spec_error_examples_parse(openapi_spec: dict[str, Any]) -> None:
    names = {"BadRequest": 400, "Unauthorized": 401, "Forbidden": 403, "NotFound": 404,
             "TooManyRequests": 429, "InternalServerError": 500}
    found: list[tuple[int, dict[str, Any]]] = []

    def walk(node: object, status: int) -> None:
        if isinstance(node, dict):
            err = node.get("error")
            if isinstance(err, dict) and "code" in err:
                found.append((status, node))
            for key, value in node.items():
                key_s = str(key)
                walk(value, int(key_s) if key_s.isdigit() and len(key_s) == 3 else names.get(key_s, status))
        elif isinstance(node, list):
            for value in node:
                walk(value, status)

    walk(openapi_spec, 400)
    assert len(found) > 100
    for status, body in found:
        exc = from_response(body, status)
        assert exc.code == int(body["error"]["code"])
        assert exc.detail.message == body["error"]["message"]
        if body["error"]["code"] in (190, 104, 0):
            assert isinstance(exc, AuthError)


# --- ValidationError ----------------------------------------------------------------------------


def test_validation_error_names_field_size_and_limit() -> None:
    exc = ValidationError("text.body", "too long", size=4097, limit=4096)
    assert (exc.field, exc.size, exc.limit) == ("text.body", 4097, 4096)
    assert str(exc) == "text.body: too long (size 4097, limit 4096)"
    assert isinstance(exc, ValueError) and isinstance(exc, WacloudError)
    assert not isinstance(exc, WhatsAppError)
    assert str(ValidationError("to", "empty")) == "to: empty"


def test_transport_error_is_a_wacloud_error() -> None:
    assert issubclass(errors.TransportError, WacloudError)
    assert not issubclass(errors.TransportError, WhatsAppError)
