"""Account management: business profile, phone numbers, registration, PIN, block users, QR codes, subscribed apps."""

from __future__ import annotations

from wacloud.client.core import ApiConfig


class AccountApi(ApiConfig):
    """Account management: business profile, phone numbers, registration, PIN, block users, QR codes, subscribed apps."""
