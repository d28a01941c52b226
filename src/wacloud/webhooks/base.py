"""The base of every webhook model and the pieces all webhook fields share (metadata, contacts, errors).

Field names are the API's own. Every model keeps keys it does not know (``extra="allow"``), so a field
Meta adds tomorrow is still reachable as an attribute and in ``model_dump()``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from wacloud._deprecation import renamed

# Meta sends ids sometimes as numbers (group participants, template ids in some payloads);
# coercing numbers to strings keeps ``str`` fields tolerant without accepting objects or lists.
_CONFIG = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True, frozen=False)


class WebhookModel(BaseModel):
    """Base of every webhook model: API field names, unknown keys kept."""

    model_config = _CONFIG


class InfoModel(WebhookModel):
    """A nested ``…_info`` object that used to be a plain dict: ``info["key"]`` and ``info.get("key")`` still work."""

    def __getitem__(self, key: str) -> Any:
        """``info["reason"]``: the value of a key, as with the dict this used to be (KeyError when absent)."""
        value = getattr(self, key, None)
        if value is None and key not in self.model_dump(exclude_none=True):
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """``info.get("reason")``, as with a dict."""
        value = getattr(self, key, None)
        return default if value is None else value


class Metadata(WebhookModel):
    """Which business number a ``messages`` change belongs to.

    Frozen: the parser gives every update of a number one shared instance (webhooks/_shared.py).
    """

    model_config = ConfigDict(frozen=True)

    display_phone_number: str | None = None
    phone_number_id: str | None = None


class Profile(WebhookModel):
    """The customer's WhatsApp profile: their chosen name and, when they adopted one, their username.

    Frozen: equal profiles are one shared instance in parsed updates (webhooks/_shared.py).
    """

    model_config = ConfigDict(frozen=True)

    name: str | None = None
    #: The customer's WhatsApp username (display only: users can change it; not an identifier).
    username: str | None = None


class WebhookContact(WebhookModel):
    """``value.contacts[]``: who a message came from or went to.

    ``wa_id`` is the phone number; it is absent for a customer who reaches the business by username
    only, and may differ from the message's ``from``. ``user_id`` is the business-scoped user id (BSUID,
    e.g. ``US.13491208655302741918``); ``parent_user_id`` the id shared across a business portfolio
    (it contains ``.ENT.``).
    """

    wa_id: str | None = None
    profile: Profile | None = None
    identity_key_hash: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None


class ErrorData(WebhookModel):
    """``error_data`` of a webhook error."""

    details: str | None = None


class WebhookError(WebhookModel):
    """An error object as webhooks carry it (value-, message- and status-level)."""

    code: int
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None
    href: str | None = None


#: Old names kept for one release: ``Contact`` is the message type in :mod:`wacloud.messages`.
_RENAMED = {"Contact": "WebhookContact"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals().__getitem__)
