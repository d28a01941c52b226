"""The body of a Marketing Messages API send (``POST /{phone-number-id}/marketing_messages``).

The Marketing Messages API for WhatsApp (formerly MM Lite) takes marketing templates only, addressed like
a ``/messages`` send (``to`` a phone number or ``recipient`` a BSUID), with two options of its own:
``product_policy`` (``CLOUD_API_FALLBACK``: fall back to the Cloud API path when the business is not
onboarded or the template cannot go this way; ``STRICT``: never) and ``message_activity_sharing``
(share click and conversion activity for the message).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import SkipValidation, StrictBool, model_validator

from wacloud.errors import ValidationError
from wacloud.identity import is_bsuid

from ._base import WaModel, check_length, check_not_blank, shortcuts
from .envelope import _PHONE_CHARS, check_recipient
from .template import Template

ProductPolicy = Literal["CLOUD_API_FALLBACK", "STRICT"]
PRODUCT_POLICIES: tuple[str, ...] = ("CLOUD_API_FALLBACK", "STRICT")


class MarketingMessage(WaModel):
    """One marketing template send: ``MarketingMessage("+16505551234", Template("spring_sale", "en_US"))``.

    A BSUID given positionally goes in ``recipient``; ``to_graph()`` is the exact body.
    """

    to: str | None = None
    recipient: str | None = None
    template: SkipValidation[Template]
    product_policy: ProductPolicy | None = None
    message_activity_sharing: StrictBool | None = None

    @shortcuts
    def __init__(self, to: str | None = None, template: Template | None = None, /, **data: Any) -> None:
        if to is not None:
            data["recipient" if is_bsuid(to) else "to"] = to
        if template is not None:
            data["template"] = template
        super().__init__(**data)

    @model_validator(mode="before")
    @classmethod
    def _policy_upper(cls, data: Any) -> Any:
        # Meta spells the policies in upper case; accept "strict" from people typing it.
        if isinstance(data, dict) and isinstance(data.get("product_policy"), str):
            data = {**data, "product_policy": data["product_policy"].strip().upper()}
            if data["product_policy"] not in PRODUCT_POLICIES:
                raise ValidationError("product_policy", f"must be one of {', '.join(PRODUCT_POLICIES)}")
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not isinstance(self.template, Template):
            # The endpoint refuses anything but a template (Meta answers 100, "Message must be a template").
            raise ValidationError("template", "the Marketing Messages API sends templates only, "
                                              f"not {type(self.template).__name__}")
        if self.to is None and self.recipient is None:
            raise ValidationError("to", "is required: a phone number in \"to\", or a BSUID in \"recipient\"")
        if self.recipient is not None:
            check_recipient(self.recipient)
        if self.to is not None:
            check_not_blank("to", self.to)
            if is_bsuid(self.to):
                raise ValidationError("to", "is a business-scoped user id: send it in \"recipient\", not \"to\"")
            if not _PHONE_CHARS.match(self.to):
                raise ValidationError("to", "must be a phone number (digits, optionally +, spaces, -, (, ))")
            check_length("to", [c for c in self.to if c.isdigit()], "to.digits")
        return self

    def to_graph(self) -> dict[str, Any]:
        """The exact JSON body for ``POST /{phone-number-id}/marketing_messages``."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        if self.to is not None:
            body["to"] = self.to
        if self.recipient is not None:
            body["recipient"] = self.recipient
        body.update(self.template.to_graph())
        if self.product_policy is not None:
            body["product_policy"] = self.product_policy
        if self.message_activity_sharing is not None:
            body["message_activity_sharing"] = self.message_activity_sharing
        return body
