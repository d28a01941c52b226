"""The webhook as a Django view, with the framework-free functions (``pip install django``).

``handle_get(query)`` and ``handle_post(raw_body, headers)`` take plain values and return
``(status, body)``, so any framework fits. Add to ``urls.py``::

    path("whatsapp/webhook", views.whatsapp_webhook)

``handle_post`` runs the handlers before it returns; to answer first, call
``bot.receiver.accept(...)`` in the view and ``bot.receiver.process_sync(delivery)`` from a task
queue, or serve ``bot.wsgi()`` (which answers first) from the WSGI entry point instead.
"""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from wacloud import Client
from wacloud.bot import Application, filters
from wacloud.webhooks import MessageUpdate

client = Client(token=os.environ.get("WACLOUD_TOKEN", "sandbox-token"),
                phone_number_id=os.environ.get("WACLOUD_PHONE_NUMBER_ID", "106540352242922"),
                base_url=os.environ.get("WACLOUD_BASE_URL", "http://127.0.0.1:8089"))
bot = Application(client=client, app_secret=os.environ.get("WACLOUD_APP_SECRET", "sandbox-app-secret"),
                  verify_token=os.environ.get("WACLOUD_VERIFY_TOKEN", "my-verify-token"))


@bot.on_message(filters.text)
def echo(msg: MessageUpdate) -> None:
    msg.reply_text(msg.text or "")


@csrf_exempt
def whatsapp_webhook(request: HttpRequest) -> HttpResponse:
    """GET: Meta's verification handshake; POST: signed updates."""
    if request.method == "GET":
        status, text = bot.handle_get(request.GET)
        return HttpResponse(text, status=status, content_type="text/plain")
    status, body = bot.handle_post(request.body, request.headers)
    return HttpResponse(body, status=status, content_type="application/json")
