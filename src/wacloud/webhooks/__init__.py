"""Webhooks: verified, typed, de-duplicated, durable updates, and a bot framework on them.

``parse(body) -> list[Update]`` is the stable entry point; :class:`WebhookReceiver` is the
framework-free receiver, :class:`WebhookApp` / :class:`WSGIApp` its ASGI and WSGI adapters, and
:class:`Application` the decorator-based bot framework (with :mod:`wacloud.webhooks.filters`).
Names are imported on first use so ``wacloud.webhooks.signature`` stays cheap for the sandbox.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "parse": "wacloud.webhooks.parsing",
    "KNOWN_FIELDS": "wacloud.webhooks.parsing",
    "WebhookReceiver": "wacloud.webhooks.receiver",
    "Delivery": "wacloud.webhooks.receiver",
    "Dispatcher": "wacloud.webhooks.receiver",
    "WebhookApp": "wacloud.webhooks.asgi",
    "create_app": "wacloud.webhooks.asgi",
    "route": "wacloud.webhooks.asgi",
    "WSGIApp": "wacloud.webhooks.wsgi",
    "Application": "wacloud.webhooks.application",
    "StopPropagation": "wacloud.webhooks.application",
    "ContinuePropagation": "wacloud.webhooks.application",
    "DedupStore": "wacloud.webhooks.store",
    "InboxStore": "wacloud.webhooks.store",
    "MemoryDedupStore": "wacloud.webhooks.store",
    "MemoryInboxStore": "wacloud.webhooks.store",
    "sign": "wacloud.webhooks.signature",
    "verify": "wacloud.webhooks.signature",
    "UserIdentity": "wacloud.webhooks.identity",
    **dict.fromkeys(("CallUpdate", "CallStatusUpdate"), "wacloud.webhooks.calls"),
    **dict.fromkeys(("GroupLifecycleUpdate", "GroupParticipantsUpdate", "GroupSettingsUpdate",
                     "GroupStatusUpdate"), "wacloud.webhooks.groups"),
    **{
        name: "wacloud.webhooks.updates"
        for name in (
            "Update", "MessageUpdate", "StatusUpdate", "ErrorUpdate", "TemplateStatusUpdate",
            "TemplateQualityUpdate", "TemplateCategoryUpdate", "AccountUpdate", "PhoneNumberQualityUpdate",
            "UserPreferencesUpdate", "MessageEchoUpdate", "GroupUpdate", "RawUpdate", "BoundMedia", "ValueUpdate",
            "NotBoundError", "TemplateComponentsUpdate", "AccountAlertUpdate", "AccountReviewUpdate",
            "BusinessCapabilityUpdate", "PhoneNumberNameUpdate", "SecurityUpdate", "PaymentConfigurationUpdate",
            "FlowUpdate", "AutomaticEventUpdate", "HistoryUpdate", "StateSyncUpdate",
        )
    },
}

if TYPE_CHECKING:
    from wacloud.webhooks.application import Application, ContinuePropagation, StopPropagation
    from wacloud.webhooks.asgi import WebhookApp, create_app, route
    from wacloud.webhooks.identity import UserIdentity
    from wacloud.webhooks.parsing import KNOWN_FIELDS, parse
    from wacloud.webhooks.receiver import Delivery, Dispatcher, WebhookReceiver
    from wacloud.webhooks.signature import sign, verify
    from wacloud.webhooks.store import DedupStore, InboxStore, MemoryDedupStore, MemoryInboxStore
    from wacloud.webhooks.updates import (
        AccountAlertUpdate,
        AccountReviewUpdate,
        AccountUpdate,
        AutomaticEventUpdate,
        BoundMedia,
        BusinessCapabilityUpdate,
        ErrorUpdate,
        FlowUpdate,
        GroupUpdate,
        HistoryUpdate,
        MessageEchoUpdate,
        MessageUpdate,
        NotBoundError,
        PaymentConfigurationUpdate,
        PhoneNumberNameUpdate,
        PhoneNumberQualityUpdate,
        RawUpdate,
        SecurityUpdate,
        StateSyncUpdate,
        StatusUpdate,
        TemplateCategoryUpdate,
        TemplateComponentsUpdate,
        TemplateQualityUpdate,
        TemplateStatusUpdate,
        Update,
        UserPreferencesUpdate,
        ValueUpdate,
    )
    from wacloud.webhooks.wsgi import WSGIApp


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wacloud.webhooks' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "KNOWN_FIELDS",
    "AccountAlertUpdate",
    "AccountReviewUpdate",
    "AccountUpdate",
    "Application",
    "AutomaticEventUpdate",
    "BoundMedia",
    "BusinessCapabilityUpdate",
    "ContinuePropagation",
    "DedupStore",
    "Delivery",
    "Dispatcher",
    "ErrorUpdate",
    "FlowUpdate",
    "GroupUpdate",
    "HistoryUpdate",
    "InboxStore",
    "MemoryDedupStore",
    "MemoryInboxStore",
    "MessageEchoUpdate",
    "MessageUpdate",
    "NotBoundError",
    "PaymentConfigurationUpdate",
    "PhoneNumberNameUpdate",
    "PhoneNumberQualityUpdate",
    "RawUpdate",
    "SecurityUpdate",
    "StateSyncUpdate",
    "StatusUpdate",
    "StopPropagation",
    "TemplateCategoryUpdate",
    "TemplateComponentsUpdate",
    "TemplateQualityUpdate",
    "TemplateStatusUpdate",
    "Update",
    "UserIdentity",
    "UserPreferencesUpdate",
    "ValueUpdate",
    "WSGIApp",
    "WebhookApp",
    "WebhookReceiver",
    "create_app",
    "parse",
    "route",
    "sign",
    "verify",
]
