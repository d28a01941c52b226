"""``wacloud templates library|from-library|archive|unarchive|unpause|compare|migrate``: Meta's template
library and template operations through the gateway. :func:`register` adds them to ``wacloud templates``."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from wacloud.cli.api_call import gw_call, rows, show
from wacloud.cli.output import JsonOpt
from wacloud.cli.remote import ApiKeyOpt, GatewayOpt

TemplateId = Annotated[str, typer.Argument(help="The template id.")]
_DAY = 86400


def library(
    search: Annotated[str | None, typer.Option("--search", help="Words to look for.")] = None,
    topic: Annotated[str | None, typer.Option("--topic", help="e.g. ORDER_MANAGEMENT.")] = None,
    usecase: Annotated[str | None, typer.Option("--usecase", help="e.g. SHIPMENT_CONFIRMATION.")] = None,
    industry: Annotated[str | None, typer.Option("--industry", help="e.g. E_COMMERCE.")] = None,
    language: Annotated[str | None, typer.Option("--language", help="e.g. en_US.")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Browse Meta's template library."""
    params = {k: v for k, v in (("search", search), ("topic", topic), ("usecase", usecase), ("industry", industry),
                                ("language", language)) if v is not None}
    page = gw_call(gateway, api_key, json_out, "GET", "/v1/templates/library", params=params)
    rows(json_out, page, page["data"], ["name", "category", "topic", "usecase", "language"], "template library")


def from_library(
    name: Annotated[str, typer.Argument(help="The new template's name.")],
    library_name: Annotated[str, typer.Argument(help="The library template's name.")],
    category: Annotated[str, typer.Option("--category", help="UTILITY, AUTHENTICATION or MARKETING.")] = "UTILITY",
    language: Annotated[str, typer.Option("--language", help="The language code.")] = "en_US",
    url: Annotated[list[str] | None, typer.Option("--url", help="Base URL of each URL button (in order).")] = None,
    phone: Annotated[list[str] | None, typer.Option("--phone", help="Number of each call button.")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a template from a library template (pre-approved; URL and call buttons take their values)."""
    body: dict[str, Any] = {"name": name, "library_template_name": library_name, "category": category.upper(),
                            "language": language}
    inputs = [{"type": "URL", "url": {"base_url": u}} for u in url or []]
    inputs += [{"type": "PHONE_NUMBER", "phone_number": p} for p in phone or []]
    if inputs:
        body["library_template_button_inputs"] = inputs
    show(json_out, gw_call(gateway, api_key, json_out, "POST", "/v1/templates/library", json=body),
         f"template {name} created")


def _op(template_id: str, op: str, gateway: str | None, api_key: str | None, json_out: bool) -> None:
    got = gw_call(gateway, api_key, json_out, "POST", f"/v1/templates/{template_id}/{op}")
    show(json_out, got, f"template {template_id}: {op}d" if op.endswith("e") else f"template {template_id}: {op}")


def archive(template_id: TemplateId, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
            json_out: JsonOpt = False) -> None:
    """Archive a template (it stops being sendable)."""
    _op(template_id, "archive", gateway, api_key, json_out)


def unarchive(template_id: TemplateId, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
              json_out: JsonOpt = False) -> None:
    """Bring an archived template back."""
    _op(template_id, "unarchive", gateway, api_key, json_out)


def unpause(template_id: TemplateId, gateway: GatewayOpt = None, api_key: ApiKeyOpt = None,
            json_out: JsonOpt = False) -> None:
    """Unpause a template Meta paused for low quality."""
    _op(template_id, "unpause", gateway, api_key, json_out)


def compare(
    template_id: TemplateId,
    other: Annotated[str, typer.Argument(help="The other template's id.")],
    days: Annotated[int, typer.Option("--days", help="The window: 7, 30, 60 or 90 days up to now.")] = 30,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare two templates (block rate, sends, top block reason) over the last ``--days``."""
    end = int(time.time())
    params = {"other": other, "start": end - days * _DAY, "end": end}
    got = gw_call(gateway, api_key, json_out, "GET", f"/v1/templates/{template_id}/compare", params=params)
    rows(json_out, got, got["data"], ["metric", "type", "order_by_relative_metric"], "comparison")


def migrate(
    source_waba_id: Annotated[str, typer.Argument(help="The WABA to copy templates from.")],
    page: Annotated[int | None, typer.Option("--page", help="The page of a large source (0, 1, …).")] = None,
    gateway: GatewayOpt = None,
    api_key: ApiKeyOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy the templates of another WABA into the gateway's WABA."""
    body: dict[str, Any] = {"source_waba_id": source_waba_id}
    if page is not None:
        body["page_number"] = page
    got = gw_call(gateway, api_key, json_out, "POST", "/v1/templates/migrate", json=body)
    if json_out:
        show(True, got, "")
        return
    show(False, {"migrated": len(got["migrated_templates"]), "failed": len(got["failed_templates"])}, "migration")


def register(templates: typer.Typer) -> None:
    """Add the library and template operation commands to the ``templates`` sub-app."""
    for name, fn in (("library", library), ("from-library", from_library), ("archive", archive),
                     ("unarchive", unarchive), ("unpause", unpause), ("compare", compare), ("migrate", migrate)):
        templates.command(name)(fn)
