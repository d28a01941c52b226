"""Contact-card messages: 1–5 full cards (name, phones, emails, urls, addresses, org, birthday)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Literal, Self

from pydantic import model_validator

from wacloud.errors import ValidationError

from ._base import WaModel, check_count, check_not_blank, parsing_raw

HomeWork = Literal["HOME", "WORK"]


class Name(WaModel):
    """The card's name; ``formatted_name`` is required, the parts are optional."""

    formatted_name: str
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    suffix: str | None = None
    prefix: str | None = None

    @model_validator(mode="after")
    def _named(self) -> Self:
        check_not_blank("formatted_name", self.formatted_name)
        return self


class Phone(WaModel):
    """A phone number on the card; ``wa_id`` adds the "message" button for WhatsApp users."""

    phone: str
    type: Literal["HOME", "WORK", "CELL", "MAIN", "IPHONE"] | None = None
    wa_id: str | None = None


class Email(WaModel):
    """An email address on the card."""

    email: str
    type: HomeWork | None = None


class Url(WaModel):
    """A web address on the card."""

    url: str
    type: HomeWork | None = None


class Address(WaModel):
    """A postal address on the card."""

    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    type: HomeWork | None = None


class Org(WaModel):
    """Where the contact works."""

    company: str | None = None
    department: str | None = None
    title: str | None = None


class Contact(WaModel):
    """One contact card."""

    name: Name
    phones: list[Phone] | None = None
    emails: list[Email] | None = None
    urls: list[Url] | None = None
    addresses: list[Address] | None = None
    org: Org | None = None
    birthday: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _name_shortcut(cls, data: Any) -> Any:
        # Contact(name="Ada Lovelace") is the common case: a formatted name alone.
        if isinstance(data, dict) and isinstance(data.get("name"), str) and not parsing_raw():
            data = {**data, "name": {"formatted_name": data["name"]}}
        return data

    @model_validator(mode="after")
    def _birthday(self) -> Self:
        if self.birthday is not None:
            try:
                dt.date.fromisoformat(self.birthday)
            except ValueError:
                raise ValidationError("birthday", "must be a date written YYYY-MM-DD") from None
            if len(self.birthday) != 10:
                raise ValidationError("birthday", "must be a date written YYYY-MM-DD")
        return self


class Contacts(WaModel):
    """A contacts message: 1–5 :class:`Contact` cards."""

    type: ClassVar[str] = "contacts"
    contacts: list[Contact]

    @model_validator(mode="after")
    def _count(self) -> Self:
        check_count("contacts", self.contacts, "contacts")
        return self

    @classmethod
    def from_graph(cls, value: object) -> Contacts:
        """Parse the value of a body's ``contacts`` key (a list of cards)."""
        # The Graph body holds the list itself under "contacts", so the path needs no prefix.
        return super().from_graph({"contacts": value})

    def to_graph(self) -> dict[str, Any]:
        """``{"type": "contacts", "contacts": [...]}``."""
        return {"type": self.type, "contacts": self.graph()["contacts"]}
