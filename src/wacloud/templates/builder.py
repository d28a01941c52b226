"""Typed template definitions (the body of ``POST /{waba-id}/message_templates``) and a fluent builder.

The models use the Graph API's own field names, so ``definition.to_graph()`` is the exact create
body; every definition is checked against Meta's rules (:func:`~wacloud.templates.rules.check_definition`)
when built or parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic import ValidationError as PydanticValidationError

from wacloud.templates.exceptions import TemplateDefinitionError
from wacloud.templates.rules import check_definition
from wacloud.templates.variables import ParameterFormat, distinct, variables


class _Model(BaseModel):
    # extra="allow": Meta adds fields (e.g. ``supported_apps``, ``zero_tap_terms_accepted``) faster than
    # any SDK; the rules decide what is valid, the models must not drop what they do not know.
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_graph(self) -> dict[str, Any]:
        """The Graph JSON of this object."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class NamedExample(_Model):
    """One ``{param_name, example}`` pair of a NAMED-format template."""

    param_name: str
    example: str


class ComponentExample(_Model):
    """Example values Meta needs to review a template with variables."""

    header_text: list[str] | None = None
    header_text_named_params: list[NamedExample] | None = None
    header_handle: list[str] | None = None
    body_text: list[list[str]] | None = None
    body_text_named_params: list[NamedExample] | None = None


class Button(_Model):
    """One template button; which fields apply depends on ``type``."""

    type: str
    text: str | None = None
    url: str | None = None
    phone_number: str | None = None
    example: list[str] | str | None = None
    flow_id: str | None = None
    flow_name: str | None = None
    flow_json: str | None = None
    flow_action: str | None = None
    navigate_screen: str | None = None
    otp_type: str | None = None
    autofill_text: str | None = None
    package_name: str | None = None
    signature_hash: str | None = None

    @field_validator("type")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()


class Component(_Model):
    """A template component (HEADER, BODY, FOOTER, BUTTONS, CAROUSEL, LIMITED_TIME_OFFER,
    CALL_PERMISSION_REQUEST)."""

    type: str
    format: str | None = None
    text: str | None = None
    example: ComponentExample | None = None
    buttons: list[Button] | None = None
    cards: list[CarouselCard] | None = None
    limited_time_offer: LimitedTimeOffer | None = None
    add_security_recommendation: bool | None = None
    code_expiration_minutes: int | None = None

    @field_validator("type", "format")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if isinstance(v, str) else v


class CarouselCard(_Model):
    """One card of a carousel: an IMAGE/VIDEO header, a body and one or two buttons."""

    components: list[Component]


class LimitedTimeOffer(_Model):
    """The offer text and whether the offer expires (the expiry is given when sending)."""

    text: str
    has_expiration: bool | None = None


Component.model_rebuild()


class TemplateDefinition(_Model):
    """A template as created on Meta: ``name``, ``language``, ``category``, ``components``."""

    name: str
    language: str
    category: str
    components: list[Component]
    parameter_format: str | None = None
    allow_category_change: bool | None = None
    message_send_ttl_seconds: int | None = None

    @classmethod
    def from_graph(cls, body: Mapping[str, Any], *, existing_count: int | None = None) -> TemplateDefinition:
        """Check a plain create body against Meta's rules and type it."""
        check_definition(body, existing_count=existing_count)
        try:
            return cls.model_validate(dict(body))
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "template"
            raise TemplateDefinitionError(where, str(first.get("msg", "invalid value"))) from None

    def check(self, *, existing_count: int | None = None) -> TemplateDefinition:
        """Raise :class:`~wacloud.templates.exceptions.TemplateDefinitionError` if Meta would refuse it."""
        check_definition(self.to_graph(), existing_count=existing_count)
        return self


def _example_for(
    kind: Literal["header", "body"],
    text: str,
    fmt: ParameterFormat,
    positional: tuple[str, ...],
    named: Mapping[str, str],
) -> ComponentExample | None:
    names = distinct(variables(text))
    if not names:
        return None
    if fmt is ParameterFormat.NAMED:
        pairs = [NamedExample(param_name=k, example=v) for k, v in named.items()]
        return ComponentExample(**{f"{kind}_text_named_params": pairs})
    if kind == "header":
        return ComponentExample(header_text=list(positional))
    return ComponentExample(body_text=[list(positional)])


class CardBuilder:
    """Builds one carousel card: ``CardBuilder().image(handle).body(text, ...).quick_reply(...)``."""

    def __init__(self, parameter_format: ParameterFormat = ParameterFormat.POSITIONAL) -> None:
        self._fmt = parameter_format
        self._header: Component | None = None
        self._body: Component | None = None
        self._buttons: list[Button] = []

    def image(self, handle: str) -> CardBuilder:
        """An IMAGE header with a sample handle from the resumable upload API."""
        self._header = Component(type="HEADER", format="IMAGE", example=ComponentExample(header_handle=[handle]))
        return self

    def video(self, handle: str) -> CardBuilder:
        """A VIDEO header with a sample handle."""
        self._header = Component(type="HEADER", format="VIDEO", example=ComponentExample(header_handle=[handle]))
        return self

    def body(self, text: str, *examples: str, **named: str) -> CardBuilder:
        """The card's body text with an example per variable."""
        self._body = Component(type="BODY", text=text, example=_example_for("body", text, self._fmt, examples, named))
        return self

    def quick_reply(self, text: str) -> CardBuilder:
        """A quick-reply button."""
        self._buttons.append(Button(type="QUICK_REPLY", text=text))
        return self

    def url(self, text: str, url: str, example: str | None = None) -> CardBuilder:
        """A URL button (``example`` is the full sample url when ``url`` ends in a variable)."""
        self._buttons.append(Button(type="URL", text=text, url=url, example=[example] if example else None))
        return self

    def phone(self, text: str, phone_number: str) -> CardBuilder:
        """A call button."""
        self._buttons.append(Button(type="PHONE_NUMBER", text=text, phone_number=phone_number))
        return self

    def build(self) -> CarouselCard:
        """The card."""
        parts = [c for c in (self._header, self._body) if c is not None]
        if self._buttons:
            parts.append(Component(type="BUTTONS", buttons=list(self._buttons)))
        return CarouselCard(components=parts)


class TemplateBuilder:
    """Fluent builder of a :class:`TemplateDefinition`; :meth:`build` checks Meta's rules.

    ``TemplateBuilder("order_update", "en_US", "UTILITY").body("Hi {{1}}, order {{2}} shipped.", "Ana",
    "A-1").quick_reply("Thanks").build()``
    """

    def __init__(
        self,
        name: str,
        language: str,
        category: str,
        *,
        parameter_format: ParameterFormat | str | None = None,
        allow_category_change: bool | None = None,
    ) -> None:
        self.name = name
        self.language = language
        self.category = category.upper()
        self._fmt = ParameterFormat(parameter_format.upper()) if parameter_format else ParameterFormat.POSITIONAL
        self._explicit_fmt = parameter_format is not None
        self._allow = allow_category_change
        self._header: Component | None = None
        self._body: Component | None = None
        self._footer: Component | None = None
        self._buttons: list[Button] = []
        self._extra: list[Component] = []

    # -- header ----------------------------------------------------------------------------------
    def header_text(self, text: str, example: str | None = None, **named: str) -> TemplateBuilder:
        """A TEXT header (at most one variable, with its example)."""
        self._header = Component(
            type="HEADER",
            format="TEXT",
            text=text,
            example=_example_for("header", text, self._fmt, (example,) if example else (), named),
        )
        return self

    def header_media(self, format: Literal["IMAGE", "VIDEO", "DOCUMENT", "GIF"], handle: str) -> TemplateBuilder:
        """A media header with its sample handle (from :meth:`~wacloud.Client.upload_sample`)."""
        self._header = Component(type="HEADER", format=format.upper(), example=ComponentExample(header_handle=[handle]))
        return self

    def header_location(self) -> TemplateBuilder:
        """A LOCATION header (the location is given when sending)."""
        self._header = Component(type="HEADER", format="LOCATION")
        return self

    # -- body and footer -------------------------------------------------------------------------
    def body(self, text: str, *examples: str, **named: str) -> TemplateBuilder:
        """The body text with one example value per variable (positional args or ``name=value``)."""
        self._body = Component(type="BODY", text=text, example=_example_for("body", text, self._fmt, examples, named))
        return self

    def auth_body(self, *, add_security_recommendation: bool = True) -> TemplateBuilder:
        """The fixed body of an AUTHENTICATION template."""
        self._body = Component(type="BODY", add_security_recommendation=add_security_recommendation)
        return self

    def footer(self, text: str) -> TemplateBuilder:
        """A footer (no variables)."""
        self._footer = Component(type="FOOTER", text=text)
        return self

    def auth_footer(self, code_expiration_minutes: int) -> TemplateBuilder:
        """The "code expires in N minutes" footer of an AUTHENTICATION template."""
        self._footer = Component(type="FOOTER", code_expiration_minutes=code_expiration_minutes)
        return self

    # -- buttons ---------------------------------------------------------------------------------
    def quick_reply(self, text: str) -> TemplateBuilder:
        """A quick-reply button."""
        self._buttons.append(Button(type="QUICK_REPLY", text=text))
        return self

    def url(self, text: str, url: str, example: str | None = None) -> TemplateBuilder:
        """A URL button; a url ending in ``{{1}}`` needs ``example`` (a full sample url)."""
        self._buttons.append(Button(type="URL", text=text, url=url, example=[example] if example else None))
        return self

    def phone(self, text: str, phone_number: str) -> TemplateBuilder:
        """A call button."""
        self._buttons.append(Button(type="PHONE_NUMBER", text=text, phone_number=phone_number))
        return self

    def copy_code(self, example: str) -> TemplateBuilder:
        """A copy-code (coupon) button with a sample code."""
        self._buttons.append(Button(type="COPY_CODE", example=example))
        return self

    def request_contact_info(self) -> TemplateBuilder:
        """A REQUEST_CONTACT_INFO button (MARKETING/UTILITY, the only button; Meta sets its label)."""
        self._buttons.append(Button(type="REQUEST_CONTACT_INFO"))
        return self

    def flow(
        self,
        text: str,
        *,
        flow_id: str | None = None,
        flow_name: str | None = None,
        flow_json: str | None = None,
        flow_action: str = "navigate",
        navigate_screen: str | None = None,
    ) -> TemplateBuilder:
        """A button that opens a Flow (by id, name or inline JSON)."""
        self._buttons.append(
            Button(
                type="FLOW",
                text=text,
                flow_id=flow_id,
                flow_name=flow_name,
                flow_json=flow_json,
                flow_action=flow_action,
                navigate_screen=navigate_screen,
            )
        )
        return self

    def otp(
        self,
        otp_type: Literal["COPY_CODE", "ONE_TAP", "ZERO_TAP"],
        text: str | None = None,
        *,
        autofill_text: str | None = None,
        package_name: str | None = None,
        signature_hash: str | None = None,
        **extra: Any,
    ) -> TemplateBuilder:
        """The OTP button of an AUTHENTICATION template."""
        self._buttons.append(
            Button(
                type="OTP",
                otp_type=otp_type,
                text=text,
                autofill_text=autofill_text,
                package_name=package_name,
                signature_hash=signature_hash,
                **extra,
            )
        )
        return self

    def mpm(self, text: str) -> TemplateBuilder:
        """A multi-product button."""
        self._buttons.append(Button(type="MPM", text=text))
        return self

    def catalog(self, text: str) -> TemplateBuilder:
        """A catalog button."""
        self._buttons.append(Button(type="CATALOG", text=text))
        return self

    # -- special components ----------------------------------------------------------------------
    def carousel(self, *cards: CarouselCard | CardBuilder) -> TemplateBuilder:
        """A carousel of 2–10 cards (MARKETING)."""
        built = [c.build() if isinstance(c, CardBuilder) else c for c in cards]
        self._extra.append(Component(type="CAROUSEL", cards=built))
        return self

    def limited_time_offer(self, text: str, *, has_expiration: bool = True) -> TemplateBuilder:
        """A limited-time-offer component (MARKETING, no footer)."""
        self._extra.append(
            Component(
                type="LIMITED_TIME_OFFER",
                limited_time_offer=LimitedTimeOffer(text=text, has_expiration=has_expiration),
            )
        )
        return self

    def call_permission_request(self) -> TemplateBuilder:
        """A call permission request component (MARKETING/UTILITY, no buttons): the user may allow calls."""
        self._extra.append(Component(type="CALL_PERMISSION_REQUEST"))
        return self

    def build(self, *, existing_count: int | None = None) -> TemplateDefinition:
        """The definition, checked against Meta's rules."""
        parts: list[Component] = []
        if self._header is not None:
            parts.append(self._header)
        parts.extend(c for c in self._extra if c.type == "LIMITED_TIME_OFFER")
        if self._body is not None:
            parts.append(self._body)
        if self._footer is not None:
            parts.append(self._footer)
        parts.extend(c for c in self._extra if c.type in ("CAROUSEL", "CALL_PERMISSION_REQUEST"))
        if self._buttons:
            parts.append(Component(type="BUTTONS", buttons=list(self._buttons)))
        definition = TemplateDefinition(
            name=self.name,
            language=self.language,
            category=self.category,
            components=parts,
            parameter_format=self._fmt.value if self._explicit_fmt else None,
            allow_category_change=self._allow,
        )
        return definition.check(existing_count=existing_count)


__all__ = [
    "Button",
    "CardBuilder",
    "CarouselCard",
    "Component",
    "ComponentExample",
    "LimitedTimeOffer",
    "NamedExample",
    "TemplateBuilder",
    "TemplateDefinition",
]
