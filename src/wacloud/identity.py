"""Telling a phone number from a business-scoped user id (BSUID), the two ways to address a customer.

Since 2026 a customer may be reached by phone number (``to`` in a send body) or by a BSUID (``recipient``):
``US.13491208655302741918`` — the user's ISO 3166 country, a dot, up to 128 letters and digits — or a
parent BSUID shared by the portfolios of a parent account, ``US.ENT.11815799212886844830``. This module
sits at the bottom of the package so the message models, the client and the gateway all decide the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from wacloud.errors import ValidationError

_BSUID: Final = re.compile(r"^[A-Z]{2}\.[0-9A-Za-z]{1,128}$")
_PARENT_BSUID: Final = re.compile(r"^[A-Z]{2}\.ENT\.[0-9A-Za-z]{1,128}$")
#: What a typed phone number may contain: an optional leading ``+``, digits and common separators.
_PHONE_TYPED: Final = re.compile(r"^\+?[\d\s\-().\/]+$")

AddressKind = Literal["phone", "bsuid", "parent_bsuid"]


def is_bsuid(value: object) -> bool:
    """True for a business-scoped user id (``US.1349…``) or a parent one (``US.ENT.1181…``).

    Such an id is sent as-is, in the send body's ``recipient`` instead of ``to``.
    """
    return isinstance(value, str) and bool(_BSUID.match(value) or _PARENT_BSUID.match(value))


def is_parent_bsuid(value: object) -> bool:
    """True for a parent (portfolio-wide) business-scoped user id (``US.ENT.1181…``)."""
    return isinstance(value, str) and bool(_PARENT_BSUID.match(value))


def address_kind(value: object, field: str = "to") -> AddressKind:
    """What a recipient address is: ``"phone"``, ``"bsuid"`` or ``"parent_bsuid"``.

    Anything else raises :class:`~wacloud.errors.ValidationError` naming ``field``, so a misspelt id is
    never sent as if it were a phone number. Objects with an ``e164`` attribute (parsed phone numbers) are
    phone numbers.
    """
    if isinstance(getattr(value, "e164", None), str):
        return "phone"
    if is_parent_bsuid(value):
        return "parent_bsuid"
    if is_bsuid(value):
        return "bsuid"
    if isinstance(value, str) and _PHONE_TYPED.match(value.strip()):
        return "phone"
    shown = str(value)[:40]
    raise ValidationError(field, f"{shown!r} is neither a phone number nor a business-scoped user id "
                                 "(CC.digits, or CC.ENT.digits for a parent id)")


@dataclass(frozen=True, slots=True)
class CustomerIds:
    """Every id one customer is known by at one business: the contract between the parts that learn ids
    (webhooks, send answers) and the parts keyed by the person (windows, opt-outs, the conversation log,
    events). ``contact_id`` is the gateway's own stable key for the person; any of the others may be
    missing (a username-only customer has no phone number)."""

    contact_id: str | None = None
    wa_id: str | None = None
    bsuid: str | None = None
    parent_bsuid: str | None = None
    username: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The ids that are known, by name (the shape used in events and API answers)."""
        return {k: v for k, v in (("contact_id", self.contact_id), ("wa_id", self.wa_id), ("bsuid", self.bsuid),
                                  ("parent_bsuid", self.parent_bsuid), ("username", self.username)) if v}
