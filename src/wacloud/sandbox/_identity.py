"""Business-scoped user ids (BSUIDs) of the simulated customers, and the webhook pieces that carry them.

Since April 2026 Meta gives every WhatsApp user a BSUID per business portfolio (``US.13491208655302741918``:
the ISO country code, a dot, an id), optionally a parent BSUID shared across linked portfolios
(``US.ENT.11815799212886844830``), and the user may adopt a username and hide their phone number. The
sandbox is one portfolio: a customer's BSUID is the same from every business number, derived from the
seed and the phone number (a number change makes a new BSUID, as Meta does), so it is stable across
resets and restarts.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wacloud.sandbox._model import Customer

#: A BSUID or a parent BSUID: two letters, optionally ``.ENT``, a dot, up to 128 alphanumerics.
BSUID_RE = re.compile(r"^[A-Z]{2}(\.ENT)?\.[A-Za-z0-9]{1,128}$")

# Calling codes of common countries (longest prefix wins); others get "US" (the id's prefix is cosmetic).
_COUNTRIES = {
    "1": "US", "7": "RU", "20": "EG", "27": "ZA", "30": "GR", "31": "NL", "32": "BE", "33": "FR", "34": "ES",
    "39": "IT", "40": "RO", "41": "CH", "43": "AT", "44": "GB", "45": "DK", "46": "SE", "47": "NO", "48": "PL",
    "49": "DE", "51": "PE", "52": "MX", "54": "AR", "55": "BR", "56": "CL", "57": "CO", "58": "VE", "60": "MY",
    "61": "AU", "62": "ID", "63": "PH", "64": "NZ", "65": "SG", "66": "TH", "81": "JP", "82": "KR", "84": "VN",
    "86": "CN", "90": "TR", "91": "IN", "92": "PK", "212": "MA", "234": "NG", "254": "KE", "351": "PT",
    "353": "IE", "880": "BD", "966": "SA", "971": "AE", "972": "IL",
}  # fmt: skip


def is_bsuid(value: Any) -> bool:
    """True for a string shaped like a BSUID or a parent BSUID."""
    return isinstance(value, str) and BSUID_RE.match(value) is not None


def country_of(wa_id: str | None) -> str:
    """The ISO country code of a phone number (``US`` when unknown or absent)."""
    if wa_id:
        for length in (3, 2, 1):
            country = _COUNTRIES.get(wa_id[:length])
            if country is not None:
                return country
    return "US"


def _digits(seed: int, kind: str, source: str) -> str:
    digest = hashlib.sha256(f"wacloud-sandbox:{seed}:{kind}:{source}".encode()).digest()
    return str(10**19 + int.from_bytes(digest[:8], "big") % (9 * 10**19))


def bsuid(seed: int, source: str, country: str = "US") -> str:
    """The BSUID of the customer known by ``source`` (their phone number, or a username-only token)."""
    return f"{country}.{_digits(seed, 'user', source)}"


def parent_bsuid(seed: int, user_id: str) -> str:
    """The parent BSUID of the customer whose BSUID is ``user_id``."""
    return f"{user_id[:2]}.ENT.{_digits(seed, 'parent', user_id)}"


def contact_entry(customer: Customer, *, username: bool = True) -> dict[str, Any]:
    """One ``contacts[]`` item: profile (name, username), ``wa_id`` when the phone is known, the BSUIDs."""
    profile: dict[str, Any] = {"name": customer.profile_name}
    if username and customer.username:
        profile["username"] = customer.username
    entry: dict[str, Any] = {"profile": profile}
    if customer.has_phone:
        entry["wa_id"] = customer.wa_id
    if customer.user_id:
        entry["user_id"] = customer.user_id
    if customer.parent_user_id:
        entry["parent_user_id"] = customer.parent_user_id
    return entry


def status_identity(customer: Customer | None, status: str, sent_to_bsuid: bool) -> dict[str, Any]:
    """The BSUID-era keys of one ``statuses[]`` item (Meta leaves ``contacts`` out of ``failed`` ones, and
    the recipient's BSUID too when a failed message was sent to a phone number)."""
    if customer is None or not customer.user_id:
        return {}
    out: dict[str, Any] = {}
    if status != "failed" or sent_to_bsuid:
        out["recipient_user_id"] = customer.user_id
        if customer.parent_user_id:
            out["recipient_parent_user_id"] = customer.parent_user_id
    if status != "failed":
        # The username shows on delivered and read statuses only.
        out["contacts"] = [contact_entry(customer, username=status in ("delivered", "read", "played"))]
    return out
