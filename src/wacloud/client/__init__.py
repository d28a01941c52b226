"""The Cloud API client, in a blocking (:class:`Client`) and an asyncio (:class:`AsyncClient`) flavour.

Both are composed of the same API mixins; each method is written once, in
:mod:`wacloud.client.core`'s generator style, and runs over the flavour's transport.
"""

from __future__ import annotations

from wacloud.client.account import AccountApi
from wacloud.client.aio import AsyncTransport
from wacloud.client.analytics import AnalyticsApi, PricingAnalytics, TemplateAnalytics
from wacloud.client.business_identity import BusinessIdentityApi
from wacloud.client.calling import CallingApi
from wacloud.client.core import DEFAULT_BASE_URL, Request, Response, operation
from wacloud.client.flows import FlowsApi
from wacloud.client.groups import GroupsApi
from wacloud.client.marketing import MarketingApi
from wacloud.client.media import MediaApi
from wacloud.client.messaging import MessagingApi
from wacloud.client.models import ChecksumMismatch, MediaInfo, SentMessage, UnexpectedResponse
from wacloud.client.sync import SyncTransport
from wacloud.client.template_library import TemplateLibraryApi
from wacloud.client.templates import TemplatesApi


class Client(SyncTransport, MessagingApi, MediaApi, TemplatesApi, AccountApi, FlowsApi, CallingApi, GroupsApi,
             MarketingApi, AnalyticsApi, BusinessIdentityApi, TemplateLibraryApi):
    """Blocking Cloud API client. ``Client(token=..., phone_number_id=..., base_url=...)``."""


class AsyncClient(AsyncTransport, MessagingApi, MediaApi, TemplatesApi, AccountApi, FlowsApi, CallingApi,
                  GroupsApi, MarketingApi, AnalyticsApi, BusinessIdentityApi, TemplateLibraryApi):
    """Asyncio Cloud API client, with the same methods as :class:`Client` returning coroutines."""


__all__ = [
    "DEFAULT_BASE_URL", "AsyncClient", "ChecksumMismatch", "Client", "MediaInfo", "PricingAnalytics", "Request",
    "Response", "SentMessage", "TemplateAnalytics", "UnexpectedResponse", "operation",
]
