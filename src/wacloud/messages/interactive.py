"""Interactive messages: reply buttons, lists, CTA URL, location request and flows.

Each model mirrors the Graph ``interactive`` object (``header``/``body``/``footer``/``action``) so a raw
body parses straight into it, while its constructor takes the flat, pleasant form:
``ReplyButtons(body="Pick one", buttons=[ReplyButton(id="a", title="A")])``. Commerce kinds (product,
product list, catalog, orders) live in :mod:`wacloud.messages.commerce`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal, Protocol, Self

from pydantic import JsonValue, model_validator

from wacloud.errors import ValidationError

from ._base import (
    WaModel,
    check_count,
    check_http_url,
    check_length,
    check_not_blank,
    check_unique,
    join,
    shortcuts,
)
from .media import MediaSource

HeaderType = Literal["text", "image", "video", "document"]
ALL_HEADERS: frozenset[str] = frozenset({"text", "image", "video", "document"})


class Header(WaModel):
    """The header above an interactive message: text, or an image/video/document by id or link."""

    type: HeaderType
    text: str | None = None
    sub_text: str | None = None
    image: MediaSource | None = None
    video: MediaSource | None = None
    document: MediaSource | None = None

    @classmethod
    def media(cls, kind: Literal["image", "video", "document"], *, id: str | None = None,
              link: str | None = None) -> Header:
        """A media header, e.g. ``Header.media("image", link="https://...")``."""
        return cls(type=kind, **{kind: MediaSource(id=id, link=link)})

    @model_validator(mode="after")
    def _matches_type(self) -> Self:
        given = {k for k in ("text", "image", "video", "document") if getattr(self, k) is not None}
        if self.type not in given:
            raise ValidationError(self.type, f"is required when the header type is {self.type!r}")
        if len(given) > 1:
            extra = sorted(given - {self.type})[0]
            raise ValidationError(extra, f"is not allowed when the header type is {self.type!r}")
        check_length("text", self.text, "interactive.header.text")
        check_length("sub_text", self.sub_text, "interactive.header.text")
        return self


class Body(WaModel):
    """The message text of an interactive message (1–1024 characters)."""

    text: str

    @model_validator(mode="after")
    def _length(self) -> Self:
        check_length("text", self.text, "interactive.body.text")
        return self


class Footer(WaModel):
    """The small print under an interactive message (up to 60 characters)."""

    text: str

    @model_validator(mode="after")
    def _length(self) -> Self:
        check_length("text", self.text, "interactive.footer.text")
        return self


# The shortcuts hand dicts (not models) to pydantic so that a broken limit is reported with its full
# path ("interactive.body.text") rather than the path inside a part built on the side.
def header_of(header: str | Header | None) -> Header | dict[str, Any] | None:
    """A plain string means a text header."""
    return {"type": "text", "text": header} if isinstance(header, str) else header


def body_of(body: str | Body | None) -> Body | dict[str, Any] | None:
    """A plain string means the body text."""
    return {"text": body} if isinstance(body, str) else body


def footer_of(footer: str | Footer | None) -> Footer | dict[str, Any] | None:
    """A plain string means the footer text."""
    return {"text": footer} if isinstance(footer, str) else footer


class Interactive(WaModel):
    """Base of the interactive kinds; subclasses set ``interactive_type`` and the header rules."""

    type: ClassVar[str] = "interactive"
    graph_key: ClassVar[str] = "interactive"
    interactive_type: ClassVar[str]
    header_types: ClassVar[frozenset[str]] = ALL_HEADERS
    header_required: ClassVar[bool] = False
    body_required: ClassVar[bool] = True
    footer_allowed: ClassVar[bool] = True

    header: Header | None = None
    body: Body | None = None
    footer: Footer | None = None

    @model_validator(mode="after")
    def _layout(self) -> Self:
        kind = self.interactive_type
        if self.header is None and self.header_required:
            raise ValidationError("header", f"is required for {kind} messages")
        if self.header is not None and self.header.type not in self.header_types:
            if not self.header_types:
                raise ValidationError("header", f"is not allowed in {kind} messages")
            allowed = ", ".join(sorted(self.header_types))
            raise ValidationError("header.type", f"{kind} messages take only a {allowed} header")
        if self.body is None and self.body_required:
            raise ValidationError("body", f"is required for {kind} messages")
        if self.footer is not None and not self.footer_allowed:
            raise ValidationError("footer", f"is not allowed in {kind} messages")
        return self

    def to_graph(self) -> dict[str, Any]:
        """``{"type": "interactive", "interactive": {"type": <kind>, ...}}``."""
        return {"type": self.type, self.type: {"type": self.interactive_type, **self.graph()}}


# --- Reply buttons -------------------------------------------------------------------------------


class Reply(WaModel):
    """What a reply button shows (``title``) and sends back (``id``)."""

    id: str
    title: str

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_length("id", self.id, "interactive.button.id")
        if self.id != self.id.strip():
            raise ValidationError("id", "must not start or end with whitespace")
        check_length("title", self.title, "interactive.button.title")
        check_not_blank("title", self.title)
        return self


class ReplyButton(WaModel):
    """One reply button: ``ReplyButton(id="yes", title="Yes")``."""

    type: Literal["reply"] = "reply"
    reply: Reply

    @shortcuts
    def __init__(self, *, id: str | None = None, title: str | None = None, **data: Any) -> None:
        if id is not None or title is not None:
            data["reply"] = {"id": id, "title": title}
        super().__init__(**data)


class ButtonsAction(WaModel):
    """The ``action`` of a reply-buttons message: 1–3 buttons, titles and ids unique."""

    buttons: list[ReplyButton]

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_count("buttons", self.buttons, "interactive.button.buttons")
        check_unique([(join("buttons", i, "reply.title"), b.reply.title) for i, b in enumerate(self.buttons)])
        check_unique([(join("buttons", i, "reply.id"), b.reply.id) for i, b in enumerate(self.buttons)])
        return self


class ReplyButtons(Interactive):
    """Up to three quick-reply buttons under a body text; header may be text or media."""

    interactive_type: ClassVar[str] = "button"
    action: ButtonsAction

    @shortcuts
    def __init__(self, *, body: str | Body | None = None,
                 buttons: Sequence[ReplyButton | tuple[str, str]] | None = None,
                 header: str | Header | None = None, footer: str | Footer | None = None,
                 **data: Any) -> None:
        if buttons is not None:
            data["action"] = {"buttons": [
                b if isinstance(b, ReplyButton) else {"type": "reply", "reply": {"id": b[0], "title": b[1]}}
                for b in buttons
            ]}
        super().__init__(header=header_of(header), body=body_of(body), footer=footer_of(footer), **data)


# --- List ----------------------------------------------------------------------------------------


class Row(WaModel):
    """One choice in a list: ``id`` (sent back), ``title`` and an optional ``description``."""

    id: str
    title: str
    description: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_length("id", self.id, "interactive.list.row.id")
        check_not_blank("id", self.id)
        check_length("title", self.title, "interactive.list.row.title")
        check_not_blank("title", self.title)
        check_length("description", self.description, "interactive.list.row.description")
        return self


class Section(WaModel):
    """A titled group of rows in a list."""

    title: str | None = None
    rows: list[Row]

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_length("title", self.title, "interactive.list.section.title")
        if not self.rows:
            raise ValidationError("rows", "a section needs at least one row", size=0, limit=1)
        return self


class _Titled(Protocol):
    @property
    def title(self) -> str | None: ...


def check_section_titles(sections: Sequence[_Titled]) -> None:
    """With more than one section, every section needs a title (lists and product lists alike)."""
    if len(sections) > 1:
        for i, section in enumerate(sections):
            if not section.title:
                raise ValidationError(join("sections", i, "title"),
                                      "is required when there is more than one section")


class ListAction(WaModel):
    """The ``action`` of a list message: the menu ``button`` label and 1–10 sections, ≤ 10 rows."""

    button: str
    sections: list[Section]

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_length("button", self.button, "interactive.list.button")
        check_not_blank("button", self.button)
        check_count("sections", self.sections, "interactive.list.sections")
        check_count("sections", sum(len(s.rows) for s in self.sections), "interactive.list.rows_total")
        check_section_titles(self.sections)
        check_unique([(join("sections", i, "rows", j, "id"), row.id)
                      for i, s in enumerate(self.sections) for j, row in enumerate(s.rows)])
        return self


class ListMessage(Interactive):
    """A menu of up to ten rows in sections, opened by a ``button``; header text only."""

    interactive_type: ClassVar[str] = "list"
    header_types: ClassVar[frozenset[str]] = frozenset({"text"})
    action: ListAction

    @shortcuts
    def __init__(self, *, body: str | Body | None = None, button: str | None = None,
                 sections: Sequence[Section] | None = None, header: str | Header | None = None,
                 footer: str | Footer | None = None, **data: Any) -> None:
        if button is not None or sections is not None:
            data["action"] = {"button": button, "sections": list(sections or [])}
        super().__init__(header=header_of(header), body=body_of(body), footer=footer_of(footer), **data)


# --- CTA URL -------------------------------------------------------------------------------------


class CtaUrlParameters(WaModel):
    """The button label and the URL it opens."""

    display_text: str
    url: str

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_length("display_text", self.display_text, "interactive.cta_url.display_text")
        check_not_blank("display_text", self.display_text)
        check_http_url("url", self.url)
        return self


class CtaUrlAction(WaModel):
    """The ``action`` of a CTA URL message."""

    name: Literal["cta_url"] = "cta_url"
    parameters: CtaUrlParameters


class CtaUrl(Interactive):
    """A body with one button that opens ``url``; header text or media."""

    interactive_type: ClassVar[str] = "cta_url"
    action: CtaUrlAction

    @shortcuts
    def __init__(self, *, body: str | Body | None = None, display_text: str | None = None,
                 url: str | None = None, header: str | Header | None = None,
                 footer: str | Footer | None = None, **data: Any) -> None:
        if display_text is not None or url is not None:
            data["action"] = {"parameters": {"display_text": display_text, "url": url}}
        super().__init__(header=header_of(header), body=body_of(body), footer=footer_of(footer), **data)


# --- Location request ----------------------------------------------------------------------------


class LocationRequestAction(WaModel):
    """The fixed ``action`` of a location request."""

    name: Literal["send_location"] = "send_location"


class LocationRequest(Interactive):
    """Asks the user to share their location; a body only (the answer is a location message)."""

    interactive_type: ClassVar[str] = "location_request_message"
    header_types: ClassVar[frozenset[str]] = frozenset()
    footer_allowed: ClassVar[bool] = False
    action: LocationRequestAction = LocationRequestAction()

    @shortcuts
    def __init__(self, *, body: str | Body | None = None, **data: Any) -> None:
        super().__init__(body=body_of(body), **data)


# --- Flow ----------------------------------------------------------------------------------------


class FlowActionPayload(WaModel):
    """The first ``screen`` of the flow and the ``data`` it starts with."""

    screen: str | None = None
    data: dict[str, JsonValue] | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.data is not None and not self.data:
            raise ValidationError("data", "must be a non-empty object when given")
        return self


class FlowParameters(WaModel):
    """Which flow to open (``flow_id`` or ``flow_name``), how, and its button label."""

    flow_message_version: str = "3"
    flow_id: str | None = None
    flow_name: str | None = None
    flow_cta: str
    flow_token: str | None = None
    mode: Literal["draft", "published"] | None = None
    flow_action: Literal["navigate", "data_exchange"] | None = None
    flow_action_payload: FlowActionPayload | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.flow_message_version.isdigit():
            raise ValidationError("flow_message_version", "must be a version number such as \"3\"")
        if (self.flow_id is None) == (self.flow_name is None):
            raise ValidationError("flow_id", "give exactly one of flow_id or flow_name")
        check_not_blank("flow_id", self.flow_id)
        check_not_blank("flow_name", self.flow_name)
        check_length("flow_cta", self.flow_cta, "interactive.flow.flow_cta")
        check_not_blank("flow_cta", self.flow_cta)
        return self


class FlowAction(WaModel):
    """The ``action`` of a flow message."""

    name: Literal["flow"] = "flow"
    parameters: FlowParameters


class FlowMessage(Interactive):
    """Opens a WhatsApp Flow from a button (``mode`` draft/published; navigate or data_exchange)."""

    interactive_type: ClassVar[str] = "flow"
    action: FlowAction

    @shortcuts
    def __init__(self, *, body: str | Body | None = None, flow_cta: str | None = None,
                 flow_id: str | None = None, flow_name: str | None = None, flow_token: str | None = None,
                 mode: Literal["draft", "published"] | None = None,
                 flow_action: Literal["navigate", "data_exchange"] | None = None,
                 screen: str | None = None, data: Mapping[str, JsonValue] | None = None,
                 flow_message_version: str = "3", header: str | Header | None = None,
                 footer: str | Footer | None = None, **kwargs: Any) -> None:
        if flow_cta is not None:
            payload = None
            if screen is not None or data is not None:
                payload = {"screen": screen, "data": dict(data) if data is not None else None}
            kwargs["action"] = {"parameters": {
                "flow_message_version": flow_message_version, "flow_id": flow_id, "flow_name": flow_name,
                "flow_cta": flow_cta, "flow_token": flow_token, "mode": mode, "flow_action": flow_action,
                "flow_action_payload": payload,
            }}
        super().__init__(header=header_of(header), body=body_of(body), footer=footer_of(footer), **kwargs)
