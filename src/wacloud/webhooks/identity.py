"""Who a customer is, in the BSUID era: phone number, business-scoped user id, parent id, username.

Since April 2026 webhooks carry a business-scoped user id (BSUID) for every customer, and a customer who
adopts a username may reach the business with no phone number at all. :class:`UserIdentity` gathers
what one update knows about its customer, whichever of these it carries; :class:`Identity` is the
message-level object of a ``customer_identity_changed`` system message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wacloud.webhooks.base import WebhookContact, WebhookModel

#: The marker of a parent (portfolio-wide) BSUID, e.g. ``US.ENT.11815799212886844830``.
PARENT_MARKER = ".ENT."


class Identity(WebhookModel):
    """``identity`` of a ``customer_identity_changed`` system message (its security code changed)."""

    acknowledged: bool | None = None
    created_timestamp: datetime | None = None
    hash: str | None = None


@dataclass(frozen=True, slots=True)
class UserIdentity:
    """Everything an update says about its customer; any part may be missing.

    ``address`` is what to reach them by: the phone number when known, else the BSUID. ``key`` is the
    steadiest id for storing them: the parent BSUID, else the BSUID, else the phone number.
    """

    wa_id: str | None = None
    user_id: str | None = None
    parent_user_id: str | None = None
    username: str | None = None
    name: str | None = None

    @classmethod
    def of(
        cls, contact: WebhookContact | None, *, wa_id: str | None = None, user_id: str | None = None
    ) -> UserIdentity:
        """Merge a ``contacts[]`` entry with the ids the item itself carries (the item's own win)."""
        profile = contact.profile if contact is not None else None
        return cls(
            wa_id=wa_id or (contact.wa_id if contact is not None else None),
            user_id=user_id or (contact.user_id if contact is not None else None),
            parent_user_id=contact.parent_user_id if contact is not None else None,
            username=profile.username if profile is not None else None,
            name=profile.name if profile is not None else None,
        )

    @property
    def address(self) -> str | None:
        """The phone number, else the BSUID (else the parent BSUID)."""
        return self.wa_id or self.user_id or self.parent_user_id

    @property
    def key(self) -> str | None:
        """The parent BSUID, else the BSUID, else the phone number."""
        return self.parent_user_id or self.user_id or self.wa_id

    @property
    def has_phone(self) -> bool:
        """False for a username-only customer whose phone number the business does not see."""
        return bool(self.wa_id)


def is_parent_user_id(value: str | None) -> bool:
    """True for a parent (portfolio-wide) BSUID."""
    return bool(value) and PARENT_MARKER in str(value)
