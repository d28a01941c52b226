"""Webhooks: verified, typed, de-duplicated, durable updates.

``parse(body) -> list[Update]`` is the stable entry point; :class:`WebhookReceiver` is the
framework-free receiver, :class:`WebhookApp` / :class:`WSGIApp` its ASGI and WSGI adapters. The bot
framework (``Application``, ``filters``, routers) is :mod:`wacloud.bot`; its old names here still
work for one release, with a ``DeprecationWarning``.
Names are imported on first use so ``wacloud.webhooks.signature`` stays cheap for the sandbox.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from wacloud._deprecation import renamed

_EXPORTS: dict[str, str] = {
    "parse": "wacloud.webhooks.parsing",
    "KNOWN_FIELDS": "wacloud.webhooks.parsing",
    "WebhookReceiver": "wacloud.webhooks.receiver",
    "ReceivedPayload": "wacloud.webhooks.received",
    "Dispatcher": "wacloud.webhooks.received",
    "WebhookApp": "wacloud.webhooks.asgi",
    "create_webhook_app": "wacloud.webhooks.asgi",
    "route": "wacloud.webhooks.asgi",
    "WSGIApp": "wacloud.webhooks.wsgi",
    "ReplySender": "wacloud.webhooks.replies",
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
            "FlowUpdate", "AutomaticEventUpdate", "HistoryUpdate", "StateSyncUpdate", "PartnerSolutionUpdate",
        )
    },
}

if TYPE_CHECKING:
    from wacloud.webhooks.asgi import WebhookApp, create_webhook_app, route
    from wacloud.webhooks.calls import CallStatusUpdate, CallUpdate
    from wacloud.webhooks.groups import (
        GroupLifecycleUpdate,
        GroupParticipantsUpdate,
        GroupSettingsUpdate,
        GroupStatusUpdate,
    )
    from wacloud.webhooks.identity import UserIdentity
    from wacloud.webhooks.parsing import KNOWN_FIELDS, parse
    from wacloud.webhooks.received import Dispatcher, ReceivedPayload
    from wacloud.webhooks.receiver import WebhookReceiver
    from wacloud.webhooks.replies import ReplySender
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
        PartnerSolutionUpdate,
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


#: Bot-framework names that moved to :mod:`wacloud.bot` (kept here for one release, with a warning).
_MOVED_TO_BOT = frozenset({"Application", "StopPropagation", "ContinuePropagation", "filters"})
#: Names renamed so that each means one thing (kept for one release, with a warning): a received POST is not
#: the :mod:`wacloud.delivery` engine, and the gateway and the sandbox have their own ``create_app``.
_RENAMED = {"Delivery": "ReceivedPayload", "create_app": "create_webhook_app"}


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_BOT:
        return _moved(name)
    if name in _RENAMED:
        return renamed(__name__, name, _RENAMED, __getattr__)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wacloud.webhooks' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def _moved(name: str) -> Any:
    import warnings

    # An upward import on purpose: the deprecated alias must hand out the bot framework's own object.
    from wacloud import bot

    warnings.warn(f"wacloud.webhooks.{name} moved to wacloud.bot.{name}; import it from wacloud.bot "
                  "(the old name goes away in the next release)", DeprecationWarning, stacklevel=3)
    return getattr(bot, name)


__all__ = [
    "KNOWN_FIELDS",
    "AccountAlertUpdate",
    "AccountReviewUpdate",
    "AccountUpdate",
    "AutomaticEventUpdate",
    "BoundMedia",
    "BusinessCapabilityUpdate",
    "CallStatusUpdate",
    "CallUpdate",
    "DedupStore",
    "Dispatcher",
    "ErrorUpdate",
    "FlowUpdate",
    "GroupLifecycleUpdate",
    "GroupParticipantsUpdate",
    "GroupSettingsUpdate",
    "GroupStatusUpdate",
    "GroupUpdate",
    "HistoryUpdate",
    "InboxStore",
    "MemoryDedupStore",
    "MemoryInboxStore",
    "MessageEchoUpdate",
    "MessageUpdate",
    "NotBoundError",
    "PartnerSolutionUpdate",
    "PaymentConfigurationUpdate",
    "PhoneNumberNameUpdate",
    "PhoneNumberQualityUpdate",
    "RawUpdate",
    "ReceivedPayload",
    "ReplySender",
    "SecurityUpdate",
    "StateSyncUpdate",
    "StatusUpdate",
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
    "create_webhook_app",
    "parse",
    "route",
    "sign",
    "verify",
]
