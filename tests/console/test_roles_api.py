"""Key roles through the HTTP API and the console's sign-in, CSRF and audit log (no browser)."""

from __future__ import annotations

import re

from .conftest import Served

TEXT = {"to": "+15557000001", "type": "text", "text": {"body": "hello"}}


def test_viewer_reads_but_cannot_send_or_manage(served: Served) -> None:
    with served.http("viewer") as http:
        assert http.get("/v1/jobs").status_code == 200
        refused = http.post("/v1/messages", json=TEXT)
        assert refused.status_code == 403, refused.text
        assert "read-only" in refused.json()["error"]["reason"]
        assert http.get("/v1/keys").status_code == 403
        assert http.get("/v1/audit").status_code == 403


def test_agent_sends_but_cannot_manage_keys(served: Served) -> None:
    with served.http("agent") as http:
        assert http.post("/v1/messages", json=TEXT).status_code == 202
        refused = http.post("/v1/keys", json={"name": "sneaky"})
        assert refused.status_code == 403 and "admin only" in refused.json()["error"]["reason"]


def test_admin_creates_keys_with_roles_and_reads_the_audit(served: Served) -> None:
    with served.http("admin") as http:
        made = http.post("/v1/keys", json={"name": "ops", "role": "viewer"})
        assert made.status_code == 201 and made.json()["role"] == "viewer"
        bad = http.post("/v1/keys", json={"name": "x", "role": "root"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "role"
        entries = http.get("/v1/audit").json()["entries"]
    actions = [(e["role"], e["action"], e["outcome"]) for e in entries]
    assert ("admin", "POST /v1/keys", "ok") in actions
    assert ("agent", "POST /v1/keys", "refused 403") in actions
    assert ("viewer", "POST /v1/messages", "refused 403") in actions


def test_cli_lists_roles_and_refuses_an_unknown_one(served: Served) -> None:
    listed = served.cli("keys", "list", "--json")
    assert {"agent", "viewer", "admin"} <= {k["role"] for k in __import__("json").loads(listed.stdout)["keys"]}
    bad = served.cli("keys", "create", "--role", "root")
    assert bad.returncode != 0 and "role" in (bad.stdout + bad.stderr)


def test_console_sign_in_sets_a_strict_httponly_cookie_and_needs_csrf(served: Served) -> None:
    import httpx

    with httpx.Client(base_url=served.url, timeout=20) as web:
        assert web.get("/console/inbox").headers.get("location", "").endswith("/console/signin")
        wrong = web.post("/console/signin", data={"api_key": "wk_nope"})
        assert wrong.status_code == 401 and "not valid" in wrong.text
        ok = web.post("/console/signin", data={"api_key": served.keys["agent"]})
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        page = web.get("/console/inbox")
        assert page.status_code == 200
        csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
        assert csrf is not None
        # A state-changing request without the token is refused, with it accepted.
        forged = web.post("/console/inbox/15557000001/take")
        assert forged.status_code == 403 and "CSRF" in forged.text
        taken = web.post("/console/inbox/15557000001/take", headers={"X-CSRF-Token": csrf.group(1)})
        assert taken.status_code in (200, 303), taken.text
