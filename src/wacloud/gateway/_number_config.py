"""One business number of the gateway, as configured: a TOML ``[[numbers]]`` table or an entry of
``WACLOUD_NUMBERS`` (JSON), or the single-number settings (``WACLOUD_PHONE_NUMBER_ID``…) as a one-number list.

Each number has its own ids, its own token (numbers of several Meta apps can share one gateway), the app
secret that signs its webhooks (when its app differs) and its rate. The rate the gateway paces to follows
the number's throughput level: ``mps`` at the standard level, Meta's upgraded rate at the high level,
never above ``max_mps`` when that is set.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from wacloud.delivery.pacing import GRAPH_CALL_S
from wacloud.limits import UPGRADED_MPS

_DIGITS = re.compile(r"^[0-9]{1,32}$")

#: The fewest and the most sends in flight per number (sized for a Graph call of ``GRAPH_CALL_S``, the outbox's
#: own default's: with 8 in flight, the old fixed default, a number could not send more than ~30-80 a second live).
MIN_IN_FLIGHT = 8
MAX_IN_FLIGHT = 1024
#: Throughput levels of ``GET /{phone-number-id}?fields=throughput`` that raise the rate to Meta's upgraded one.
HIGH_LEVELS = frozenset({"HIGH"})


class NumberConfig(BaseModel):
    """One ``[[numbers]]`` table: a business number the gateway sends from and receives for."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    phone_number_id: str = Field(description="the business phone number id (digits)")
    waba_id: str | None = Field(default=None, description="its WhatsApp Business Account (default: waba_id)")
    access_token: SecretStr | None = Field(default=None, description="its token (default: access_token)")
    app_secret: SecretStr | None = Field(
        default=None, description="secret of the Meta app its webhooks come from (default: app_secret)"
    )
    name: str | None = Field(default=None, max_length=128, description="a name for people (brand, country…)")
    display_phone_number: str | None = Field(default=None, description="the number as people dial it")
    mps: int | None = Field(default=None, ge=1, le=UPGRADED_MPS, description="rate at the standard level")
    max_mps: int | None = Field(default=None, ge=1, le=UPGRADED_MPS, description="never pace above this")

    @field_validator("phone_number_id", "waba_id", mode="before")
    @classmethod
    def _digits(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not _DIGITS.match(value.strip()):
            raise ValueError("must be the numeric id from Meta's App Dashboard")
        return value.strip() if isinstance(value, str) else value

    @field_validator("name", "access_token", "app_secret")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and "\x00" in text:
            raise ValueError("must not contain a NUL character (U+0000)")
        if isinstance(value, SecretStr) and not 1 <= len(value.get_secret_value().strip()) <= 4096:
            raise ValueError("must be 1 to 4096 characters")
        return value

    @field_validator("display_phone_number", mode="before")
    @classmethod
    def _display(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and not display_digits(value):
            raise ValueError("must be a phone number (digits, optionally with +, spaces or dashes)")
        return value


def display_digits(text: str) -> str:
    """The digits of a display phone number (``+1 555-000-0001`` → ``15550000001``); empty if not one."""
    if not re.fullmatch(r"\+?[0-9 ()\-.]{1,40}", text.strip()):
        return ""
    return re.sub(r"[^0-9]", "", text)


@dataclass(frozen=True, slots=True)
class NumberSpec:
    """A configured number with every default filled in (what the gateway runs with)."""

    phone_number_id: str
    waba_id: str | None
    access_token: str | None
    app_secret: str | None
    name: str | None
    display_phone_number: str | None
    mps: int
    max_mps: int | None

    def rate_for(self, level: str | None) -> int:
        """Messages per second to pace to at throughput ``level`` (None: not known yet, the standard rate)."""
        rate = UPGRADED_MPS if level is not None and level.upper() in HIGH_LEVELS else self.mps
        return min(rate, self.max_mps) if self.max_mps is not None else rate

    def in_flight(self) -> int:
        """Sends in flight this number needs to hold its highest rate (an upgrade included) when each Graph
        call takes :data:`GRAPH_CALL_S`: pacing sets the rate, this only must not cap it."""
        top = self.max_mps if self.max_mps is not None else max(self.mps, UPGRADED_MPS)
        return max(MIN_IN_FLIGHT, min(MAX_IN_FLIGHT, math.ceil(top * GRAPH_CALL_S)))

    def __repr__(self) -> str:
        return (f"NumberSpec(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r}, "
                f"name={self.name!r}, mps={self.mps}, max_mps={self.max_mps}, access_token='***')")


def problems_of(numbers: list[NumberConfig]) -> list[str]:
    """Duplicates among configured numbers, as messages naming the setting."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    shown: dict[str, int] = {}
    for i, n in enumerate(numbers):
        if n.phone_number_id in seen:
            first = seen[n.phone_number_id]
            problems.append(f"numbers[{i}].phone_number_id: {n.phone_number_id} is already numbers[{first}]")
        seen.setdefault(n.phone_number_id, i)
        digits = display_digits(n.display_phone_number or "")
        if digits and digits in shown:
            problems.append(f"numbers[{i}].display_phone_number: {n.display_phone_number} is already "
                            f"numbers[{shown[digits]}]'s")
        if digits:
            shown.setdefault(digits, i)
    return problems


def fill(n: NumberConfig, *, waba_id: str | None, access_token: str | None, app_secret: str | None,
         mps: int) -> NumberSpec:
    """``n`` with the gateway-wide settings as defaults."""
    return NumberSpec(
        phone_number_id=n.phone_number_id,
        waba_id=n.waba_id or waba_id,
        access_token=n.access_token.get_secret_value() if n.access_token else access_token,
        app_secret=n.app_secret.get_secret_value() if n.app_secret else app_secret,
        name=n.name,
        display_phone_number=n.display_phone_number,
        mps=n.mps or mps,
        max_mps=n.max_mps,
    )


__all__ = ["NumberConfig", "NumberSpec", "display_digits", "fill", "problems_of"]
