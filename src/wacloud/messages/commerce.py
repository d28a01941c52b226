"""Commerce interactive messages: single product, product list, catalog, order details and status.

Order details/status (payments, India and Singapore) carry many region-specific fields; their
``parameters`` type the fields wacloud checks and keep any others as given (``extra="allow"``) so a
valid newer field is not refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal, Self

from pydantic import ConfigDict, model_validator

from wacloud.errors import ValidationError

from ._base import WaModel, check_count, check_length, check_not_blank, shortcuts
from .interactive import (
    Body,
    Footer,
    Header,
    Interactive,
    body_of,
    check_section_titles,
    footer_of,
    header_of,
)


class ProductAction(WaModel):
    """The ``action`` of a single-product message."""

    catalog_id: str
    product_retailer_id: str

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_not_blank("catalog_id", self.catalog_id)
        check_not_blank("product_retailer_id", self.product_retailer_id)
        return self


class Product(Interactive):
    """One product from a catalog; body optional, no header."""

    interactive_type: ClassVar[str] = "product"
    header_types: ClassVar[frozenset[str]] = frozenset()
    body_required: ClassVar[bool] = False
    action: ProductAction

    @shortcuts
    def __init__(self, *, catalog_id: str | None = None, product_retailer_id: str | None = None,
                 body: str | Body | None = None, footer: str | Footer | None = None, **data: Any) -> None:
        if catalog_id is not None or product_retailer_id is not None:
            data["action"] = {"catalog_id": catalog_id, "product_retailer_id": product_retailer_id}
        super().__init__(body=body_of(body), footer=footer_of(footer), **data)


class ProductItem(WaModel):
    """A product in a product-list section."""

    product_retailer_id: str

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_not_blank("product_retailer_id", self.product_retailer_id)
        return self


class ProductSection(WaModel):
    """A titled group of products."""

    title: str | None = None
    product_items: list[ProductItem]

    @shortcuts
    def __init__(self, *, title: str | None = None,
                 product_items: Sequence[ProductItem | str] | None = None, **data: Any) -> None:
        if product_items is not None:
            data["product_items"] = [
                {"product_retailer_id": p} if isinstance(p, str) else p for p in product_items
            ]
        super().__init__(title=title, **data)

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_length("title", self.title, "interactive.list.section.title")
        if not self.product_items:
            raise ValidationError("product_items", "a section needs at least one product", size=0, limit=1)
        return self


class ProductListAction(WaModel):
    """The ``action`` of a product list: the catalog and 1–10 sections, ≤ 30 products in total."""

    catalog_id: str
    sections: list[ProductSection]

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_not_blank("catalog_id", self.catalog_id)
        check_count("sections", self.sections, "interactive.product_list.sections")
        total = sum(len(s.product_items) for s in self.sections)
        check_count("sections", total, "interactive.product_list.items_total")
        check_section_titles(self.sections)
        return self


class ProductList(Interactive):
    """Up to 30 products in sections (a multi-product message); a text header is required."""

    interactive_type: ClassVar[str] = "product_list"
    header_types: ClassVar[frozenset[str]] = frozenset({"text"})
    header_required: ClassVar[bool] = True
    action: ProductListAction

    @shortcuts
    def __init__(self, *, header: str | Header | None = None, body: str | Body | None = None,
                 catalog_id: str | None = None, sections: Sequence[ProductSection] | None = None,
                 footer: str | Footer | None = None, **data: Any) -> None:
        if catalog_id is not None or sections is not None:
            data["action"] = {"catalog_id": catalog_id, "sections": list(sections or [])}
        super().__init__(header=header_of(header), body=body_of(body), footer=footer_of(footer), **data)


class CatalogParameters(WaModel):
    """Which product shows as the catalog thumbnail (the first one when left out)."""

    thumbnail_product_retailer_id: str | None = None


class CatalogAction(WaModel):
    """The ``action`` of a catalog message."""

    name: Literal["catalog_message"] = "catalog_message"
    parameters: CatalogParameters | None = None


class Catalog(Interactive):
    """A button that opens the business's whole catalog."""

    interactive_type: ClassVar[str] = "catalog_message"
    action: CatalogAction = CatalogAction()

    @shortcuts
    def __init__(self, *, body: str | Body | None = None, thumbnail_product_retailer_id: str | None = None,
                 footer: str | Footer | None = None, **data: Any) -> None:
        if thumbnail_product_retailer_id is not None:
            data["action"] = {"parameters": {"thumbnail_product_retailer_id": thumbnail_product_retailer_id}}
        super().__init__(body=body_of(body), footer=footer_of(footer), **data)


class Amount(WaModel):
    """A money amount as ``value`` / 10^``offset`` (``{"value": 1500, "offset": 100}`` is 15.00)."""

    value: int
    offset: int


class _Open(WaModel):
    # Payment payloads have many region-specific fields; keep the unknown ones as given.
    model_config = ConfigDict(extra="allow")


class OrderDetailsParameters(_Open):
    """The order, its total and how it is paid; other documented fields pass through unchanged."""

    reference_id: str
    type: str
    currency: str
    total_amount: Amount
    order: dict[str, Any]
    payment_type: str | None = None
    payment_configuration: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_not_blank("reference_id", self.reference_id)
        return self


class OrderDetailsAction(WaModel):
    """The ``action`` of an order-details (review and pay) message."""

    name: Literal["review_and_pay"] = "review_and_pay"
    parameters: OrderDetailsParameters


class OrderDetails(Interactive):
    """An order to review and pay for (WhatsApp Payments)."""

    interactive_type: ClassVar[str] = "order_details"
    action: OrderDetailsAction


class OrderStatusParameters(_Open):
    """The order (by ``reference_id``) and its new ``order.status``."""

    reference_id: str
    order: dict[str, Any]

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_not_blank("reference_id", self.reference_id)
        if not isinstance(self.order.get("status"), str):
            raise ValidationError("order.status", "is required")
        return self


class OrderStatusAction(WaModel):
    """The ``action`` of an order-status message."""

    name: Literal["review_order"] = "review_order"
    parameters: OrderStatusParameters


class OrderStatus(Interactive):
    """An update to an order sent earlier with :class:`OrderDetails`."""

    interactive_type: ClassVar[str] = "order_status"
    action: OrderStatusAction


class CallPermissionAction(WaModel):
    """The fixed ``action`` of a call-permission request."""

    name: Literal["call_permission_request"] = "call_permission_request"


class CallPermissionRequest(Interactive):
    """Asks the user for permission to call them (Calling API)."""

    interactive_type: ClassVar[str] = "call_permission_request"
    action: CallPermissionAction = CallPermissionAction()

    @shortcuts
    def __init__(self, *, body: str | Body | None = None, footer: str | Footer | None = None,
                 **data: Any) -> None:
        super().__init__(body=body_of(body), footer=footer_of(footer), **data)
