"""Numbers of two Meta apps (each app signs its webhooks with its own secret), and a bot answering each
customer from the number they wrote to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wacloud.bot import Application, filters

from .conftest import A, B, TwoNumbers, start_two_numbers, wait_for

SECOND_APP_SECRET = "second-meta-app-secret-42"


def _message(pid: str, display: str, customer: str, wamid: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "metadata": {"display_phone_number": display, "phone_number_id": pid},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": customer}],
            "messages": [{"from": customer, "id": wamid, "timestamp": "1767225600", "type": "text",
                          "text": {"body": "hello"}}]}


@pytest.fixture
def two_apps(tmp_path: Path) -> Iterator[TwoNumbers]:
    bot = Application()

    @bot.on_message(filters.text)
    async def echo(msg: Any) -> None:
        await msg.reply_text("got it")

    yield from start_two_numbers(tmp_path, [dict(A), {**B, "app_secret": SECOND_APP_SECRET}], bot=bot)


def test_each_apps_secret_signs_its_webhooks_and_the_bot_answers_from_that_number(two_apps: TwoNumbers) -> None:
    to_b = _message(B["phone_number_id"], B["display_phone_number"], "15552220002", "wamid.app2-1")
    assert two_apps.post_webhook(to_b, secret=SECOND_APP_SECRET).status_code == 200
    assert two_apps.post_webhook(to_b, secret="not-any-apps-secret").status_code == 403
    to_a = _message(A["phone_number_id"], A["display_phone_number"], "15552220001", "wamid.app1-1")
    assert two_apps.post_webhook(to_a).status_code == 200

    def replies() -> dict[str, str]:
        jobs = two_apps.http.get("/v1/jobs").json()["jobs"]
        return {j["to"]: j["phone_number_id"] for j in jobs}

    found = wait_for(lambda: len(replies()) == 2 and replies(), 20, "both replies queued")
    # Each customer is answered by the number they wrote to (within the window their message opened).
    assert found == {"15552220001": A["phone_number_id"], "15552220002": B["phone_number_id"]}
