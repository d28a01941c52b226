"""Models of payment statuses: ``value.statuses[]`` with ``type`` "payment" (Payments API India/Brazil).

An order-details message the user pays carries statuses of its own: ``status`` is the payment's state
(``pending``, ``captured``, ``failed``) and ``payment`` names the order (``reference_id``), the amount and
the gateway transaction. Amounts are integers with an ``offset`` (21000 with offset 100 is 210.00).
"""

from __future__ import annotations

from datetime import datetime

from wacloud.webhooks.base import WebhookModel


class PaymentAmount(WebhookModel):
    """An amount as Meta sends it: ``value`` in units of 1/``offset``."""

    value: int
    offset: int = 100

    @property
    def decimal(self) -> float:
        """The amount as a number (``value / offset``)."""
        return self.value / (self.offset or 1)


class PaymentMethod(WebhookModel):
    """How the user paid (``upi``, ``card``, ``wallet``, ``netbanking``…)."""

    type: str | None = None


class PaymentError(WebhookModel):
    """Why a transaction failed, in the payment gateway's words."""

    code: str | None = None
    reason: str | None = None


class PaymentTransaction(WebhookModel):
    """The payment gateway's transaction behind a payment status."""

    id: str | None = None
    #: The payment gateway (``razorpay``, ``payu``, ``billdesk``, ``zaakpay``…) or ``upi``.
    type: str | None = None
    #: ``pending``, ``success`` or ``failed``.
    status: str | None = None
    created_timestamp: datetime | None = None
    updated_timestamp: datetime | None = None
    amount: PaymentAmount | None = None
    currency: str | None = None
    method: PaymentMethod | None = None
    error: PaymentError | None = None


class PaymentInfo(WebhookModel):
    """``statuses[].payment``: which order was paid (``reference_id``), how much, and the transaction."""

    reference_id: str
    amount: PaymentAmount | None = None
    currency: str | None = None
    transaction: PaymentTransaction | None = None
    receipt: str | None = None
