"""Outgoing messages: typed models for every send body, their limits, and raw bodies both ways.

Build a message (``Text("hi")``, ``ReplyButtons(body=..., buttons=[...])``, ``Template("name", "en_US",
body=[...])``), wrap it in :class:`SendRequest` and call ``to_graph()`` for the exact Graph body; or
``parse(body)`` a raw body into the same models. Every documented limit is checked at construction and
raises :class:`wacloud.errors.ValidationError` (field, size, limit). See :mod:`wacloud.messages.parse`
for how raw bodies are read.
"""

from .commerce import (
    Amount,
    CallPermissionRequest,
    Catalog,
    OrderDetails,
    OrderStatus,
    Product,
    ProductItem,
    ProductList,
    ProductSection,
)
from .contacts import Address, Contact, Contacts, Email, Name, Org, Phone, Url
from .envelope import MESSAGE_TYPES, MarkRead, Message, SendRequest
from .interactive import (
    Body,
    ButtonsAction,
    CtaUrl,
    FlowMessage,
    Footer,
    Header,
    Interactive,
    ListMessage,
    LocationRequest,
    Reply,
    ReplyButton,
    ReplyButtons,
    Row,
    Section,
)
from .location import Location
from .marketing import PRODUCT_POLICIES, MarketingMessage, ProductPolicy
from .media import Audio, Document, Image, MediaSource, Sticker, Video
from .parse import CONTENT_TYPES, INTERACTIVE_TYPES, parse, parse_any, parse_mark_read, parse_message
from .reaction import Reaction
from .template import (
    ActionParameter,
    BodyComponent,
    ButtonComponent,
    Card,
    CarouselComponent,
    CouponCodeParameter,
    Currency,
    CurrencyParameter,
    DateTime,
    DateTimeParameter,
    DocumentParameter,
    DocumentSource,
    HeaderComponent,
    ImageParameter,
    Language,
    LimitedTimeOfferComponent,
    LimitedTimeOfferParameter,
    LimitedTimeOfferValue,
    LocationParameter,
    PayloadParameter,
    ProductParameter,
    ProductRef,
    Template,
    TemplateAction,
    TextParameter,
    VideoParameter,
)
from .text import Text

__all__ = [
    "CONTENT_TYPES", "INTERACTIVE_TYPES", "MESSAGE_TYPES", "PRODUCT_POLICIES",
    "ActionParameter", "Address", "Amount", "Audio", "Body", "BodyComponent", "ButtonComponent", "ButtonsAction",
    "CallPermissionRequest", "Card", "CarouselComponent", "Catalog", "Contact", "Contacts", "CouponCodeParameter",
    "CtaUrl", "Currency", "CurrencyParameter", "DateTime", "DateTimeParameter", "Document", "DocumentParameter",
    "DocumentSource", "Email", "FlowMessage", "Footer", "Header", "HeaderComponent", "Image", "ImageParameter",
    "Interactive", "Language", "LimitedTimeOfferComponent", "LimitedTimeOfferParameter", "LimitedTimeOfferValue",
    "ListMessage", "Location", "LocationParameter", "LocationRequest", "MarkRead", "MarketingMessage",
    "MediaSource", "Message", "Name", "OrderDetails", "OrderStatus", "Org", "PayloadParameter", "Phone", "Product",
    "ProductItem", "ProductList", "ProductParameter", "ProductPolicy", "ProductRef", "ProductSection", "Reaction",
    "Reply", "ReplyButton", "ReplyButtons", "Row", "Section", "SendRequest", "Sticker", "Template",
    "TemplateAction", "Text", "TextParameter", "Url", "Video", "VideoParameter",
    "parse", "parse_any", "parse_mark_read", "parse_message",
]
