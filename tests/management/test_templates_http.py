"""Templates over real HTTP: the client against the sandbox (create, list, get, edit, delete, upload,
pre-send check), and the sandbox's own refusals of broken definitions compared with our pre-check."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from management.helpers import BROKEN_FOR_SANDBOX, good_definition, mutate
from wacloud import errors
from wacloud.templates import TemplateBuilder, TemplateDefinitionError, TemplateMismatch, check_definition


def test_spec_examples_are_accepted_by_the_sandbox(box: Any, template_examples: dict[str, dict[str, Any]]) -> None:
    client = box.client()
    seen: set[tuple[str, str]] = set()
    for name, body in template_examples.items():
        key = (body["name"], body["language"])
        if key in seen:  # the spec repeats one example under two titles
            continue
        seen.add(key)
        # The sandbox seeds sample templates; one shares its name with a spec example.
        if client.list_templates(name=body["name"]).data:
            client.delete_template(body["name"])
        created = client.create_template(body)
        assert created.id and created.status in ("PENDING", "APPROVED"), name
        fetched = client.get_template(created.id)
        assert fetched["name"] == body["name"] and fetched["language"] == body["language"]


@pytest.mark.parametrize(
    ("what", "path", "value", "subcode"), BROKEN_FOR_SANDBOX, ids=[b[0] for b in BROKEN_FOR_SANDBOX]
)
def test_broken_definitions_rejected_by_sandbox_and_precheck_alike(
    box: Any, what: str, path: list[Any], value: Any, subcode: int | None
) -> None:
    body = mutate(good_definition(), path, value)
    with pytest.raises(TemplateDefinitionError) as local:
        check_definition(body)
    resp = box.graph("POST", f"{box.cfg.waba_id}/message_templates", json=body)
    assert resp.status_code == 400, (what, resp.text)
    err = resp.json()["error"]
    assert err["code"] == local.value.code == 100, what
    assert err.get("error_subcode") == local.value.subcode == subcode, (what, err)


def test_client_refuses_broken_definitions_before_any_request(box: Any) -> None:
    before = len(box.state.templates)
    with pytest.raises(TemplateDefinitionError):
        box.client().create_template(mutate(good_definition(), ["name"], "Bad Name"))
    assert len(box.state.templates) == before


def test_duplicate_name_and_language(box: Any) -> None:
    client = box.client()
    client.create_template(good_definition())
    with pytest.raises(errors.InvalidRequest) as info:
        client.create_template(good_definition())
    assert info.value.code == 100 and info.value.detail.error_subcode == 2388024


def test_list_paging_filters_get_edit_delete(box: Any) -> None:
    client = box.client()
    ids = []
    for i in range(5):
        body = TemplateBuilder(f"bulk_{i}", "en_US", "UTILITY").body(f"Order {i} for {{{{1}}}} shipped.", "Ana").build()
        ids.append(client.create_template(body).id)
    page = client.list_templates(limit=2, category="UTILITY")
    assert len(page.data) == 2 and page.after
    # Following the cursors two at a time gives exactly what one big page gives.
    everything = client.all_templates(category="UTILITY", page_size=2)
    assert [t["id"] for t in everything] == [t["id"] for t in client.list_templates(category="UTILITY", limit=500).data]
    assert {f"bulk_{i}" for i in range(5)} <= {t["name"] for t in everything}
    assert [t["id"] for t in client.list_templates(name="bulk_0").data] == [ids[0]]
    assert client.get_template(ids[0], fields=["name", "status"])["name"] == "bulk_0"
    box.control.post(f"/_sandbox/templates/{ids[1]}/status", json={"status": "APPROVED"}).raise_for_status()
    new_body = [{"type": "BODY", "text": "Order for {{1}} is on its way.", "example": {"body_text": [["Ana"]]}}]
    assert client.edit_template(ids[1], components=new_body) is True
    assert client.get_template(ids[1])["components"][0]["text"] == "Order for {{1}} is on its way."
    assert client.delete_template("bulk_2") is True
    assert client.delete_template("bulk_3", template_id=ids[3]) is True
    assert client.delete_template(hsm_ids=[ids[4]]) is True
    left = sorted(t["name"] for t in client.all_templates(category="UTILITY") if t["name"].startswith("bulk_"))
    assert left == ["bulk_0", "bulk_1"]
    with pytest.raises(errors.ValidationError):
        client.delete_template()
    with pytest.raises(errors.ValidationError):
        client.edit_template(ids[0])


def test_resumable_upload_gives_a_handle_for_a_media_header(box: Any, tmp_path: Path) -> None:
    client = box.client()
    image = tmp_path / "sample.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 200)
    handle = client.upload_sample(image)
    assert handle.startswith("4::")
    body = (
        TemplateBuilder("with_image", "en_US", "MARKETING")
        .header_media("IMAGE", handle)
        .body("New arrivals for {{1}}!", "Ana")
        .build()
    )
    assert client.create_template(body).id
    with pytest.raises(errors.ValidationError, match="MIME"):
        client.upload_sample(b"data", filename="noext")
    with pytest.raises(errors.InvalidRequest):
        client.upload_sample(b"data", "text/html", filename="x.html")


def _approved(box: Any, body: dict[str, Any]) -> dict[str, Any]:
    resp = box.control.post("/_sandbox/templates", json={**body, "status": "APPROVED"})
    resp.raise_for_status()
    return dict(resp.json())


ORDER = {
    "name": "order_ready",
    "language": "en_US",
    "category": "UTILITY",
    "components": [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::x"]}},
        {
            "type": "BODY",
            "text": "Hi {{1}}, order {{2}} is ready.",
            "example": {"body_text": [["Ana", "A1"]]},
        },
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://e.com/{{1}}",
                    "example": ["https://e.com/A1"],
                }
            ],
        },
    ],
}
ORDER_SEND = {
    "name": "order_ready",
    "language": {"code": "en_US"},
    "components": [
        {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://e.com/i.jpg"}}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "A1"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "A1"}]},
    ],
}


def test_presend_check_against_the_sandbox(box: Any) -> None:
    _approved(box, ORDER)
    client = box.client()
    wa_id = "15550001234"
    assert client.validate_template_send(ORDER_SEND)["status"] == "APPROVED"
    sent = client.send_template_checked(wa_id, ORDER_SEND)
    assert sent.wamid.startswith("wamid.") and sent.wa_id == wa_id
    from wacloud.messages import Template

    typed = Template("order_ready", "en_US", components=copy.deepcopy(ORDER_SEND["components"]))
    assert client.send_template_checked(wa_id, typed).wamid.startswith("wamid.")
    attempts = box.state.attempt_seq
    wrong = copy.deepcopy(ORDER_SEND)
    del wrong["components"][1]["parameters"][1]
    with pytest.raises(TemplateMismatch) as info:
        client.send_template_checked(wa_id, wrong)
    assert info.value.code == 132000
    assert box.state.attempt_seq == attempts  # nothing reached the network's /messages
    # Without the pre-check, the sandbox answers the same code after the call.
    raw = {"messaging_product": "whatsapp", "to": wa_id, "type": "template", "template": wrong}
    resp = box.graph("POST", f"{box.cfg.phone_number_id}/messages", json=raw)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 132000


def test_presend_cache_refreshed_by_status_webhook(box: Any) -> None:
    tpl = _approved(box, ORDER)
    client = box.client()
    client.validate_template_send(ORDER_SEND)
    # Meta pauses the template; its webhook reaches our receiver, which feeds the cache.
    client.template_cache.on_webhook_change(
        "message_template_status_update",
        {
            "event": "PAUSED",
            "message_template_id": int(tpl["id"]),
            "message_template_name": "order_ready",
            "message_template_language": "en-US",
            "reason": "NONE",
        },
    )
    with pytest.raises(TemplateMismatch) as info:
        client.validate_template_send(ORDER_SEND)
    assert info.value.code == 132015
    assert client.validate_template_send(ORDER_SEND, refresh=True)["status"] == "APPROVED"
    with pytest.raises(TemplateMismatch) as missing:
        client.validate_template_send({**ORDER_SEND, "name": "no_such_template"})
    assert missing.value.code == 132001


async def test_async_client_templates(box: Any) -> None:
    async with box.async_client() as client:
        created = await client.create_template(good_definition())
        assert (await client.get_template(created.id))["name"] == "seasonal_promo"
        page = await client.list_templates(name="seasonal_promo")
        assert [t["id"] for t in page.data] == [created.id]
        assert await client.delete_template("seasonal_promo") is True


def test_cache_follows_the_sandboxs_signed_status_webhooks(box: Any) -> None:
    """End to end: the sandbox pauses a template, its signed webhook reaches a receiver, the cache follows."""
    import threading

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from wacloud import webhooks
    from wacloud.sandbox import ServerThread
    from wacloud.webhooks import signature
    from wacloud.webhooks.updates import TemplateStatusUpdate

    client = box.client()
    seen = threading.Event()

    async def hook(request: Request) -> Response:
        raw = await request.body()
        if not signature.verify(raw, request.headers.get(signature.HEADER), box.cfg.app_secret):
            return Response(status_code=403)
        for update in webhooks.parse(raw):
            if isinstance(update, TemplateStatusUpdate):
                client.template_cache.on_status_update(**update.value.model_dump())
                if update.value.event == "PAUSED":
                    seen.set()
        return Response("ok")

    receiver = ServerThread(Starlette(routes=[Route("/hook", hook, methods=["POST"])]))
    receiver.start()
    try:
        box.control.post("/_sandbox/config", json={"webhook_url": f"{receiver.base_url}/hook"}).raise_for_status()
        tpl = _approved(box, ORDER)
        client.validate_template_send(ORDER_SEND)  # cached as APPROVED
        box.control.post(f"/_sandbox/templates/{tpl['id']}/status", json={"status": "PAUSED"}).raise_for_status()
        assert seen.wait(10), "the sandbox's template webhook never arrived"
        with pytest.raises(TemplateMismatch) as info:
            client.validate_template_send(ORDER_SEND)
        assert info.value.code == 132015
    finally:
        box.control.post("/_sandbox/config", json={"webhook_url": None})
        receiver.stop()


def test_resumable_upload_protocol_errors(box: Any) -> None:
    start = box.graph(
        "POST", f"{SANDBOX_APP}/uploads", params={"file_name": "a.png", "file_length": 4, "file_type": "image/png"}
    )
    upload_id = start.json()["id"]
    too_much = box.graph("POST", upload_id, content=b"12345", headers={"file_offset": "0"})
    assert too_much.status_code == 400 and "file_length" in too_much.json()["error"]["error_data"]["details"]
    wrong_offset = box.graph("POST", upload_id, content=b"12", headers={"file_offset": "3"})
    assert wrong_offset.status_code == 400
    half = box.graph("POST", upload_id, content=b"12", headers={"file_offset": "0"})
    assert half.json() == {"id": upload_id, "file_offset": 2}
    assert box.graph("GET", upload_id).json()["file_offset"] == 2
    done = box.graph("POST", upload_id, content=b"34", headers={"file_offset": "2"})
    assert done.json()["h"].startswith("4::")
    huge = box.graph(
        "POST", f"{SANDBOX_APP}/uploads", params={"file_name": "a.png", "file_length": 10**10, "file_type": "image/png"}
    )
    assert huge.status_code == 400
    assert box.graph("POST", f"{SANDBOX_APP}/uploads", params={"file_name": "a"}).status_code == 400


SANDBOX_APP = "1000000000000001"


def test_quota_checked_locally(box: Any) -> None:
    from wacloud.limits import limit

    client = box.client()
    have = len(client.all_templates())
    cap = limit("template.per_waba").max
    for i in range(cap - have):
        box.control.post(
            "/_sandbox/templates",
            json={
                "name": f"filler_{i}",
                "language": "en_US",
                "category": "UTILITY",
                "components": [{"type": "BODY", "text": "Filler"}],
            },
        ).raise_for_status()
    with pytest.raises(TemplateDefinitionError) as info:
        client.create_template(good_definition(), check_quota=True)
    assert info.value.code == 2388019 and info.value.limit == cap
    remote = box.graph("POST", f"{box.cfg.waba_id}/message_templates", json=good_definition())
    assert remote.status_code == 400 and remote.json()["error"]["code"] == info.value.code


def test_precheck_and_sandbox_agree_on_an_authentication_send(
    box: Any, template_examples: dict[str, dict[str, Any]]
) -> None:
    auth = template_examples["Create authentication template w/ OTP copy code button"]
    _approved(box, auth)
    client = box.client()
    code = [
        {"type": "body", "parameters": [{"type": "text", "text": "482913"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "482913"}]},
    ]
    send = {"name": auth["name"], "language": {"code": "en_US"}, "components": code}
    assert client.send_template_checked("15550004321", send).wamid
    without_button = {**send, "components": code[:1]}
    with pytest.raises(TemplateMismatch) as info:
        client.validate_template_send(without_button)
    raw = {"messaging_product": "whatsapp", "to": "15550004321", "type": "template", "template": without_button}
    remote = box.graph("POST", f"{box.cfg.phone_number_id}/messages", json=raw)
    assert remote.status_code == 400 and remote.json()["error"]["code"] == info.value.code == 132000


def _variant(edit: Any) -> dict[str, Any]:
    send = copy.deepcopy(ORDER_SEND)
    edit(send)
    return send


SEND_MISMATCHES: list[tuple[str, Any]] = [
    ("body count", lambda s: s["components"][1]["parameters"].pop()),
    ("no header", lambda s: s["components"].pop(0)),
    ("header video", lambda s: s["components"][0].update(parameters=[{"type": "video", "video": {"id": "1"}}])),
    ("body image", lambda s: s["components"][1]["parameters"].__setitem__(0, {"type": "image", "image": {"id": "1"}})),
    ("named on positional", lambda s: s["components"][1]["parameters"][0].update(parameter_name="x")),
    ("button index", lambda s: s["components"][2].update(index="5")),
    ("sub_type", lambda s: s["components"][2].update(sub_type="quick_reply")),
    ("no url button", lambda s: s["components"].pop(2)),
    ("language", lambda s: s.update(language={"code": "pt_BR"})),
    ("name", lambda s: s.update(name="nope")),
    ("too long", lambda s: s["components"][1]["parameters"][0].update(text="x" * 1100)),
]


@pytest.mark.parametrize(("what", "edit"), SEND_MISMATCHES, ids=[m[0] for m in SEND_MISMATCHES])
def test_precheck_and_sandbox_give_the_same_code(box: Any, what: str, edit: Any) -> None:
    _approved(box, ORDER)
    send = _variant(edit)
    with pytest.raises(TemplateMismatch) as local:
        box.client().validate_template_send(send)
    raw = {"messaging_product": "whatsapp", "to": "15550004321", "type": "template", "template": send}
    remote = box.graph("POST", f"{box.cfg.phone_number_id}/messages", json=raw)
    assert remote.status_code >= 400, what
    assert remote.json()["error"]["code"] == local.value.code, (what, remote.json(), str(local.value))


@pytest.mark.parametrize("status", ["PAUSED", "DISABLED", "PENDING", "REJECTED"])
def test_precheck_and_sandbox_agree_on_status(box: Any, status: str) -> None:
    tpl = _approved(box, ORDER)
    box.control.post(f"/_sandbox/templates/{tpl['id']}/status", json={"status": status}).raise_for_status()
    with pytest.raises(TemplateMismatch) as local:
        box.client().validate_template_send(ORDER_SEND)
    raw = {"messaging_product": "whatsapp", "to": "15550004321", "type": "template", "template": ORDER_SEND}
    remote = box.graph("POST", f"{box.cfg.phone_number_id}/messages", json=raw)
    assert remote.json()["error"]["code"] == local.value.code


NAMED_TPL = {
    "name": "welcome_named",
    "language": "en_US",
    "category": "MARKETING",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{first_name}}, your code {{code}} works today.",
            "example": {
                "body_text_named_params": [
                    {"param_name": "first_name", "example": "Ana"},
                    {"param_name": "code", "example": "X1"},
                ]
            },
        }
    ],
}
NAMED_SEND = {
    "name": "welcome_named",
    "language": {"code": "en_US"},
    "components": [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "parameter_name": "first_name", "text": "Ana"},
                {"type": "text", "parameter_name": "code", "text": "X1"},
            ],
        }
    ],
}
NAMED_MISMATCHES: list[tuple[str, Any]] = [
    ("no names", lambda s: [p.pop("parameter_name") for p in s["components"][0]["parameters"]]),
    ("wrong name", lambda s: s["components"][0]["parameters"][0].update(parameter_name="last_name")),
    ("missing one", lambda s: s["components"][0]["parameters"].pop()),
]


def test_named_send_fits(box: Any) -> None:
    _approved(box, NAMED_TPL)
    assert box.client().send_template_checked("15550004321", NAMED_SEND).wamid


@pytest.mark.parametrize(("what", "edit"), NAMED_MISMATCHES, ids=[m[0] for m in NAMED_MISMATCHES])
def test_named_mismatches_same_code_as_the_sandbox(box: Any, what: str, edit: Any) -> None:
    _approved(box, NAMED_TPL)
    send = copy.deepcopy(NAMED_SEND)
    edit(send)
    with pytest.raises(TemplateMismatch) as local:
        box.client().validate_template_send(send)
    raw = {"messaging_product": "whatsapp", "to": "15550004321", "type": "template", "template": send}
    remote = box.graph("POST", f"{box.cfg.phone_number_id}/messages", json=raw)
    assert remote.json()["error"]["code"] == local.value.code, (what, remote.json(), str(local.value))
