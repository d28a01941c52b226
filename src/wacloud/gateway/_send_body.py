"""The send body of ``POST /v1/messages`` as an OpenAPI schema, built from the message models.

The body is a Graph API send body: an envelope (``to``, ``type``, ``context``…) and one content object
under the key its ``type`` names. Its schema is a union discriminated on ``type``, one variant per
top-level type of :mod:`wacloud.messages` (``interactive`` is itself a union on ``interactive.type``),
each made from that type's own model, so a new message type is documented without a line here.

Only the document uses these models. Requests are still checked by :func:`wacloud.messages.parse`
(exactly what the API accepted before, with its errors naming the field): the body's validator only
requires a JSON object and hands it on unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, create_model
from pydantic_core import PydanticCustomError

from wacloud.identity import is_bsuid
from wacloud.messages import CONTENT_TYPES, INTERACTIVE_TYPES, Contacts, Interactive


class MessageContext(BaseModel):
    """The message this one replies to (shown quoted)."""

    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, description="the wamid of the message replied to")


class SendEnvelope(BaseModel):
    """What every send body carries besides its content."""

    model_config = ConfigDict(extra="forbid")

    messaging_product: Literal["whatsapp"] = "whatsapp"
    recipient_type: Literal["individual"] = Field(
        "individual", description="the gateway queues messages to individual customers only"
    )
    from_: str | None = Field(
        None, alias="from", min_length=1, max_length=64,
        description="the business number that sends: phone number id or display number (optional with one number)",
    )
    to: str | None = Field(
        None, min_length=1, max_length=140,
        description="the customer's phone number (E.164, + optional), or a BSUID (sent as recipient)",
    )
    recipient: str | None = Field(
        None, min_length=1, max_length=140,
        description="the customer's business-scoped user id (US.1349…), for a customer known without a phone",
    )
    context: MessageContext | None = None
    biz_opaque_callback_data: str | None = Field(None, description="returned in this message's status webhooks")


def _interactive_variant(cls: type[Interactive]) -> type[BaseModel]:
    """``{"type": <interactive type>, header?, body?, footer?, action…}``: the model's fields plus its tag."""
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in cls.model_fields.items()}
    tag: Any = Literal[cls.interactive_type]
    return create_model(
        f"{cls.__name__}Content", __config__=ConfigDict(extra="forbid"), __doc__=cls.__doc__, type=(tag, ...), **fields
    )


#: The ``interactive`` object: one variant per interactive type, on ``interactive.type``.
InteractiveContent: Any = Annotated[
    Union[tuple(_interactive_variant(cls) for cls in INTERACTIVE_TYPES.values())],  # noqa: UP007
    Field(discriminator="type"),
]


def _content(kind: str, cls: type[BaseModel]) -> Any:
    """What a body of type ``kind`` carries under its ``kind`` key."""
    if cls is Contacts:
        return Contacts.model_fields["contacts"].annotation  # on the wire, the list itself
    return cls


def _variant(kind: str, content: Any, doc: str | None) -> type[BaseModel]:
    """A send body of type ``kind``: the envelope, ``"type": kind`` and the content under ``kind``."""
    tag: Any = Literal[kind]
    fields: dict[str, Any] = {"type": (tag, ...), kind: (content, ...)}
    return create_model(f"{kind.title()}SendBody", __base__=SendEnvelope, __doc__=doc, **fields)


#: One model per top-level message type, by type.
SEND_VARIANTS: dict[str, type[BaseModel]] = {
    **{kind: _variant(kind, _content(kind, cls), cls.__doc__) for kind, cls in CONTENT_TYPES.items()},
    "interactive": _variant("interactive", InteractiveContent, Interactive.__doc__),
}

#: The documented send body: a union of :data:`SEND_VARIANTS` discriminated on ``type``.
SendBodySchema: Any = Annotated[Union[tuple(SEND_VARIANTS.values())], Field(discriminator="type")]  # noqa: UP007


def json_object(value: object) -> dict[str, Any]:
    """A body as given, when it is a JSON object: the validator of bodies checked by the engine they go to
    (documented with a model through ``json_schema_input_type``, taken as the plain object it is)."""
    if not isinstance(value, dict):
        # The error pydantic gives a ``dict`` body: the answer is what it was before this schema.
        raise PydanticCustomError("dict_type", "Input should be a valid dictionary")
    return value


#: The route's body type: documented as :data:`SendBodySchema`, taken as any JSON object.
SendBody = Annotated[dict[str, Any], PlainValidator(json_object, json_schema_input_type=SendBodySchema)]


def addressed(graph: dict[str, Any]) -> dict[str, Any]:
    """The body with a BSUID given in ``to`` moved to ``recipient``, the field Meta takes it in."""
    to = graph.get("to")
    if isinstance(to, str) and is_bsuid(to.strip()) and graph.get("recipient") is None:
        graph = {k: v for k, v in graph.items() if k != "to"}
        graph["recipient"] = to.strip()
    return graph
