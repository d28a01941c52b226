"""Models of the account-level webhook fields, whose change ``value`` is one event.

Templates (status, quality, category, components), the account (updates, alerts, review, capabilities),
the business number (quality, display name, security), payments and Flows. Field names are Meta's own;
unknown keys are kept. Integer limits arrive as numbers; timestamps become UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from wacloud.webhooks.base import InfoModel, WebhookModel

# --- templates ----------------------------------------------------------------------------------


class DisableInfo(InfoModel):
    """``disable_info`` of a disabled template: when it was disabled."""

    disable_date: str | None = None


class OtherInfo(InfoModel):
    """``other_info`` of a paused or unpaused template: FIRST_PAUSE, SECOND_PAUSE, UNPAUSE… and why."""

    title: str | None = None
    description: str | None = None


class RejectionInfo(InfoModel):
    """``rejection_info`` of a template rejected for its format: the reason and Meta's recommendation."""

    reason: str | None = None
    recommendation: str | None = None


class TemplateStatus(WebhookModel):
    """``message_template_status_update``: a template was approved, rejected, paused, disabled…"""

    event: str
    message_template_id: int | str | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    message_template_category: str | None = None
    reason: str | None = None
    disable_info: DisableInfo | None = None
    other_info: OtherInfo | None = None
    rejection_info: RejectionInfo | None = None


class TemplateQuality(WebhookModel):
    """``message_template_quality_update``: a template's quality score changed."""

    message_template_id: int | str | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    previous_quality_score: str | None = None
    new_quality_score: str


class TemplateCategory(WebhookModel):
    """``template_category_update``: a template's category changed or is about to."""

    message_template_id: int | str | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    previous_category: str | None = None
    new_category: str | None = None
    correct_category: str | None = None


class TemplateButton(WebhookModel):
    """A URL or phone-number button of an edited template."""

    message_template_button_type: str | None = None
    message_template_button_text: str | None = None
    message_template_button_url: str | None = None
    message_template_button_phone_number: str | None = None


class TemplateComponents(WebhookModel):
    """``message_template_components_update``: a template was edited; its new body, header, footer, buttons."""

    message_template_id: int | str | None = None
    message_template_name: str | None = None
    message_template_language: str | None = None
    #: The body text.
    message_template_element: str | None = None
    #: The text header, when the template has one.
    message_template_title: str | None = None
    message_template_footer: str | None = None
    message_template_buttons: list[TemplateButton] = Field(default_factory=list)


# --- the account --------------------------------------------------------------------------------


class WabaInfo(InfoModel):
    """``waba_info``: the account a partner event is about (shared, unshared, onboarded to a solution)."""

    waba_id: str | None = None
    owner_business_id: str | None = None
    partner_app_id: str | None = None
    solution_id: str | None = None
    solution_partner_business_ids: list[str] = Field(default_factory=list)


class BanInfo(InfoModel):
    """``ban_info``: the ban state(s) of the account and when the ban applies."""

    waba_ban_state: list[str] | str | None = None
    waba_ban_date: str | None = None


class ViolationInfo(InfoModel):
    """``violation_info``: which policy the account violated."""

    violation_type: str | None = None


class Restriction(InfoModel):
    """One ``restriction_info[]`` item: what the account may not do (add numbers, initiate chats…) until when."""

    restriction_type: str | None = None
    #: As Meta sends it (e.g. ``2026-04-19T13:59:20+0000``).
    expiration: str | None = None


class DisconnectionInfo(InfoModel):
    """``disconnection_info`` of an offboarding: why, and who started it."""

    reason: str | None = None
    initiated_by: str | None = None


class CountryStart(WebhookModel):
    """A country and when the authentication-international rate starts there."""

    country_code: str | None = None
    start_time: datetime | None = None


class AuthIntlEligibility(InfoModel):
    """``auth_international_rate_eligibility``: when the authentication-international rate applies."""

    start_time: datetime | None = None
    exception_countries: list[CountryStart] = Field(default_factory=list)


class ClientCertification(InfoModel):
    """``partner_client_certification_info``: a partner-led business verification's outcome."""

    client_business_id: str | None = None
    status: str | None = None
    rejection_reasons: list[str] = Field(default_factory=list)


class AccountEvent(WebhookModel):
    """``account_update``: WABA-level events (bans, restrictions, violations, partner changes, offboarding,
    verification, authentication-international eligibility, primary business location)."""

    event: str
    phone_number: str | None = None
    waba_info: WabaInfo | None = None
    ban_info: BanInfo | None = None
    violation_info: ViolationInfo | None = None
    restriction_info: list[Restriction] = Field(default_factory=list)
    disconnection_info: DisconnectionInfo | None = None
    auth_international_rate_eligibility: AuthIntlEligibility | None = None
    partner_client_certification_info: ClientCertification | None = None
    primary_business_location: str | None = None


class AlertInfo(WebhookModel):
    """``alert_info`` of an account alert."""

    alert_severity: str | None = None
    alert_status: str | None = None
    alert_type: str | None = None
    alert_description: str | None = None


class AccountAlert(WebhookModel):
    """``account_alerts``: messaging-limit increase decisions, Official Business Account status, profile photo."""

    entity_type: str | None = None
    entity_id: str | None = None
    alert_info: AlertInfo | None = None


class AccountReview(WebhookModel):
    """``account_review_update``: the outcome of the WhatsApp Business Account's review."""

    decision: str


class BusinessCapability(WebhookModel):
    """``business_capability_update``: messaging and phone-number limits of the account or portfolio.

    A limit of -1 means unlimited. ``max_daily_conversation_per_phone`` is Meta's older name, kept while
    Meta still sends it.
    """

    max_daily_conversation_per_phone: int | None = None
    max_daily_conversations_per_business: int | str | None = None
    max_phone_numbers_per_business: int | None = None
    max_phone_numbers_per_waba: int | None = None


# --- the business number ------------------------------------------------------------------------


class PhoneNumberQuality(WebhookModel):
    """``phone_number_quality_update``: the number's messaging limit / throughput changed."""

    event: str
    display_phone_number: str | None = None
    current_limit: str | None = None
    old_limit: str | None = None
    max_daily_conversations_per_business: str | None = None


class PhoneNumberName(WebhookModel):
    """``phone_number_name_update``: the outcome of a display-name review (APPROVED, DEFERRED, REJECTED…)."""

    display_phone_number: str | None = None
    decision: str | None = None
    requested_verified_name: str | None = None
    rejection_reason: str | None = None


class SecurityEvent(WebhookModel):
    """``security``: the number's two-step verification PIN was changed, reset or turned off."""

    display_phone_number: str | None = None
    event: str
    #: The Meta Business Suite user who did it.
    requester: str | None = None


# --- payments, Flows ----------------------------------------------------------------------------


class PaymentConfiguration(WebhookModel):
    """``payment_configuration_update``: a payment configuration was connected, disconnected or activated."""

    configuration_name: str | None = None
    provider_name: str | None = None
    provider_mid: str | None = None
    status: str | None = None
    created_timestamp: datetime | None = None
    updated_timestamp: datetime | None = None


class FlowErrorRate(InfoModel):
    """One ``errors[]`` item of a Flow endpoint alert: an error type, its rate (%) and count."""

    error_type: str | None = None
    error_rate: float | None = None
    error_count: int | None = None


class FlowEvent(WebhookModel):
    """``flows``: a Flow changed status, or its endpoint's error rate, latency or availability crossed a threshold.

    ``event`` says which (FLOW_STATUS_CHANGE, CLIENT_ERROR_RATE, ENDPOINT_ERROR_RATE, ENDPOINT_LATENCY,
    ENDPOINT_AVAILABILITY, FLOW_VERSION_EXPIRY_WARNING…); the other keys depend on it.
    """

    event: str
    message: str | None = None
    flow_id: str | None = None
    old_status: str | None = None
    new_status: str | None = None
    alert_state: str | None = None
    threshold: float | None = None
    error_rate: float | None = None
    availability: float | None = None
    p50_latency: float | None = None
    p90_latency: float | None = None
    requests_count: int | None = None
    errors: list[FlowErrorRate] = Field(default_factory=list)


class AutomaticEventData(WebhookModel):
    """``custom_data`` of a purchase event: its value and currency."""

    currency: str | None = None
    value: float | None = None


class AutomaticEvent(WebhookModel):
    """``automatic_events[]``: a purchase or lead Meta detected in a chat that began from a Click to WhatsApp ad."""

    #: The id of the message in which the event was detected.
    id: str
    event_name: str
    timestamp: datetime | None = None
    ctwa_clid: str | None = None
    custom_data: AutomaticEventData | None = None


# --- solution partners --------------------------------------------------------------------------


class PartnerSolution(WebhookModel):
    """``partner_solutions``: a Multi-Partner Solution was created, changed status or was deactivated.

    ``event`` is what happened (SOLUTION_CREATED, SOLUTION_UPDATED…); ``solution_status`` the state it is
    in now (DRAFT, INITIATED, ACTIVE, REJECTED, PENDING_DEACTIVATION, DEACTIVATED). The entry id of this
    field is the business portfolio, not a WhatsApp Business Account.
    """

    event: str
    solution_id: str
    solution_status: str | None = None
