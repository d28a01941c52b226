"""Account management: business profile, phone numbers, registration, PIN, block users, QR codes, apps."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

import wacloud.errors as errors
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.templates import Page, list_params, parse_answer, success
from wacloud.limits import PROFILE_VERTICALS, limit

_PIN_RE = re.compile(r"^[0-9]{6}$")
_QR_CODE_RE = re.compile(r"^[A-Z2-7]{14}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROFILE_FIELDS = ("about", "address", "description", "email", "profile_picture_url", "websites", "vertical")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class BusinessProfile(_Model):
    """The business profile shown to customers."""

    about: str | None = None
    address: str | None = None
    description: str | None = None
    email: str | None = None
    profile_picture_url: str | None = None
    websites: list[str] = Field(default_factory=list)
    vertical: str | None = None
    messaging_product: str | None = None


class Throughput(_Model):
    """``throughput.level``: STANDARD, HIGH, NOT_APPLICABLE."""

    level: str | None = None


class PhoneNumber(_Model):
    """A business phone number with its quality, throughput level and messaging limit."""

    id: str
    display_phone_number: str | None = None
    verified_name: str | None = None
    quality_rating: str | None = None
    code_verification_status: str | None = None
    platform_type: str | None = None
    name_status: str | None = None
    status: str | None = None
    throughput: Throughput | None = None
    messaging_limit_tier: str | None = None
    whatsapp_business_manager_messaging_limit: str | None = None


class UserResult(_Model):
    """One number of a block/unblock answer: ``input`` as given, ``wa_id`` as resolved."""

    input: str | None = None
    wa_id: str | None = None
    errors: list[dict[str, Any]] | None = None


class BlockResult(_Model):
    """Who was (un)blocked and who failed, with Meta's per-number errors."""

    added_users: list[UserResult] = Field(default_factory=list)
    removed_users: list[UserResult] = Field(default_factory=list)
    failed_users: list[UserResult] = Field(default_factory=list)


class QrCode(_Model):
    """A QR code / short link that opens a chat with a prefilled message."""

    code: str
    prefilled_message: str | None = None
    deep_link_url: str | None = None
    qr_image_url: str | None = None


class SubscribedApp(_Model):
    """An app subscribed to the WABA's webhooks (``whatsapp_business_api_data``: id, name, link)."""

    whatsapp_business_api_data: dict[str, Any] = Field(default_factory=dict)
    override_callback_uri: str | None = None


def _check_len(field: str, key: str, value: str) -> None:
    lim = limit(key)
    if not lim.min <= len(value) <= lim.max:
        raise errors.ValidationError(
            field,
            f"must be {lim.min}–{lim.max} characters",
            size=len(value),
            limit=lim.max if len(value) > lim.max else lim.min,
        )


def profile_update_body(
    *,
    about: str | None = None,
    address: str | None = None,
    description: str | None = None,
    email: str | None = None,
    websites: Sequence[str] | None = None,
    vertical: str | None = None,
    profile_picture_handle: str | None = None,
) -> dict[str, Any]:
    """The ``POST whatsapp_business_profile`` body, checked against the profile limits."""
    body: dict[str, Any] = {"messaging_product": "whatsapp"}
    if about is not None:
        _check_len("about", "profile.about", about)
        body["about"] = about
    if address is not None:
        _check_len("address", "profile.address", address)
        body["address"] = address
    if description is not None:
        _check_len("description", "profile.description", description)
        body["description"] = description
    if email is not None:
        _check_len("email", "profile.email", email)
        if not _EMAIL_RE.match(email):
            raise errors.ValidationError("email", f"{email!r} is not an email address")
        body["email"] = email
    if websites is not None:
        sites = list(websites)
        cap = limit("profile.websites").max
        if len(sites) > cap:
            raise errors.ValidationError("websites", f"at most {cap} websites", size=len(sites), limit=cap)
        for i, site in enumerate(sites):
            _check_len(f"websites[{i}]", "profile.website", site)
            if not site.startswith(("http://", "https://")):
                raise errors.ValidationError(f"websites[{i}]", "must start with http:// or https://")
        body["websites"] = sites
    if vertical is not None:
        if vertical not in PROFILE_VERTICALS:
            raise errors.ValidationError("vertical", f"{vertical!r} is not one of {sorted(PROFILE_VERTICALS)}")
        body["vertical"] = vertical
    if profile_picture_handle is not None:
        if not profile_picture_handle:
            raise errors.ValidationError("profile_picture_handle", "must not be empty")
        body["profile_picture_handle"] = profile_picture_handle
    if len(body) == 1:
        raise errors.ValidationError("profile", "nothing to update")
    return body


def _users(users: Sequence[str]) -> list[dict[str, str]]:
    if isinstance(users, str):
        users = [users]
    lim = limit("block_users.per_request")
    if not lim.min <= len(users) <= lim.max:
        raise errors.ValidationError(
            "block_users",
            f"give {lim.min}–{lim.max} users per request",
            size=len(users),
            limit=lim.max if len(users) > lim.max else lim.min,
        )
    out = []
    for i, user in enumerate(users):
        if not isinstance(user, str) or not user.strip():
            raise errors.ValidationError(f"block_users[{i}].user", "must be a phone number or wa_id")
        out.append({"user": user.strip()})
    return out


def _pin(pin: str, field: str = "pin") -> str:
    if not isinstance(pin, str) or not _PIN_RE.match(pin):
        raise errors.ValidationError(field, "must be exactly 6 digits")
    return pin


def _qr(code: str) -> str:
    if not isinstance(code, str) or not _QR_CODE_RE.match(code):
        raise errors.ValidationError("code", f"{code!r} is not a QR code id (14 characters A-Z, 2-7)")
    return code


def _prefilled(message: str) -> str:
    _check_len("prefilled_message", "qr.prefilled_message", message)
    return message


def _block_result(body: Any) -> BlockResult:
    inner = body.get("block_users") if isinstance(body, Mapping) else None
    return parse_answer(BlockResult, inner if isinstance(inner, Mapping) else {})


class AccountApi(ApiConfig):
    """Account management: business profile, phone numbers, registration, PIN, block users, QR codes, apps."""

    # --- business profile ------------------------------------------------------------------------
    @operation
    def get_business_profile(
        self, *, fields: Sequence[str] = PROFILE_FIELDS, phone_number_id: str | None = None
    ) -> Operation[BusinessProfile]:
        """The business profile of the phone number."""
        pid = self.require_phone(phone_number_id)
        body = yield from call(Request("GET", f"{pid}/whatsapp_business_profile", params={"fields": ",".join(fields)}))
        data = (body or {}).get("data") or [{}]
        item = data[0] if isinstance(data, list) and data else {}
        # The spec's example nests the profile in ``business_profile``; the live API does not.
        if isinstance(item, Mapping) and isinstance(item.get("business_profile"), Mapping):
            item = item["business_profile"]
        return parse_answer(BusinessProfile, item)

    @operation
    def update_business_profile(
        self,
        *,
        about: str | None = None,
        address: str | None = None,
        description: str | None = None,
        email: str | None = None,
        websites: Sequence[str] | None = None,
        vertical: str | None = None,
        profile_picture_handle: str | None = None,
        phone_number_id: str | None = None,
    ) -> Operation[bool]:
        """Update the given profile fields (limits checked locally)."""
        pid = self.require_phone(phone_number_id)
        body = profile_update_body(
            about=about,
            address=address,
            description=description,
            email=email,
            websites=websites,
            vertical=vertical,
            profile_picture_handle=profile_picture_handle,
        )
        answer = yield from call(Request("POST", f"{pid}/whatsapp_business_profile", json=body))
        return success(answer)

    @operation
    def update_profile_picture(
        self,
        file: Path | bytes,
        mime_type: str | None = None,
        *,
        filename: str | None = None,
        phone_number_id: str | None = None,
    ) -> Operation[bool]:
        """Upload an image with the resumable upload API and make it the profile picture."""
        from wacloud.client.templates import TemplatesApi

        handle = yield from TemplatesApi.upload_sample.flow(self, file, mime_type, filename=filename)
        pid = self.require_phone(phone_number_id)
        body = profile_update_body(profile_picture_handle=handle)
        answer = yield from call(Request("POST", f"{pid}/whatsapp_business_profile", json=body))
        return success(answer)

    # --- phone numbers ---------------------------------------------------------------------------
    @operation
    def list_phone_numbers(
        self, *, fields: Sequence[str] | None = None, waba_id: str | None = None
    ) -> Operation[list[PhoneNumber]]:
        """The WABA's phone numbers."""
        waba = self.require_waba(waba_id)
        body = yield from call(
            Request(
                "GET",
                f"{waba}/phone_numbers",
                params=list_params(fields=list(fields) if fields else None) or None,
            )
        )
        return [parse_answer(PhoneNumber, item) for item in parse_answer(Page, body or {}).data]

    @operation
    def get_phone_number(
        self, *, fields: Sequence[str] | None = None, phone_number_id: str | None = None
    ) -> Operation[PhoneNumber]:
        """One phone number (quality, throughput level, messaging limit…)."""
        pid = self.require_phone(phone_number_id)
        body = yield from call(Request("GET", pid, params=list_params(fields=list(fields) if fields else None) or None))
        return parse_answer(PhoneNumber, body or {})

    @operation
    def register(
        self, pin: str, *, data_localization_region: str | None = None, phone_number_id: str | None = None
    ) -> Operation[bool]:
        """Register the number for Cloud API with its two-step PIN (10 attempts per 72 h)."""
        pid = self.require_phone(phone_number_id)
        body: dict[str, Any] = {"messaging_product": "whatsapp", "pin": _pin(pin)}
        if data_localization_region:
            body["data_localization_region"] = data_localization_region
        answer = yield from call(Request("POST", f"{pid}/register", json=body))
        return success(answer)

    @operation
    def deregister(self, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Deregister the number from Cloud API."""
        pid = self.require_phone(phone_number_id)
        answer = yield from call(Request("POST", f"{pid}/deregister", json={}))
        return success(answer)

    @operation
    def request_code(
        self,
        *,
        code_method: Literal["SMS", "VOICE"] = "SMS",
        language: str = "en_US",
        phone_number_id: str | None = None,
    ) -> Operation[bool]:
        """Ask Meta to send the verification code by SMS or voice call."""
        pid = self.require_phone(phone_number_id)
        if code_method not in ("SMS", "VOICE"):
            raise errors.ValidationError("code_method", "must be SMS or VOICE")
        if not re.match(r"^[a-z]{2}_[A-Z]{2}$", language):
            raise errors.ValidationError("language", f"{language!r} is not a locale such as en_US")
        answer = yield from call(
            Request("POST", f"{pid}/request_code", json={"code_method": code_method, "language": language})
        )
        return success(answer)

    @operation
    def verify_code(self, code: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Verify the number with the 6-digit code received."""
        pid = self.require_phone(phone_number_id)
        answer = yield from call(Request("POST", f"{pid}/verify_code", json={"code": _pin(code, "code")}))
        return success(answer)

    @operation
    def set_two_step_pin(self, pin: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Set (or change) the two-step verification PIN; there is no API to turn it off."""
        pid = self.require_phone(phone_number_id)
        answer = yield from call(Request("POST", pid, json={"pin": _pin(pin)}))
        return success(answer)

    @operation
    def set_webhook_override(
        self, override_callback_uri: str, verify_token: str, *, phone_number_id: str | None = None
    ) -> Operation[bool]:
        """Send this number's webhooks to ``override_callback_uri`` instead of the app's callback URL."""
        pid = self.require_phone(phone_number_id)
        if not override_callback_uri.startswith(("https://", "http://")):
            raise errors.ValidationError("override_callback_uri", "must be an http(s) URL")
        if not verify_token:
            raise errors.ValidationError("verify_token", "is required")
        body = {"webhook_configuration": {"override_callback_uri": override_callback_uri, "verify_token": verify_token}}
        answer = yield from call(Request("POST", pid, json=body))
        return success(answer)

    # --- block users -----------------------------------------------------------------------------
    @operation
    def block_users(self, users: Sequence[str], *, phone_number_id: str | None = None) -> Operation[BlockResult]:
        """Block up to 1,000 users (only ones who messaged in the last 24 h can be blocked)."""
        pid = self.require_phone(phone_number_id)
        body = {"messaging_product": "whatsapp", "block_users": _users(users)}
        answer = yield from call(Request("POST", f"{pid}/block_users", json=body))
        return _block_result(answer)

    @operation
    def unblock_users(self, users: Sequence[str], *, phone_number_id: str | None = None) -> Operation[BlockResult]:
        """Unblock up to 1,000 users."""
        pid = self.require_phone(phone_number_id)
        body = {"messaging_product": "whatsapp", "block_users": _users(users)}
        answer = yield from call(Request("DELETE", f"{pid}/block_users", json=body))
        return _block_result(answer)

    @operation
    def list_blocked_users(
        self, *, limit: int | None = None, after: str | None = None, phone_number_id: str | None = None
    ) -> Operation[Page]:
        """One page of blocked users (``data[].wa_id``)."""
        pid = self.require_phone(phone_number_id)
        body = yield from call(
            Request("GET", f"{pid}/block_users", params=list_params(limit=limit, after=after) or None)
        )
        return parse_answer(Page, body or {})

    # --- QR codes --------------------------------------------------------------------------------
    @operation
    def create_qr(
        self,
        prefilled_message: str,
        *,
        generate_qr_image: Literal["SVG", "PNG"] | None = None,
        phone_number_id: str | None = None,
    ) -> Operation[QrCode]:
        """Create a QR code / short link with a prefilled message (≤ 140 characters)."""
        pid = self.require_phone(phone_number_id)
        body: dict[str, Any] = {"prefilled_message": _prefilled(prefilled_message)}
        if generate_qr_image is not None:
            if generate_qr_image not in ("SVG", "PNG"):
                raise errors.ValidationError("generate_qr_image", "must be SVG or PNG")
            body["generate_qr_image"] = generate_qr_image
        answer = yield from call(Request("POST", f"{pid}/message_qrdls", json=body))
        return parse_answer(QrCode, answer)

    @operation
    def update_qr(self, code: str, prefilled_message: str, *, phone_number_id: str | None = None) -> Operation[QrCode]:
        """Change a QR code's prefilled message."""
        pid = self.require_phone(phone_number_id)
        body = {"code": _qr(code), "prefilled_message": _prefilled(prefilled_message)}
        answer = yield from call(Request("POST", f"{pid}/message_qrdls", json=body))
        return parse_answer(QrCode, answer)

    @operation
    def list_qr(
        self, *, generate_qr_image: Literal["SVG", "PNG"] | None = None, phone_number_id: str | None = None
    ) -> Operation[list[QrCode]]:
        """The number's QR codes (with image URLs when ``generate_qr_image`` is given)."""
        pid = self.require_phone(phone_number_id)
        fields = "code,prefilled_message,deep_link_url" + (
            f",qr_image_url.format({generate_qr_image})" if generate_qr_image else ""
        )
        body = yield from call(Request("GET", f"{pid}/message_qrdls", params={"fields": fields}))
        return [parse_answer(QrCode, item) for item in parse_answer(Page, body or {}).data]

    @operation
    def get_qr(self, code: str, *, phone_number_id: str | None = None) -> Operation[QrCode]:
        """One QR code."""
        pid = self.require_phone(phone_number_id)
        body = yield from call(Request("GET", f"{pid}/message_qrdls/{_qr(code)}"))
        data = parse_answer(Page, body or {}).data
        if not data:
            raise errors.ValidationError("code", f"no QR code {code!r}")
        return parse_answer(QrCode, data[0])

    @operation
    def delete_qr(self, code: str, *, phone_number_id: str | None = None) -> Operation[bool]:
        """Delete a QR code."""
        pid = self.require_phone(phone_number_id)
        answer = yield from call(Request("DELETE", f"{pid}/message_qrdls/{_qr(code)}"))
        return success(answer)

    # --- subscribed apps -------------------------------------------------------------------------
    @operation
    def list_subscribed_apps(self, *, waba_id: str | None = None) -> Operation[list[SubscribedApp]]:
        """Apps subscribed to the WABA's webhooks."""
        waba = self.require_waba(waba_id)
        body = yield from call(Request("GET", f"{waba}/subscribed_apps"))
        return [parse_answer(SubscribedApp, item) for item in parse_answer(Page, body or {}).data]

    @operation
    def subscribe_app(
        self,
        *,
        override_callback_uri: str | None = None,
        verify_token: str | None = None,
        waba_id: str | None = None,
    ) -> Operation[bool]:
        """Subscribe this app to the WABA's webhooks, optionally overriding the callback URL for this WABA."""
        waba = self.require_waba(waba_id)
        body: dict[str, Any] = {}
        if override_callback_uri is not None:
            if not override_callback_uri.startswith("https://") and not override_callback_uri.startswith("http://"):
                raise errors.ValidationError("override_callback_uri", "must be an http(s) URL")
            if not verify_token:
                raise errors.ValidationError("verify_token", "is required with override_callback_uri")
            body = {"override_callback_uri": override_callback_uri, "verify_token": verify_token}
        answer = yield from call(Request("POST", f"{waba}/subscribed_apps", json=body))
        return success(answer)

    @operation
    def unsubscribe_app(self, *, waba_id: str | None = None) -> Operation[bool]:
        """Unsubscribe this app from the WABA's webhooks."""
        waba = self.require_waba(waba_id)
        answer = yield from call(Request("DELETE", f"{waba}/subscribed_apps"))
        return success(answer)
