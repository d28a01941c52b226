"""Phone numbers as people type them, turned into the E.164 form we send and the ``wa_id`` WhatsApp reports.

Parsing and validation come from ``phonenumbers`` (Google's libphonenumber); this module only adds the
WhatsApp-specific rules on top.

**The Mexico and Argentina mobile prefixes.** WhatsApp identifies users by a ``wa_id`` (digits only) that,
for two countries, is *not* the digits of the number's E.164 form:

- Mexico dropped the ``1`` mobile prefix (``+52 1 …``) in 2019, and libphonenumber treats
  ``+52 1 55 1234 5678`` as impossible, but WhatsApp still reports Mexican mobiles as ``521`` + 10 digits
  (webhook ``from``, ``contacts[].wa_id``). Both forms are accepted here; ``e164`` is ``+52`` + 10 digits
  (the form Meta's test-number allow-list holds: replying to the ``521…`` id gives 131030 there, and in
  production the API maps ``+52…`` onto the ``521…`` id itself), ``wa_id`` is ``521`` + 10 digits.
- Argentina's international mobile form has a ``9`` after ``54`` (``+54 9 11 2345 6789``), which is also
  what WhatsApp reports; a number typed the domestic way (``011 15 2345-6789``) becomes that same form.
  ``+54 11 2345 6789`` (no ``9``) is a valid *landline* number, so it is kept as typed: the digits alone
  cannot tell a mobile from a landline. (Reports from test setups say Meta's allow-list may hold an
  Argentine number without the ``9`` and answer 131030 to ``+549…``; that is an allow-list quirk of test
  numbers, not a second numbering, so :func:`is_same_user` folds the ``9`` too.)

Sources: the facts file (send-messages: "for Brazil and Mexico the API may rewrite the extra prefix"),
pywa #155 and chatwoot #13932 (131030 for Mexican and Argentine numbers), BSP number-format guides.

Because of these two rules, compare numbers with :func:`is_same_user` (or :attr:`PhoneNumber.key`), never
as strings: it treats ``521…``/``52…`` and ``549…``/``54…`` as the same user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType, ValidationResult

from wacloud.errors import ValidationError
from wacloud.identity import address_kind, is_bsuid, is_parent_bsuid

#: What a typed phone number may contain: an optional leading ``+``, digits and common separators.
_TYPED: Final = re.compile(r"^\+?[\d\s\-().\/]+$")
_SEPARATORS: Final = re.compile(r"[\s\-().\/]")
#: ITU-T E.164: at most 15 digits, country code included.
_E164_MAX_DIGITS: Final = 15
_MX: Final = 52
_AR: Final = 54
#: Prefixes of old Mexican dialling (mobile ``1``, long distance ``01``, mobile-from-landline ``044``/``045``)
#: that stand before the 10-digit number and are no longer part of it. Longest first.
_MX_LEGACY_PREFIXES: Final = ("044", "045", "01", "1")
#: Mexican number types WhatsApp reports with the ``521`` prefix (since 2019 most numbers are "fixed line
#: or mobile" to libphonenumber); invalid and landline-only numbers keep their plain digits.
_MOBILE: Final = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A parsed phone number: ``e164`` to send, ``wa_id`` as WhatsApp reports it, ``key`` to compare."""

    e164: str
    wa_id: str
    country_code: int
    region: str | None
    valid: bool
    """False when the number has a possible length but libphonenumber knows no such range (test numbers)."""

    @property
    def key(self) -> str:
        """Digits equal for every spelling of one WhatsApp user (Mexico and Argentina prefixes folded)."""
        digits = self.e164[1:]
        if self.country_code == _AR and digits.startswith("549"):
            return "54" + digits[3:]
        return digits

    def __str__(self) -> str:
        return self.e164


def normalize(number: str | PhoneNumber, default_region: str | None = None) -> PhoneNumber:
    """Parse a typed phone number (``+1 809-123-4567``, ``18091234567``, ``(809) 123 4567`` with a region).

    ``default_region`` (ISO 3166 code such as ``"DO"``) is used for numbers without a ``+``; digits
    without a ``+`` that are not a valid national number there are read as country code + number.
    Raises :class:`~wacloud.errors.ValidationError` (field ``"to"``) for anything that cannot be a number.
    """
    if isinstance(number, PhoneNumber):
        return number
    if not isinstance(number, str):
        raise ValidationError("to", f"expected a phone number as a string, got {type(number).__name__}")
    text = number.strip()
    if not text:
        raise ValidationError("to", "the phone number is empty")
    if len(text) > 64:
        raise ValidationError("to", "too long to be a phone number", size=len(text), limit=64)
    if not _TYPED.match(text):
        raise ValidationError("to", f"{text!r} is not a phone number: only digits, a leading '+', spaces, "
                                    "'-', '.', '/' and parentheses are allowed")
    return _normalized(text, _region(default_region))


# Parsing with libphonenumber costs ~85 µs, a fifth of a send; the result is a pure function of the
# text and region and PhoneNumber is frozen, so repeat recipients (conversations, retries, the outbox
# normalising at enqueue and again at send) are served from memory. Errors are not cached.
@lru_cache(maxsize=65536)
def _normalized(text: str, region: str | None) -> PhoneNumber:
    candidates = _candidates(text, region)
    for candidate in candidates:
        if candidate.valid:
            return candidate
    if candidates:
        return candidates[0]  # possible length, unknown range: still a number a test setup may use
    hint = "" if text.startswith("+") or region else " (add '+' and the country code, or pass default_region)"
    raise ValidationError("to", f"{text!r} is not a possible phone number{hint}")


def wa_id(number: str) -> str:
    """``normalize(number).wa_id``, for a number without a region (what a job stores), at half the cost.

    A number given with ``+`` (or as plain digits not starting ``00``) has one reading, so which reading
    is valid never has to be decided: its region and validity, half of a parse's cost, are not looked up.
    Other input goes through :func:`normalize`. Raises like :func:`normalize`.
    """
    if not isinstance(number, str):
        return normalize(number).wa_id
    text = number.strip()
    if not text or len(text) > 64 or not _TYPED.match(text):
        return normalize(number).wa_id  # its error
    return _wa_id(text)


@lru_cache(maxsize=65536)
def _wa_id(text: str) -> str:
    if text.startswith("+"):
        raw = text
    else:
        digits = _SEPARATORS.sub("", text)
        if digits.startswith("00"):
            return _normalized(text, None).wa_id  # two readings: the valid one wins
        raw = "+" + digits
    reading = _read(raw, None)
    if reading is None:
        return _normalized(text, None).wa_id  # its error
    return reading[2]


def is_same_user(a: str | PhoneNumber, b: str | PhoneNumber, default_region: str | None = None) -> bool:
    """True when ``a`` and ``b`` name the same WhatsApp user (e.g. a webhook ``from`` and a sent ``to``).

    Anything that does not parse as a phone number (a group id, a BSUID) is compared exactly.
    """
    ka, kb = _key_or_raw(a, default_region), _key_or_raw(b, default_region)
    return ka == kb


def _key_or_raw(value: str | PhoneNumber, default_region: str | None) -> str:
    try:
        return normalize(value, default_region).key
    except ValidationError:
        return str(value).strip()


def _region(default_region: str | None) -> str | None:
    if default_region is None:
        return None
    region = default_region.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError("default_region", f"{default_region!r} is not an ISO 3166 region code "
                                                "libphonenumber knows")
    return region


def _candidates(text: str, region: str | None) -> list[PhoneNumber]:
    """Every reading of ``text`` that has a possible length, most likely first."""
    inputs: list[tuple[str, str | None]] = []
    if text.startswith("+"):
        inputs.append((text, None))
    else:
        if region is not None:
            inputs.append((text, region))
        digits = _SEPARATORS.sub("", text)
        inputs.append(("+" + digits, None))
        if digits.startswith("00"):  # the international call prefix most of the world uses
            inputs.append(("+" + digits[2:], None))
    found: list[PhoneNumber] = []
    for raw, reg in inputs:
        parsed = _parse(raw, reg)
        if parsed is not None:
            found.append(parsed)
    return found


def _parse(raw: str, region: str | None) -> PhoneNumber | None:
    reading = _read(raw, region)
    if reading is None:
        return None
    num, e164, user_id = reading
    cc = int(num.country_code or 0)  # never 0 here: _read refuses a number without one
    # is_valid_number looks the region up again (a scan of every region sharing the country code, e.g.
    # the 25 of +1): look it up once and validate for it, which is what is_valid_number does inside.
    found = phonenumbers.region_code_for_number(num)
    return PhoneNumber(e164=e164, wa_id=user_id, country_code=cc, region=found,
                       valid=found is not None and phonenumbers.is_valid_number_for_region(num, found))


def _read(raw: str, region: str | None) -> tuple[phonenumbers.PhoneNumber, str, str] | None:
    """One reading of ``raw``: (parsed number, E.164, wa_id), or None when it has no possible length."""
    try:
        num = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    cc = num.country_code
    if num.extension or not cc or not num.national_number:
        return None  # an extension cannot be messaged; all zeros lose digits in libphonenumber's E.164
    if cc == _MX:
        num = _fold_mexico(num)
    if phonenumbers.is_possible_number_with_reason(num) != ValidationResult.IS_POSSIBLE:
        return None
    e164 = _e164(num)
    if len(e164) > _E164_MAX_DIGITS + 1:
        return None  # libphonenumber allows some longer national numbers; E.164 (and WhatsApp) do not
    # An input already in E.164 form (the usual case: stored and API-made numbers) is its own fixed
    # point, so only a rewritten reading pays a second parse (~40 µs).
    if e164 != raw and _e164(phonenumbers.parse(e164, None)) != e164:
        return None  # a leading trunk "0" got dropped: these digits do not name one stable number
    wa_id = e164[1:]
    if cc == _MX and phonenumbers.number_type(num) in _MOBILE:
        wa_id = "521" + wa_id[2:]
    return num, e164, wa_id


def _e164(num: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def _fold_mexico(num: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    """Drop an old Mexican dialling prefix (``1``, ``01``, ``044``, ``045``) before a 10-digit number."""
    nsn = phonenumbers.national_significant_number(num)
    for prefix in _MX_LEGACY_PREFIXES:
        rest = nsn[len(prefix):]
        if nsn.startswith(prefix) and len(rest) == 10:
            folded = phonenumbers.PhoneNumber(country_code=_MX, national_number=int(rest))
            if phonenumbers.is_valid_number(folded):
                return folded
    return num


__all__ = ["PhoneNumber", "address_kind", "is_bsuid", "is_parent_bsuid", "is_same_user", "normalize", "wa_id"]
