"""The Marketing Messages API for WhatsApp: marketing templates through ``/marketing_messages``.

Meta steers marketing templates to this endpoint: it optimises delivery, can share click and conversion
activity (``message_activity_sharing``), and with ``product_policy="STRICT"`` never falls back to the
Cloud API path. A marketing template's time-to-live here is set on the template itself
(:meth:`MarketingApi.set_marketing_ttl`, 12 hours to 30 days). The answer is a :class:`SentMessage`
whose ``message_status`` is the pacing state (``accepted``, ``held_for_quality_assessment``, ``paused``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import wacloud.errors as errors
import wacloud.phone as phone
from wacloud.client.core import ApiConfig, Operation, Request, call, operation
from wacloud.client.models import SentMessage, success
from wacloud.identity import is_bsuid
from wacloud.limits import limit

if TYPE_CHECKING:
    from wacloud.messages import ProductPolicy, Template


class MarketingApi(ApiConfig):
    """``send_marketing`` / ``send_marketing_template`` and the marketing template TTL."""

    def _marketing_address(self, to: str | phone.PhoneNumber) -> str:
        if isinstance(to, str) and is_bsuid(to.strip()):
            return to.strip()
        return phone.normalize(to, self.default_region).e164

    @operation
    def send_marketing(self, to: str | phone.PhoneNumber, template: Template, *,
                       product_policy: ProductPolicy | str | None = None,
                       message_activity_sharing: bool | None = None,
                       phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send a marketing ``Template`` to ``to`` (a phone number, or a BSUID sent as ``recipient``)."""
        from wacloud.messages import MarketingMessage

        pid = self.require_phone(phone_number_id)
        body = MarketingMessage(self._marketing_address(to), template, product_policy=product_policy,
                                message_activity_sharing=message_activity_sharing).to_graph()
        answer = yield from call(Request("POST", f"{pid}/marketing_messages", json=body))
        return SentMessage.from_graph(answer)

    @operation
    def send_marketing_template(self, to: str | phone.PhoneNumber, name: str, language: str = "en_US", *,
                                components: Sequence[Mapping[str, Any]] | None = None, header: Any | None = None,
                                body: Sequence[Any] | Mapping[str, str] | None = None,
                                buttons: Sequence[Any] | None = None,
                                product_policy: ProductPolicy | str | None = None,
                                message_activity_sharing: bool | None = None,
                                phone_number_id: str | None = None) -> Operation[SentMessage]:
        """Send the approved marketing template ``name`` with its parameters, as :meth:`send_template` does."""
        from wacloud.messages import Template

        extra: dict[str, Any] = {"components": [dict(c) for c in components]} if components else {}
        template = Template(name, language, header=header, body=body, buttons=buttons, **extra)
        return (yield from type(self).send_marketing.flow(
            self, to, template, product_policy=product_policy,
            message_activity_sharing=message_activity_sharing, phone_number_id=phone_number_id))

    @operation
    def set_marketing_ttl(self, template_id: str, seconds: int) -> Operation[bool]:
        """Set how long the Marketing Messages API keeps trying to deliver this marketing template.

        ``seconds`` runs from 12 hours (43,200) to 30 days (2,592,000), Meta's bounds for marketing templates.
        """
        bound = limit("template.marketing_ttl_seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int):
            raise errors.ValidationError("message_send_ttl_seconds", f"must be an integer, not {seconds!r}")
        if not bound.min <= seconds <= bound.max:
            raise errors.ValidationError("message_send_ttl_seconds",
                                         f"must be {bound.min}..{bound.max} seconds for a marketing template",
                                         size=seconds, limit=bound.max if seconds > bound.max else bound.min)
        tid = str(template_id).strip()
        if not tid or "/" in tid or "?" in tid:
            raise errors.ValidationError("template_id", f"{template_id!r} is not an id")
        answer = yield from call(Request("POST", tid, json={"message_send_ttl_seconds": seconds}))
        return success(answer, "set marketing TTL")
