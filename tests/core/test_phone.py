"""wacloud.phone: what people type becomes E.164 and a wa_id, impossible numbers are refused."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wacloud.errors import ValidationError
from wacloud.phone import PhoneNumber, is_bsuid, is_same_user, normalize


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("+1 809-123-4567", None),
        ("+18091234567", None),
        ("18091234567", None),  # country code without the plus, as webhooks spell wa_ids
        ("+1 (809) 123-4567", None),
        ("(809) 123 4567", "DO"),
        ("(809) 123 4567", "US"),  # same NANP numbering: still the DR number
        ("809.123.4567", "do"),  # region codes are case-insensitive
        ("1 809 123 4567", "DO"),
        ("0018091234567", None),  # 00 international prefix
        ("  +1 809 123 4567\n", None),
    ],
)
def test_dominican_number_spellings(typed: str, region: str | None) -> None:
    num = normalize(typed, region)
    assert num.e164 == "+18091234567"
    assert num.wa_id == "18091234567"
    assert num.country_code == 1
    assert num.region == "DO"
    assert num.valid
    assert str(num) == "+18091234567"


def test_digits_that_are_not_national_fall_back_to_country_code() -> None:
    # Not a valid Argentine national number, so read as +1 809...
    assert normalize("18091234567", "AR").e164 == "+18091234567"
    # A valid national number wins over the international reading.
    assert normalize("11 2345 6789", "AR").e164 == "+541123456789"


@pytest.mark.parametrize(
    "typed",
    ["+52 1 55 1234 5678", "+5215512345678", "5215512345678",  # WhatsApp's wa_id form, with the old 1
     "+52 55 1234 5678", "525512345678", "+525512345678"],  # today's E.164 form
)
def test_mexico_both_forms(typed: str) -> None:
    num = normalize(typed)
    assert num.e164 == "+525512345678"  # what we send: no legacy 1
    assert num.wa_id == "5215512345678"  # what WhatsApp reports in webhooks and send responses
    assert num.region == "MX"
    assert num.valid


@pytest.mark.parametrize("typed", ["044 55 1234 5678", "045 55 1234 5678", "01 55 1234 5678",
                                   "1 55 1234 5678", "55 1234 5678"])
def test_mexico_old_domestic_prefixes(typed: str) -> None:
    num = normalize(typed, "MX")
    assert (num.e164, num.wa_id) == ("+525512345678", "5215512345678")


@pytest.mark.parametrize(
    ("typed", "region"),
    [("+54 9 11 2345-6789", None), ("+5491123456789", None), ("5491123456789", None),
     ("+54 11 15 2345 6789", None), ("011 15 2345-6789", "AR")],
)
def test_argentina_mobile_forms(typed: str, region: str | None) -> None:
    num = normalize(typed, region)
    assert num.e164 == "+5491123456789"
    assert num.wa_id == "5491123456789"
    assert num.region == "AR"


def test_argentina_without_nine_is_kept_but_matches_the_mobile() -> None:
    landline = normalize("+54 11 2345 6789")
    assert landline.e164 == "+541123456789"  # a valid landline: we cannot know it is a mobile
    assert landline.wa_id == "541123456789"
    assert is_same_user("5491123456789", "+54 11 2345 6789")
    assert landline.key == normalize("+5491123456789").key == "541123456789"


def test_is_same_user() -> None:
    assert is_same_user("5215512345678", "+52 55 1234 5678")  # webhook from vs what we sent
    assert is_same_user("18091234567", "+1 809-123-4567")
    assert is_same_user("(809) 123 4567", "+18091234567", default_region="DO")
    assert is_same_user(normalize("+18091234567"), "18091234567")
    assert not is_same_user("18091234567", "18091234568")
    assert not is_same_user("5215512345678", "5215512345679")
    # Non-numbers (group ids, BSUIDs) compare exactly.
    assert is_same_user("US.13491208655302741918", "US.13491208655302741918")
    assert not is_same_user("US.13491208655302741918", "US.13491208655302741919")


def test_other_countries_and_test_numbers() -> None:
    br = normalize("+55 11 91234-5678")
    assert (br.e164, br.wa_id, br.region) == ("+5511912345678", "5511912345678", "BR")
    us = normalize("+1 650 555 1234")
    assert us.region == "US" and us.valid
    # 555-01xx style fictional numbers have a possible length: accepted, flagged as not valid.
    fake = normalize("+1 555 123 4567")
    assert fake.e164 == "+15551234567" and not fake.valid


@pytest.mark.parametrize(
    ("typed", "region", "needle"),
    [
        ("", None, "empty"),
        ("   ", None, "empty"),
        ("123", None, "not a possible phone number"),
        ("+1 809", None, "not a possible"),
        ("+999 1234567", None, "not a possible"),
        ("(809) 123 4567", None, "default_region"),  # no country code and no region: say how to fix it
        ("abc", None, "only digits"),
        ("1-800-FLOWERS", "US", "only digits"),
        ("+1 650 555 1234 ext 5", None, "only digits"),
        ("+1 809 123 4567 +1", None, "only digits"),
        ("+" + "1" * 80, None, "too long"),
        ("+52 55 1234", None, "not a possible"),
    ],
)
def test_impossible_numbers_are_refused(typed: str, region: str | None, needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize(typed, region)
    assert info.value.field == "to"
    assert needle in str(info.value)


def test_bad_region_and_type() -> None:
    with pytest.raises(ValidationError) as info:
        normalize("8091234567", "XX")
    assert info.value.field == "default_region"
    with pytest.raises(ValidationError) as info:
        normalize(18091234567)  # type: ignore[arg-type]
    assert info.value.field == "to" and "int" in str(info.value)


def test_phone_number_is_frozen_and_passes_through() -> None:
    num = normalize("+18091234567")
    with pytest.raises(dataclasses.FrozenInstanceError):
        num.e164 = "+1"  # type: ignore[misc]
    assert normalize(num) is num
    assert isinstance(num, PhoneNumber)
    assert hash(num) == hash(normalize("18091234567"))


def test_bsuid() -> None:
    assert is_bsuid("US.13491208655302741918")
    assert not is_bsuid("18091234567")
    assert not is_bsuid("+1 809 123 4567")


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_validation_error(text: str) -> None:
    try:
        num = normalize(text)
    except ValidationError as exc:
        assert exc.field == "to"
    else:
        assert num.e164.startswith("+") and num.e164[1:].isdigit()
        assert num.wa_id.isdigit()


@given(st.from_regex(r"\+?[0-9 ()\-]{1,20}", fullmatch=True),
       st.sampled_from(["DO", "US", "MX", "AR", "BR", "DE", "AT", "IT", "GB", None]))
def test_digit_strings_parse_or_raise_validation_error(text: str, region: str | None) -> None:
    try:
        num = normalize(text, region)
    except ValidationError:
        return
    assert len(num.e164) <= 16
    assert normalize(num.e164) == num, (text, num, normalize(num.e164))  # E.164 is a fixed point
    assert is_same_user(num, num.wa_id)  # the wa_id names the same user
    assert normalize(num.wa_id).key == num.key


@pytest.mark.parametrize("typed", ["+18092345678", "+447911123456", "+5215512345678", "+5491123456789"])
def test_an_e164_input_is_parsed_once(typed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import phonenumbers

    from wacloud import phone

    calls: list[str] = []
    real = phonenumbers.parse

    def counting(raw: str, region: str | None = None, *args: object, **kwargs: object) -> object:
        calls.append(raw)
        return real(raw, region, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(phonenumbers, "parse", counting)
    phone._normalized.cache_clear()  # a distinct number: the memo must not hide the parse
    number = normalize(typed)
    assert number.e164 == ("+525512345678" if typed.startswith("+521") else typed)
    # Already in E.164 form: the fixed-point check is the input itself, no second parse. (The Mexican
    # ``+521`` form is rewritten, so its E.164 form is checked by parsing it once more.)
    assert len(calls) == (2 if typed.startswith("+521") else 1)
