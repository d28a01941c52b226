"""Template messages: an approved template by name and language, with component parameters.

Components are ``header``, ``body``, ``button`` (sub_type quick_reply, url, copy_code, flow, catalog, …;
any case accepted, sent lower-case; ``index`` 0–9, a number accepted, sent as a string),
``limited_time_offer`` and ``carousel`` (cards with their own components). Parameters may be positional
or named (``parameter_name``) but not both in one component.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Discriminator, JsonValue, Tag, field_validator, model_validator

from wacloud.errors import ValidationError
from wacloud.limits import limit

from ._base import WaModel, check_count, check_length, check_not_blank, join, shortcuts, tag_of
from .commerce import ProductSection
from .location import Location
from .media import MediaSource

_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")

#: Button sub_types Meta documents for sending; compared lower-case.
BUTTON_SUB_TYPES: frozenset[str] = frozenset(
    {"quick_reply", "url", "copy_code", "flow", "catalog", "mpm", "spm", "voice_call", "order_details"}
)


class Language(WaModel):
    """The template's language: ``code`` such as ``en_US``; ``policy`` is only ever "deterministic"."""

    code: str
    policy: Literal["deterministic"] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_not_blank("code", self.code)
        return self


class Currency(WaModel):
    """A money amount: ``amount_1000`` is the amount times 1000; ``fallback_value`` the text shown."""

    fallback_value: str
    code: str
    amount_1000: int


class DateTime(WaModel):
    """A date/time; Cloud API always shows ``fallback_value``, the parts are accepted for old bodies."""

    fallback_value: str
    calendar: str | None = None
    year: int | None = None
    month: int | None = None
    day_of_month: int | None = None
    day_of_week: int | None = None
    hour: int | None = None
    minute: int | None = None


class DocumentSource(MediaSource):
    """A template document (PDF) by id or link, with an optional ``filename``."""

    filename: str | None = None

    @model_validator(mode="after")
    def _filename(self) -> Self:
        check_length("filename", self.filename, "document.filename")
        return self


class LimitedTimeOfferValue(WaModel):
    """When the offer ends, in Unix milliseconds."""

    expiration_time_ms: int


class ProductRef(WaModel):
    """A catalog product shown in a template header."""

    product_retailer_id: str
    catalog_id: str | None = None


class TemplateAction(WaModel):
    """What a flow, catalog or multi-product button carries."""

    flow_token: str | None = None
    flow_action_data: dict[str, JsonValue] | None = None
    thumbnail_product_retailer_id: str | None = None
    sections: list[ProductSection] | None = None


class _Param(WaModel):
    parameter_name: str | None = None

    @model_validator(mode="after")
    def _name(self) -> Self:
        check_not_blank("parameter_name", self.parameter_name)
        return self


class TextParameter(_Param):
    """Text for a ``{{1}}`` or ``{{name}}`` placeholder (or a URL button's suffix)."""

    type: Literal["text"] = "text"
    text: str

    @model_validator(mode="after")
    def _length(self) -> Self:
        check_length("text", self.text, "template.parameter.text")
        return self


class CurrencyParameter(_Param):
    """A currency placeholder value."""

    type: Literal["currency"] = "currency"
    currency: Currency


class DateTimeParameter(_Param):
    """A date/time placeholder value."""

    type: Literal["date_time"] = "date_time"
    date_time: DateTime


class ImageParameter(_Param):
    """The image of a media header."""

    type: Literal["image"] = "image"
    image: MediaSource


class VideoParameter(_Param):
    """The video of a media header."""

    type: Literal["video"] = "video"
    video: MediaSource


class DocumentParameter(_Param):
    """The document (PDF) of a media header."""

    type: Literal["document"] = "document"
    document: DocumentSource


class LocationParameter(_Param):
    """The pin of a location header."""

    type: Literal["location"] = "location"
    location: Location


class ProductParameter(_Param):
    """The product of a product header."""

    type: Literal["product"] = "product"
    product: ProductRef


class PayloadParameter(_Param):
    """What a quick-reply button sends back."""

    type: Literal["payload"] = "payload"
    payload: str


class CouponCodeParameter(_Param):
    """The code a copy-code button copies."""

    type: Literal["coupon_code"] = "coupon_code"
    coupon_code: str


class ActionParameter(_Param):
    """The flow token / catalog thumbnail / product sections of a button."""

    type: Literal["action"] = "action"
    action: TemplateAction


class LimitedTimeOfferParameter(_Param):
    """When a limited-time offer ends."""

    type: Literal["limited_time_offer"] = "limited_time_offer"
    limited_time_offer: LimitedTimeOfferValue


Parameter = Annotated[
    Annotated[TextParameter, Tag("<text>")]
    | Annotated[CurrencyParameter, Tag("<currency>")]
    | Annotated[DateTimeParameter, Tag("<date_time>")]
    | Annotated[ImageParameter, Tag("<image>")]
    | Annotated[VideoParameter, Tag("<video>")]
    | Annotated[DocumentParameter, Tag("<document>")]
    | Annotated[LocationParameter, Tag("<location>")]
    | Annotated[ProductParameter, Tag("<product>")]
    | Annotated[PayloadParameter, Tag("<payload>")]
    | Annotated[CouponCodeParameter, Tag("<coupon_code>")]
    | Annotated[ActionParameter, Tag("<action>")]
    | Annotated[LimitedTimeOfferParameter, Tag("<limited_time_offer>")],
    Discriminator(tag_of("type")),
]


def _check_parameters(parameters: Sequence[_Param], allowed: frozenset[str], where: str) -> None:
    """Only ``allowed`` parameter types; positional and named parameters are not mixed."""
    for i, param in enumerate(parameters):
        kind = getattr(param, "type", "")
        if kind not in allowed:
            raise ValidationError(join("parameters", i, "type"),
                                  f"{kind!r} parameters are not allowed in a {where} component")
    named = [p.parameter_name is not None for p in parameters]
    if any(named) and not all(named):
        raise ValidationError("parameters", "mixes named (parameter_name) and positional parameters")


class HeaderComponent(WaModel):
    """Header parameters: one text, image, video, document, location or product."""

    type: Literal["header"] = "header"
    parameters: list[Parameter]

    @model_validator(mode="after")
    def _check(self) -> Self:
        allowed = frozenset({"text", "image", "video", "document", "location", "product"})
        _check_parameters(self.parameters, allowed, "header")
        return self


class BodyComponent(WaModel):
    """Body parameters: text, currency and date_time, in placeholder order or by name."""

    type: Literal["body"] = "body"
    parameters: list[Parameter] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_parameters(self.parameters or [], frozenset({"text", "currency", "date_time"}), "body")
        return self


class ButtonComponent(WaModel):
    """The parameters of the template's button at ``index`` (0–9)."""

    type: Literal["button"] = "button"
    sub_type: str
    index: str
    parameters: list[Parameter] | None = None

    @field_validator("sub_type", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        # pywa and older examples send "QUICK_REPLY"/"CATALOG"; Meta accepts any case.
        return value.lower() if isinstance(value, str) else value

    @field_validator("index", mode="before")
    @classmethod
    def _index_text(cls, value: Any) -> Any:
        # The spec types index as a string; examples also send a bare number.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.sub_type not in BUTTON_SUB_TYPES:
            raise ValidationError("sub_type", f"unknown button sub_type {self.sub_type!r}")
        bound = limit("template.button.index").max
        if not (self.index.isascii() and self.index.isdigit()) or int(self.index) > bound:
            raise ValidationError("index", f"must be a button position 0..{bound}", limit=bound)
        allowed = frozenset({"payload", "text", "coupon_code", "action"})
        _check_parameters(self.parameters or [], allowed, "button")
        return self

    @classmethod
    def quick_reply(cls, index: int, payload: str) -> ButtonComponent:
        """A quick-reply button's payload."""
        return cls(sub_type="quick_reply", index=str(index), parameters=[PayloadParameter(payload=payload)])

    @classmethod
    def url(cls, index: int, text: str) -> ButtonComponent:
        """The suffix appended to a dynamic URL button's URL."""
        return cls(sub_type="url", index=str(index), parameters=[TextParameter(text=text)])

    @classmethod
    def copy_code(cls, index: int, coupon_code: str) -> ButtonComponent:
        """The code a copy-code button copies."""
        return cls(sub_type="copy_code", index=str(index),
                   parameters=[CouponCodeParameter(coupon_code=coupon_code)])

    @classmethod
    def flow(cls, index: int, *, flow_token: str | None = None,
             flow_action_data: Mapping[str, JsonValue] | None = None) -> ButtonComponent:
        """A flow button's token and first-screen data."""
        data = dict(flow_action_data) if flow_action_data is not None else None
        action = TemplateAction(flow_token=flow_token, flow_action_data=data)
        return cls(sub_type="flow", index=str(index), parameters=[ActionParameter(action=action)])

    @classmethod
    def catalog(cls, index: int, thumbnail_product_retailer_id: str | None = None) -> ButtonComponent:
        """A catalog button, optionally with the product shown as thumbnail."""
        action = TemplateAction(thumbnail_product_retailer_id=thumbnail_product_retailer_id)
        return cls(sub_type="catalog", index=str(index), parameters=[ActionParameter(action=action)])


class LimitedTimeOfferComponent(WaModel):
    """The end of a limited-time offer."""

    type: Literal["limited_time_offer"] = "limited_time_offer"
    parameters: list[Parameter]

    @model_validator(mode="after")
    def _check(self) -> Self:
        _check_parameters(self.parameters, frozenset({"limited_time_offer"}), "limited_time_offer")
        return self


CardComponent = Annotated[
    Annotated[HeaderComponent, Tag("<header>")]
    | Annotated[BodyComponent, Tag("<body>")]
    | Annotated[ButtonComponent, Tag("<button>")],
    Discriminator(tag_of("type")),
]


class Card(WaModel):
    """One carousel card: its position and its own header/body/button parameters."""

    card_index: int
    components: list[CardComponent]

    @model_validator(mode="after")
    def _check(self) -> Self:
        bound = _max_cards() - 1
        if not 0 <= self.card_index <= bound:
            raise ValidationError("card_index", f"must be a card position 0..{bound}", limit=bound)
        return self


def _max_cards() -> int:
    return limit("template.carousel.cards").max


class CarouselComponent(WaModel):
    """The cards of a carousel template (1–10), each with a distinct ``card_index``."""

    type: Literal["carousel"] = "carousel"
    cards: list[Card]

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_count("cards", self.cards, "template.carousel.cards")
        seen: set[int] = set()
        for i, card in enumerate(self.cards):
            if card.card_index in seen:
                raise ValidationError(join("cards", i, "card_index"),
                                      f"card_index {card.card_index} is used twice")
            seen.add(card.card_index)
        return self


Component = Annotated[
    Annotated[HeaderComponent, Tag("<header>")]
    | Annotated[BodyComponent, Tag("<body>")]
    | Annotated[ButtonComponent, Tag("<button>")]
    | Annotated[LimitedTimeOfferComponent, Tag("<limited_time_offer>")]
    | Annotated[CarouselComponent, Tag("<carousel>")],
    Discriminator(tag_of("type")),
]


def _text_parameters(values: Sequence[str | Any] | Mapping[str, str]) -> list[Any]:
    """Plain strings become text parameters; a mapping gives named ones."""
    if isinstance(values, Mapping):
        return [{"type": "text", "parameter_name": k, "text": v} for k, v in values.items()]
    return [{"type": "text", "text": v} if isinstance(v, str) else v for v in values]


class Template(WaModel):
    """An approved template: ``Template("order_ready", "en_US", body=["Ada", "#123"])``.

    ``header``, ``body``, ``buttons`` and ``carousel`` build the components; ``body`` may be a mapping
    for a named-parameter template (``body={"first_name": "Ada"}``). ``components`` takes them raw.
    """

    type: ClassVar[str] = "template"
    graph_key: ClassVar[str] = "template"
    name: str
    language: Language
    components: list[Component] | None = None

    @shortcuts
    def __init__(self, name: str | None = None, language: str | Language | None = None, /, *,
                 header: Any | None = None, body: Sequence[Any] | Mapping[str, str] | None = None,
                 buttons: Sequence[ButtonComponent] | None = None, carousel: Sequence[Card] | None = None,
                 **data: Any) -> None:
        if name is not None:
            data["name"] = name
        lang = language if language is not None else data.pop("language", None)
        data["language"] = {"code": lang} if isinstance(lang, str) else lang
        built: list[Any] = []
        if header is not None:
            built.append({"type": "header", "parameters": _text_parameters([header])})
        if body is not None:
            built.append({"type": "body", "parameters": _text_parameters(body)})
        built.extend(buttons or [])
        if carousel is not None:
            built.append({"type": "carousel", "cards": list(carousel)})
        if built:
            data["components"] = [*(data.get("components") or []), *built]
        super().__init__(**data)

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_length("name", self.name, "template.name")
        if not _TEMPLATE_NAME.match(self.name):
            raise ValidationError("name", "may hold only lower-case letters, digits and underscores")
        return self

    def to_graph(self) -> dict[str, Any]:
        """``{"type": "template", "template": {"name", "language", "components"?}}``."""
        return {"type": self.type, self.type: self.graph()}
