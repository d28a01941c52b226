"""Sends to business-scoped user ids, the Marketing Messages API, and the WABA's pricing/template analytics.

The sandbox does not emulate these yet, so the requests go over real HTTP to a recording server on
loopback (tests/client/recorder.py): each test checks the exact request the client built, and the typed
parsing of the documented answers. Both the blocking and the asyncio client run every case.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from wacloud import Client, errors
from wacloud.errors import ValidationError
from wacloud.messages import Template, Text
from wacloud.webhooks import parse as parse_webhook

from .recorder import Recorder, client_for, rec, run, serve

TOKEN = "EAAG-bsuid-marketing-token"
PHONE_ID = "436666719526789"
WABA_ID = "366634483210360"
BSUID = "US.13491208655302741918"
PARENT = "US.ENT.11815799212886844830"
SENT_TO_BSUID = {"messaging_product": "whatsapp", "contacts": [{"input": BSUID, "user_id": BSUID}],
                 "messages": [{"id": "wamid.BSUID1"}]}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Recorder, str]]:
    recorder = Recorder()
    with serve(recorder) as url:
        yield recorder, url


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest, server: tuple[Recorder, str]) -> Iterator[Any]:
    client = client_for(request.param, *server, token=TOKEN, phone_number_id=PHONE_ID, waba_id=WABA_ID)
    yield client
    if isinstance(client, Client):
        client.close()


# --- sends to a BSUID ---------------------------------------------------------------------------------


async def test_send_text_to_a_bsuid_uses_recipient(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", SENT_TO_BSUID)
    sent = await run(api, "send_text", BSUID, "hello", reply_to="wamid.IN1")
    assert sent.wamid == "wamid.BSUID1" and sent.user_id == BSUID and sent.wa_id is None
    assert rec(api).last.json() == {"messaging_product": "whatsapp", "recipient_type": "individual",
                                    "recipient": BSUID, "type": "text", "text": {"body": "hello"},
                                    "context": {"message_id": "wamid.IN1"}}


@pytest.mark.parametrize("address", [BSUID, PARENT])
async def test_every_send_shortcut_takes_a_bsuid(api: Any, address: str) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", SENT_TO_BSUID)
    await run(api, "send", address, Text("hi"))
    await run(api, "send_template", address, "order_ready", body=["Ada"])
    await run(api, "react", address, "wamid.IN1", "👍")
    for seen in rec(api).seen:
        body = seen.json()
        assert body["recipient"] == address and "to" not in body


async def test_a_phone_number_still_goes_in_to(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", {"contacts": [{"input": "+16505551234",
                                                                   "wa_id": "16505551234"}],
                                                     "messages": [{"id": "wamid.P"}]})
    await run(api, "send_text", "+1 650 555 1234", "hi")
    body = rec(api).last.json()
    assert body["to"] == "+16505551234" and "recipient" not in body


async def test_a_misspelt_bsuid_is_refused_before_sending(api: Any) -> None:
    with pytest.raises(ValidationError) as info:
        await run(api, "send_text", "us.13491208655302741918", "hi")
    assert info.value.field == "to"
    assert rec(api).seen == []


async def test_send_body_with_recipient_passes_through(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", SENT_TO_BSUID)
    raw = {"messaging_product": "whatsapp", "recipient": BSUID, "type": "text", "text": {"body": "hi"}}
    await run(api, "send_body", raw)
    assert rec(api).last.json()["recipient"] == BSUID


def _auth_definition() -> dict[str, Any]:
    return {"data": [{"id": "77", "name": "login_code", "language": "en_US", "status": "APPROVED",
                      "category": "AUTHENTICATION", "components": [
                          {"type": "BODY", "text": "*{{1}}* is your verification code."},
                          {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE",
                                                            "text": "Copy code"}]}]}]}


async def test_an_otp_template_to_a_bsuid_is_refused_naming_recipient(api: Any) -> None:
    rec(api).answer("GET", f"{WABA_ID}/message_templates", _auth_definition())
    template = {"name": "login_code", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "123456"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "123456"}]}]}
    with pytest.raises(ValidationError) as info:
        await run(api, "send_template_checked", BSUID, template)
    assert info.value.field == "recipient" and "131062" in info.value.reason
    assert [s.method for s in rec(api).seen] == ["GET"]  # looked the template up, never sent it


async def test_meta_refusing_a_bsuid_send_is_a_typed_error(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", {"error": {
        "message": "(#131062) Business-scoped User ID recipients are not supported for this message",
        "type": "OAuthException", "code": 131062, "fbtrace_id": "BSUID"}}, status=400)
    with pytest.raises(errors.RecipientIdNotSupported):
        await run(api, "send_text", BSUID, "hi")


def _username_only_webhook() -> dict[str, Any]:
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
             "contacts": [{"profile": {"name": "Ana", "username": "ana.w"}, "user_id": BSUID,
                           "parent_user_id": PARENT}],
             "messages": [{"from_user_id": BSUID, "id": "wamid.UNAME1", "timestamp": "1749416383",
                           "type": "text", "text": {"body": "hi, no number here"}}]}
    return {"object": "whatsapp_business_account",
            "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": value}]}]}


async def test_a_bot_reply_reaches_a_username_only_customer_by_bsuid(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", SENT_TO_BSUID)
    [update] = parse_webhook(_username_only_webhook())
    update.bind(api)
    result = update.reply_text("hello Ana", quote=True)  # type: ignore[attr-defined]
    if inspect.isawaitable(result):
        await result
    assert rec(api).last.json() == {"messaging_product": "whatsapp", "recipient_type": "individual",
                                    "recipient": BSUID, "type": "text", "text": {"body": "hello Ana"},
                                    "context": {"message_id": "wamid.UNAME1"}}


async def test_a_bot_reply_uses_the_phone_number_when_known(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/messages", SENT_TO_BSUID)
    payload = _username_only_webhook()
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = "16505551234"
    [update] = parse_webhook(payload)
    update.bind(api)
    result = update.reply_text("hello")  # type: ignore[attr-defined]
    if inspect.isawaitable(result):
        await result
    body = rec(api).last.json()
    assert body["to"] == "+16505551234" and "recipient" not in body


# --- Marketing Messages API ---------------------------------------------------------------------------


MM_ANSWER = {"messaging_product": "whatsapp", "contacts": [{"input": "16315552222", "wa_id": "16315552222"}],
             "messages": [{"id": "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww", "message_status": "accepted"}]}


async def test_send_marketing_builds_the_documented_body(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/marketing_messages", MM_ANSWER)
    sent = await run(api, "send_marketing", "+1 631 555 2222", Template("welcome_offer", "en_US"),
                     product_policy="CLOUD_API_FALLBACK", message_activity_sharing=True)
    seen = rec(api).last
    assert (seen.method, seen.path) == ("POST", f"{PHONE_ID}/marketing_messages")
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.json() == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16315552222",
                           "type": "template",
                           "template": {"name": "welcome_offer", "language": {"code": "en_US"}},
                           "product_policy": "CLOUD_API_FALLBACK", "message_activity_sharing": True}
    assert sent.wamid == "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww" and sent.message_status == "accepted"
    assert sent.wa_id == "16315552222"


async def test_send_marketing_template_with_parameters_strict_to_a_bsuid(api: Any) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/marketing_messages", SENT_TO_BSUID)
    await run(api, "send_marketing_template", BSUID, "promotional_offer", "en", body=["John Doe"],
              product_policy="STRICT", message_activity_sharing=False)
    assert rec(api).last.json() == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "recipient": BSUID, "type": "template",
        "template": {"name": "promotional_offer", "language": {"code": "en"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "John Doe"}]}]},
        "product_policy": "STRICT", "message_activity_sharing": False}


async def test_marketing_options_are_checked_before_sending(api: Any) -> None:
    with pytest.raises(ValidationError) as info:
        await run(api, "send_marketing", "+16315552222", Template("sale", "en"), product_policy="ALWAYS")
    assert info.value.field == "product_policy"
    with pytest.raises(ValidationError) as info:
        await run(api, "send_marketing", "+16315552222", Text("hi"))
    assert info.value.field == "template"
    assert rec(api).seen == []


@pytest.mark.parametrize(("code", "exc"), [(134101, errors.TemplateError), (134102, errors.TemplateNotReady),
                                           (131049, errors.RecipientUnavailable)])
async def test_marketing_errors_are_typed(api: Any, code: int, exc: type[Exception]) -> None:
    rec(api).answer("POST", f"{PHONE_ID}/marketing_messages",
                    {"error": {"message": f"(#{code})", "type": "OAuthException", "code": code}}, status=400)
    with pytest.raises(exc):
        await run(api, "send_marketing", "+16315552222", Template("sale", "en"))


async def test_set_marketing_ttl(api: Any) -> None:
    assert await run(api, "set_marketing_ttl", "1234567890", 86400) is True
    assert (rec(api).last.path, rec(api).last.json()) == ("1234567890", {"message_send_ttl_seconds": 86400})
    for bad in (3600, 31 * 24 * 3600):
        with pytest.raises(ValidationError) as info:
            await run(api, "set_marketing_ttl", "1234567890", bad)
        assert info.value.field == "message_send_ttl_seconds"
    assert len(rec(api).seen) == 1


# --- analytics ----------------------------------------------------------------------------------------


PRICING_ANSWER = {"pricing_analytics": {"data": [{"data_points": [
    {"start": 1751328000, "end": 1751414400, "country": "US", "pricing_category": "MARKETING",
     "pricing_type": "REGULAR", "volume": 120, "cost": 3.0},
    {"start": 1751328000, "end": 1751414400, "country": "BR", "pricing_category": "UTILITY",
     "pricing_type": "FREE_CUSTOMER_SERVICE", "volume": 40, "cost": 0},
]}]}, "id": WABA_ID}


async def test_pricing_analytics_request_and_typed_answer(api: Any) -> None:
    rec(api).answer("GET", WABA_ID, PRICING_ANSWER)
    result = await run(api, "pricing_analytics", datetime(2025, 7, 1, tzinfo=UTC), 1751414400,
                       granularity="daily", metric_types=["COST", "VOLUME"], country_codes=["US", "BR"],
                       dimensions=["COUNTRY", "PRICING_CATEGORY", "PRICING_TYPE"])
    seen = rec(api).last
    assert (seen.method, seen.path) == ("GET", WABA_ID)
    assert seen.query == {"fields": 'pricing_analytics.start(1751328000).end(1751414400).granularity(DAILY)'
                                    '.country_codes(["US","BR"]).metric_types(["COST","VOLUME"])'
                                    '.dimensions(["COUNTRY","PRICING_CATEGORY","PRICING_TYPE"])'}
    assert [p.country for p in result.data_points] == ["US", "BR"]
    assert result.data_points[0].pricing_category == "MARKETING" and result.data_points[0].volume == 120
    assert result.total_cost == 3.0 and result.total_volume == 160


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"granularity": "WEEKLY"}, "granularity[0]"),
    ({"dimensions": ["COLOUR"]}, "dimensions[0]"),
    ({"metric_types": "COST"}, "metric_types"),
    ({"start": 1751414400}, "end"),
    ({"start": datetime(2025, 7, 1)}, "start"),
])
async def test_pricing_analytics_arguments_are_checked(api: Any, kwargs: dict[str, Any], field: str) -> None:
    args = {"start": 1751328000, "end": 1751414400, **kwargs}
    with pytest.raises(ValidationError) as info:
        await run(api, "pricing_analytics", **args)
    assert info.value.field == field
    assert rec(api).seen == []


TEMPLATE_ANSWER = {"data": [{"granularity": "DAILY", "product_type": "cloud_api", "data_points": [
    {"template_id": "1924084211297547", "start": 1751328000, "end": 1751414400, "sent": 10, "delivered": 9,
     "read": 7, "clicked": [{"type": "quick_reply_button", "button_content": "Tell me more", "count": 3}],
     "cost": [{"type": "amount_spent", "value": 0.25}, {"type": "cost_per_delivered", "value": 0.03}]},
]}], "paging": {"cursors": {"before": "MAZDZD", "after": "MjQZD"}}}


async def test_template_analytics_request_and_typed_answer(api: Any) -> None:
    rec(api).answer("GET", f"{WABA_ID}/template_analytics", TEMPLATE_ANSWER)
    result = await run(api, "template_analytics", ["1924084211297547"], 1751328000, 1751414400,
                       metric_types=["sent", "delivered", "read", "clicked", "cost"], product_type="cloud_api")
    seen = rec(api).last
    assert seen.query == {"start": "1751328000", "end": "1751414400", "granularity": "DAILY",
                          "template_ids": '["1924084211297547"]',
                          "metric_types": '["SENT","DELIVERED","READ","CLICKED","COST"]', "product_type": "cloud_api"}
    [point] = result.data_points
    assert (point.sent, point.delivered, point.read) == (10, 9, 7)
    assert point.clicked[0].button_content == "Tell me more" and point.clicked[0].count == 3
    assert point.cost_of() == 0.25 and point.cost_of("cost_per_delivered") == 0.03
    assert result.granularity == "DAILY" and result.paging is not None


async def test_template_analytics_takes_one_to_ten_templates(api: Any) -> None:
    for ids in ([], [str(i) for i in range(11)]):
        with pytest.raises(ValidationError) as info:
            await run(api, "template_analytics", ids, 1751328000, 1751414400)
        assert info.value.field == "template_ids"
    assert rec(api).seen == []


async def test_a_malformed_analytics_answer_is_an_unexpected_response(api: Any) -> None:
    rec(api).answer("GET", f"{WABA_ID}/template_analytics", {"data": [{"data_points": [{"sent": 1}]}]})
    with pytest.raises(errors.WacloudError):
        await run(api, "template_analytics", ["1"], 1751328000, 1751414400)
