"""The webhook inside a FastAPI app, with an async client, filters and a durable SQLite store.

    wacloud sandbox --webhook-url http://127.0.0.1:8000/whatsapp/webhook
    uvicorn examples.fastapi_mount:api --port 8000

The raw payload is written to the store before Meta gets its 200; if the process dies before the
handlers ran, they run when it starts again (the lifespan below calls ``startup``).
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from wacloud import AsyncClient
from wacloud.bot import Application, filters
from wacloud.delivery import open_store
from wacloud.webhooks import MessageUpdate, StatusUpdate, WebhookApp
from wacloud.webhooks.asgi import route

client = AsyncClient(token=os.environ.get("WACLOUD_TOKEN", "sandbox-token"),
                     phone_number_id=os.environ.get("WACLOUD_PHONE_NUMBER_ID", "106540352242922"),
                     base_url=os.environ.get("WACLOUD_BASE_URL", "http://127.0.0.1:8089"))
bot = Application(client=client, app_secret=os.environ.get("WACLOUD_APP_SECRET", "sandbox-app-secret"),
                  verify_token=os.environ.get("WACLOUD_VERIFY_TOKEN", "my-verify-token"),
                  store=open_store(os.environ.get("WACLOUD_STORE", "sqlite:///webhooks.db")))


@bot.on_message(filters.command("start"))
async def start(msg: MessageUpdate) -> None:
    await msg.typing()
    await msg.reply_text("Welcome! Send me a photo or say hi.")


@bot.on_message(filters.text & filters.matches(r"(?i)^(hi|hello)\b"))
async def greet(msg: MessageUpdate) -> None:
    await msg.reply_text(f"Hello {msg.name or 'there'}!")


@bot.on_message(filters.image)
async def photo(msg: MessageUpdate) -> None:
    assert msg.media is not None
    data = await msg.media.download()
    await msg.reply_text(f"Got your photo ({len(data)} bytes).")


@bot.on_button(filters.button_ids("yes", "no"))
async def answer(msg: MessageUpdate) -> None:
    await msg.react("👍")


@bot.on_status(filters.failed)
async def failed(update: StatusUpdate) -> None:
    print("delivery failed:", update.id, [(e.code, e.title) for e in update.errors])


hook = WebhookApp(bot)


@asynccontextmanager
async def lifespan(app: FastAPI) -> Any:
    await hook.startup()  # process what a crash left in the store
    yield
    await client.aclose()


api = FastAPI(lifespan=lifespan)
api.router.routes.append(route(hook, "/whatsapp/webhook"))


@api.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}
