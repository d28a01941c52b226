"""The console's newer routes over real HTTP against ``wacloud serve`` (no browser): the live event feed
(SSE and its polling fallback), attachment errors on their field, a campaign's actions and CSV export per
number, the inbox per number with search by any id, and the event subscriptions' health and admin actions."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest

from .conftest import Served, wait_for

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
SECOND = "100000000000002"


def console(served: Served, role: str) -> tuple[httpx.Client, str]:
    """A signed-in console session (cookie) and its CSRF token."""
    web = httpx.Client(base_url=served.url, timeout=30)
    assert web.post("/console/signin", data={"api_key": served.keys[role]}).status_code == 303
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', web.get("/console/inbox").text)
    assert token is not None
    return web, token.group(1)


@pytest.fixture
def agent(served: Served) -> Iterator[tuple[httpx.Client, str]]:
    web, token = console(served, "agent")
    with closing(web):
        yield web, token


def test_live_feed_polls_the_events_after_a_cursor(served: Served, agent: tuple[httpx.Client, str]) -> None:
    web, _ = agent
    start = web.get("/console/live/poll").json()
    assert start["events"] == [] and isinstance(start["next"], int)
    with served.http() as http:
        assert http.post("/sandbox/_sandbox/inbound", json={"from": "15557300001", "text": "live?"}).status_code == 200

    def received() -> list[dict[str, object]]:
        page = web.get("/console/live/poll", params={"after": start["next"]}).json()
        return [e for e in page["events"] if e["type"] == "message.received" and e["wa_id"] == "15557300001"]

    found = wait_for(received, 20, "the customer's message in the live feed")
    assert found[0]["number"] and found[0]["position"] > start["next"]
    assert "live?" not in str(found)  # the feed says what changed, never the content
    # The SSE stream answers the same events (read from the cursor, then closed by us).
    with web.stream("GET", "/console/live", params={"after": start["next"]}) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines: list[str] = []
        for line in stream.iter_lines():
            lines.append(line)
            if line.startswith("data:") and "message.received" in line:
                break
    assert any(line == "event: console" for line in lines)
    # A key limited to the second number follows only that number's events.
    with served.http() as http:
        made = http.post("/v1/keys", json={"name": "second only", "role": "agent", "numbers": [SECOND]})
        assert made.status_code == 201, made.text
    served.keys["second"] = made.json()["key"]
    limited, _ = console(served, "second")
    with closing(limited):
        mine = limited.get("/console/live/poll", params={"after": start["next"]}).json()
        assert found[0]["number"] != SECOND  # the message above came to the first number ...
        assert all(e["number"] == SECOND for e in mine["events"]), mine  # ... and is not in this key's feed
    # Without a session there is no feed.
    assert httpx.get(f"{served.url}/console/live/poll", follow_redirects=False).status_code == 303


def test_attachment_errors_land_on_the_attachment_field(served: Served, agent: tuple[httpx.Client, str]) -> None:
    web, token = agent
    customer = "15557300002"
    with served.http() as http:
        said = http.post("/sandbox/_sandbox/inbound", json={"from": customer, "text": "send me the file"})
        assert said.status_code == 200
    exe = ("run.exe", b"MZ\x90\x00", "application/x-msdownload")
    bad_type = web.post(f"/console/inbox/{customer}/send", headers={"X-CSRF-Token": token},
                        data={"text": "here"}, files={"attachment": exe})
    assert bad_type.status_code == 200
    oob = re.search(r'<p id="attach-error"[^>]*hx-swap-oob="true">([^<]*)</p>', bad_type.text)
    assert oob is not None and "cannot send application/x-msdownload files" in oob.group(1), bad_type.text[-800:]
    too_big = web.post(f"/console/inbox/{customer}/send", headers={"X-CSRF-Token": token},
                       files={"attachment": ("big.png", PNG + b"\0" * (5 * 1024 * 1024), "image/png")})
    oob = re.search(r'<p id="attach-error"[^>]*>([^<]*)</p>', too_big.text)
    assert oob is not None and "at most 5 MB" in oob.group(1)
    # A good image is uploaded with the number's client and sent as an image message with its caption.
    good = web.post(f"/console/inbox/{customer}/send", headers={"X-CSRF-Token": token}, data={"text": "your receipt"},
                    files={"attachment": ("receipt.png", PNG, "image/png")})
    assert re.search(r'<p id="attach-error"[^>]*>\s*</p>', good.text), good.text[-800:]
    with served.http() as http:
        def on_phone() -> list[dict[str, object]]:
            got = http.get(f"/sandbox/_sandbox/customers/{customer}/messages").json()["received"]
            return [m for m in got if m.get("type") == "image"]

        image = wait_for(on_phone, 20, "the image on the customer's phone")[0]
    assert "your receipt" in str(image)


def test_inbox_per_number_and_search_by_any_id(served: Served, agent: tuple[httpx.Client, str]) -> None:
    web, _ = agent
    with served.http() as http:
        assert http.post("/sandbox/_sandbox/inbound", json={"from": "15557300003", "text": "first number",
                                                             "profile_name": "Mary First"}).status_code == 200
    page = wait_for(lambda: (lambda t: t if "Mary First" in t else "")(web.get("/console/inbox").text), 20,
                    "her conversation in the first number's inbox")
    assert 'id="inbox-number"' in page  # two numbers served: a picker
    other = web.get("/console/inbox", params={"number": SECOND}).text
    assert "Mary First" not in other  # she wrote to the first number only
    assert "Mary First" in web.get("/console/inbox/list", params={"q": "mary"}).text
    assert "Mary First" in web.get("/console/inbox/list", params={"q": "+15557300003"}).text
    # A customer with a BSUID and a username is found by either (the contacts model knows all their ids).
    with served.http() as http:
        made = http.post("/sandbox/_sandbox/customers", json={"wa_id": "15557300004", "username": "grace.h",
                                                              "profile_name": "Grace Hopper"})
        assert made.status_code in (200, 201), made.text
        bsuid = made.json()["user_id"]
        assert http.post("/sandbox/_sandbox/inbound", json={"from": "15557300004", "text": "ids"}).status_code == 200
    wait_for(lambda: "Grace Hopper" in web.get("/console/inbox/list").text, 20, "her conversation")
    for q in (bsuid, "@grace.h", "grace.h"):
        found = web.get("/console/inbox/list", params={"q": q}).text
        assert "Grace Hopper" in found and "Mary First" not in found, q
    # A key limited to the second number sees only that number's conversations, and no picker.
    with served.http() as http:
        made = http.post("/v1/keys", json={"name": "second inbox", "role": "agent", "numbers": [SECOND]})
        assert made.status_code == 201, made.text
    served.keys["second inbox"] = made.json()["key"]
    limited, _ = console(served, "second inbox")
    with closing(limited):
        theirs = limited.get("/console/inbox", params={"number": "100000000000001"}).text
        assert "Mary First" not in theirs and 'id="inbox-number"' not in theirs
        assert "Mary First" not in limited.get("/console/inbox/15557300003").text
    none = web.get("/console/inbox/list", params={"q": "nobody-like-this"}).text
    assert "Mary First" not in none and "No conversations" in none


def test_campaign_actions_and_export_per_number(served: Served) -> None:
    with served.http() as http:
        made = http.post("/sandbox/_sandbox/templates", json={
            "name": "later_offer", "language": "en_US", "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Hi {{1}}, an offer later.", "example": {"body_text": [["A"]]}}]})
        assert made.status_code == 200, made.text
        later = time.time() + 3600
        started = http.post("/v1/campaigns", json={
            "id": "cmp_later", "from": SECOND, "template": "later_offer", "language": "en_US", "start_at": later,
            "recipients": [{"to": f"+1555731{i:04d}", "parameters": [f"C{i}"]} for i in range(5)]})
        assert started.status_code == 202, started.text
    viewer, vtoken = console(served, "viewer")
    with closing(viewer):
        page = viewer.get("/console/campaigns/cmp_later").text
        assert "Pause campaign" not in page and "Download results (CSV)" in page  # a viewer looks only
        assert viewer.post("/console/campaigns/cmp_later/pause", headers={"X-CSRF-Token": vtoken},
                           data={"number": SECOND}).status_code == 403
    web, token = console(served, "agent")
    with closing(web):
        listed = web.get("/console/campaigns").text
        assert "cmp_later" in listed and "from " in listed  # scheduled, shown with its start
        paused = web.post("/console/campaigns/cmp_later/pause", headers={"X-CSRF-Token": token},
                          data={"number": SECOND}, follow_redirects=True)
        assert "Campaign cmp_later paused" in paused.text and "Resume campaign" in paused.text
        assert "Pause campaign" not in paused.text
        again = web.post("/console/campaigns/cmp_later/resume", headers={"X-CSRF-Token": token},
                         data={"number": SECOND}, follow_redirects=True)
        assert "resumed" in again.text and "Pause campaign" in again.text
        gone = web.post("/console/campaigns/cmp_later/cancel", headers={"X-CSRF-Token": token},
                        data={"number": SECOND}, follow_redirects=True)
        assert "cancelled" in gone.text and "Resume campaign" not in gone.text
        exported = web.get("/console/campaigns/cmp_later/export.csv", params={"number": SECOND})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len(rows) == 5 and {r["state"] for r in rows} == {"failed"}, rows
        assert web.get("/console/campaigns/cmp_nope").status_code == 404
    with served.http() as http:
        audit = http.get("/v1/audit").json()
    actions = [e["action"] for e in audit["entries"]]
    assert "console: pause campaign" in actions and "console: export campaign" in actions


def test_subscriptions_show_their_health_and_only_an_admin_acts(served: Served) -> None:
    with served.http() as http:
        made = http.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook", "start": "oldest"})
        assert made.status_code == 201, made.text
        sub_id = made.json()["id"]
        # An event to deliver (the port refuses: the attempt fails).
        assert http.post("/sandbox/_sandbox/inbound", json={"from": "15557300009", "text": "hook"}).status_code == 200
        wait_for(lambda: http.get(f"/v1/subscriptions/{sub_id}").json()["delivery"]["failed_attempts"] > 0, 30,
                 "a failed delivery attempt")
    web, token = console(served, "agent")
    with closing(web):
        row = re.search(rf'<tr data-subscription="{sub_id}">(.*?)</tr>', web.get("/console/ops").text, re.S)
        assert row is not None and "failing" in row.group(1) and "Pause" not in row.group(1)
        refused = web.post(f"/console/ops/subscriptions/{sub_id}/pause", headers={"X-CSRF-Token": token})
        assert refused.status_code == 403
    web, token = console(served, "admin")
    with closing(web):
        paused = web.post(f"/console/ops/subscriptions/{sub_id}/pause", headers={"X-CSRF-Token": token},
                          follow_redirects=True)
        assert f"Subscription {sub_id} paused." in paused.text
        row = re.search(rf'<tr data-subscription="{sub_id}">(.*?)</tr>', paused.text, re.S)
        assert row is not None and "paused: paused in the console" in row.group(1) and "Resume" in row.group(1)
        deleted = web.post(f"/console/ops/subscriptions/{sub_id}/delete", headers={"X-CSRF-Token": token},
                           follow_redirects=True)
        assert f"Subscription {sub_id} deleted." in deleted.text
        assert f'data-subscription="{sub_id}"' not in deleted.text
        # An admin subscribes a URL from the page: its signing secret is shown once.
        bad = web.post("/console/ops/subscriptions", headers={"X-CSRF-Token": token},
                       data={"url": "ftp://files.example.com"}, follow_redirects=True)
        assert "url: give an http:// or https:// URL with a host" in bad.text
        made = web.post("/console/ops/subscriptions", headers={"X-CSRF-Token": token},
                        data={"url": "https://crm.example.com/hooks/wa", "types": ["message.received", "nonsense"]})
        secret = re.search(r'id="new-secret" value="(whsec_[^"]+)"', made.text)
        assert made.status_code == 200 and secret is not None, made.text[-600:]
        listed = web.get("/console/ops").text
        new_id = re.search(r'Subscription <strong>(sub_[0-9a-f]+)</strong>', made.text)
        assert new_id is not None and f'data-subscription="{new_id.group(1)}"' in listed
        assert secret.group(1) not in listed
    with served.http() as http:
        created = http.get(f"/v1/subscriptions/{new_id.group(1)}").json()
    assert created["types"] == ["message.received"] and created["url"] == "https://crm.example.com/hooks/wa"
