"""Client plumbing on both flavours: error mapping, transport failures, configuration, token secrecy."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from wacloud import AsyncClient, Client, errors
from wacloud.client.models import UnexpectedResponse

from .conftest import PHONE_ID, TOKEN, Api, FakeGraph, Live

TO = "+18091234567"


def graph_error(code: int, status: int, **extra: Any) -> httpx.Response:
    """An error answer the way the Cloud API writes it."""
    body = errors.error_body(code, f"details for {code}", fbtrace_id=f"TRACE{code}", **extra)
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        (130429, 400, errors.RateLimited),
        (130429, 429, errors.RateLimited),
        (131056, 400, errors.PairRateLimited),
        (131047, 400, errors.WindowClosed),
        (131050, 400, errors.RecipientOptedOut),
        (131026, 400, errors.RecipientUnavailable),
        (190, 401, errors.AuthError),
        (100, 400, errors.InvalidRequest),
        (132001, 404, errors.TemplateError),
        (131000, 500, errors.ServerError),
        (133004, 503, errors.ServerError),
    ],
)
async def test_error_answers_raise_by_meaning(api: Api, graph: FakeGraph, code: int, status: int,
                                             cls: type[errors.WhatsAppError]) -> None:
    graph.fail_next(graph_error(code, status))
    with pytest.raises(cls) as info:
        await api.call("send_text", TO, "hi")
    exc = info.value
    assert type(exc) is cls
    assert (exc.code, exc.http_status, exc.fbtrace_id) == (code, status, f"TRACE{code}")
    assert exc.details == f"details for {code}"
    assert TOKEN not in str(exc)


@pytest.mark.parametrize(
    ("method", "args"),
    [("mark_as_read", ("wamid.X",)), ("media_url", ("123",)), ("delete_media", ("123",)),
     ("upload", (b"\x89PNG\r\n\x1a\n....", "image/png")), ("download", ("123",))],
)
async def test_every_operation_maps_errors(api: Api, graph: FakeGraph, method: str,
                                           args: tuple[Any, ...]) -> None:
    graph.fail_next(graph_error(131056, 400))
    with pytest.raises(errors.PairRateLimited):
        await api.call(method, *args)


async def test_non_json_error_bodies(api: Api, graph: FakeGraph) -> None:
    graph.fail_next(httpx.Response(502, text="<html>Bad Gateway</html>"))
    with pytest.raises(errors.ServerError) as info:
        await api.call("send_text", TO, "hi")
    assert info.value.http_status == 502
    graph.fail_next(httpx.Response(403, content=b""))
    with pytest.raises(errors.AuthError):
        await api.call("send_text", TO, "hi")


async def test_wrong_token_is_an_auth_error(api: Api) -> None:
    with pytest.raises(errors.AuthError) as info:
        await api.call("send_text", TO, "hi", client=api.client(token="wrong-token"))
    assert info.value.code == 190
    assert "wrong-token" not in str(info.value)


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("connection refused"), httpx.ReadTimeout("timed out"),
     httpx.RemoteProtocolError("peer closed connection"), httpx.ConnectTimeout("connect timeout")],
)
async def test_transport_failures_become_transport_errors(api: Api, graph: FakeGraph,
                                                          failure: Exception) -> None:
    graph.fail_next(failure)
    with pytest.raises(errors.TransportError) as info:
        await api.call("send_text", TO, "hi")
    text = str(info.value)
    assert type(failure).__name__ in text and f"{PHONE_ID}/messages" in text
    assert TOKEN not in text
    assert not isinstance(info.value, errors.WhatsAppError)


async def test_real_connection_refused(api: Api) -> None:
    # A real socket: nothing listens on port 9 of loopback (discard service is never enabled in CI).
    kind = Client if api.kind == "sync" else AsyncClient
    client = kind(token=TOKEN, phone_number_id=PHONE_ID, base_url="http://127.0.0.1:9", timeout=2.0)
    with pytest.raises(errors.TransportError):
        await api.call("send_text", TO, "hi", client=client)


@pytest.mark.parametrize(
    "answer",
    [{}, {"messages": []}, {"messages": [{}]}, {"messages": [{"id": ""}]}, {"messages": "x"}, None],
)
async def test_unexpected_success_bodies(api: Api, graph: FakeGraph, answer: Any) -> None:
    graph.fail_next(httpx.Response(200, json=answer))
    with pytest.raises(UnexpectedResponse):
        await api.call("send_text", TO, "hi")


async def test_unexpected_success_for_mark_read(api: Api, graph: FakeGraph) -> None:
    graph.fail_next(httpx.Response(200, json={"ok": 1}))
    with pytest.raises(UnexpectedResponse):
        await api.call("mark_as_read", "wamid.X")


async def test_base_url_and_version_are_used(api: Api, graph: FakeGraph) -> None:
    client = api.client(base_url="https://graph.example.test/", version="21")
    await api.call("send_text", TO, "hi", client=client)
    assert str(graph.requests[-1].url) == f"https://graph.example.test/v21.0/{PHONE_ID}/messages"
    client = api.client(version="v26.0")
    await api.call("mark_as_read", "wamid.X", client=client)
    assert graph.requests[-1].url.path == f"/v26.0/{PHONE_ID}/messages"


@pytest.mark.parametrize("version", ["v20.0", "v2", "latest", ""])
def test_old_or_bad_versions_are_refused(version: str) -> None:
    with pytest.raises(errors.ValidationError) as info:
        Client(token=TOKEN, version=version)
    assert info.value.field == "version"


def test_a_token_is_required() -> None:
    with pytest.raises(errors.ValidationError):
        Client(token="")


async def test_timeout_and_http_client_are_injectable(graph: FakeGraph) -> None:
    sync = Client(token=TOKEN, phone_number_id=PHONE_ID, timeout=httpx.Timeout(3.5),
                  transport=httpx.MockTransport(graph.handle))
    assert sync._http.timeout.read == 3.5
    shared = httpx.AsyncClient(transport=httpx.MockTransport(graph.handle))
    async with AsyncClient(token=TOKEN, phone_number_id=PHONE_ID, http_client=shared) as aclient:
        assert (await aclient.send_text(TO, "hi")).wamid.startswith("wamid.")
    assert not shared.is_closed  # a client we did not create is not closed for us
    await shared.aclose()
    with sync:
        assert sync.send_text(TO, "hi").wamid.startswith("wamid.")


async def test_token_never_in_logs_reprs_or_errors(api: Api, graph: FakeGraph,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = api.client()
    assert TOKEN not in repr(client) and TOKEN not in str(client)
    await api.call("send_text", TO, "hi", client=client)
    graph.fail_next(graph_error(190, 401))
    with pytest.raises(errors.AuthError) as auth:
        await api.call("send_text", TO, "hi", client=client)
    graph.fail_next(httpx.ConnectError("refused"))
    with pytest.raises(errors.TransportError) as transport:
        await api.call("send_text", TO, "hi", client=client)
    with pytest.raises(errors.ValidationError) as invalid:
        await api.call("send_text", "nope", "hi", client=client)
    for exc in (auth.value, transport.value, invalid.value):
        assert TOKEN not in str(exc) and TOKEN not in repr(exc)
        assert TOKEN not in repr(vars(exc))
    assert caplog.records, "expected httpx to log the requests at DEBUG"
    assert TOKEN not in caplog.text
    # The token did go out, in the Authorization header only.
    assert graph.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


# --- against the sandbox, over real HTTP ------------------------------------------------------


@pytest.mark.parametrize(("code", "cls"), [(130429, errors.RateLimited), (131000, errors.ServerError),
                                           (131056, errors.PairRateLimited), (100, errors.InvalidRequest)])
async def test_sandbox_errors_raise_by_meaning(live: Live, code: int,
                                               cls: type[errors.WhatsAppError]) -> None:
    live.sandbox.set_faults(codes={code: 1.0})
    with pytest.raises(cls) as info:
        await live.call("send_text", TO, "hi")
    assert info.value.code == code
    assert info.value.fbtrace_id


async def test_server_failures_and_dropped_connections(live: Live) -> None:
    live.sandbox.set_faults(error_500_rate=1.0)
    with pytest.raises(errors.ServerError) as info:
        await live.call("send_text", TO, "hi")
    assert info.value.http_status == 500
    live.sandbox.set_faults(error_500_rate=0.0, drop_rate=1.0)
    with pytest.raises(errors.TransportError):
        await live.call("send_text", TO, "hi")


async def test_bad_token_over_http(live: Live, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "EAAG-not-the-sandbox-token-42"
    client = live.client(token=secret)
    with pytest.raises(errors.AuthError) as info:
        await live.call("send_text", TO, "hi", client=client)
    assert info.value.code == 190
    assert secret not in str(info.value) and secret not in repr(client)
    assert secret not in caplog.text
    assert live.sandbox.token not in caplog.text


MESSAGING_AND_MEDIA = [
    "send", "send_body", "send_text", "send_image", "send_video", "send_audio", "send_document",
    "send_sticker", "send_location", "send_contacts", "send_buttons", "send_list", "send_cta_url",
    "send_location_request", "send_flow", "send_template", "react", "unreact", "mark_as_read", "typing",
    "upload", "media_url", "download", "delete_media",
]


@pytest.mark.parametrize("name", MESSAGING_AND_MEDIA)
def test_each_operation_is_written_once_for_both_clients(name: str) -> None:
    import inspect

    from wacloud.client.core import operation

    sync_attr = inspect.getattr_static(Client, name)
    assert isinstance(sync_attr, operation)
    assert inspect.getattr_static(AsyncClient, name) is sync_attr  # the same generator drives both
    assert sync_attr.__doc__ and sync_attr.__doc__.strip()
    client = Client(token=TOKEN)
    assert getattr(client, name).__doc__ == sync_attr.__doc__
