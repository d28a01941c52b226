"""The webhook in a Flask app (``pip install flask``), answered before the handlers run.

    wacloud sandbox --webhook-url http://127.0.0.1:5000/webhook
    python examples/flask_app.py             # PORT=9000 python … to listen elsewhere

``bot.wsgi()`` is a WSGI app; werkzeug's DispatcherMiddleware (Flask depends on werkzeug) serves it
at ``/webhook`` beside the Flask routes. Its handlers run after Meta got its 200.
"""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

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
    msg.mark_as_read()
    msg.reply_text(msg.text or "")


app = Flask(__name__)


@app.get("/")
def index() -> str:
    return "the webhook is at /webhook"


app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/webhook": bot.wsgi()})  # type: ignore[method-assign]

if __name__ == "__main__":
    app.run(port=int(os.environ.get("PORT", "5000")))
