"""Echo bot. Terminal 1: ``wacloud sandbox --webhook-url http://127.0.0.1:8000/``; terminal 2: this file.

It listens on ``$PORT`` (default 8000) and reaches the sandbox at ``$WACLOUD_BASE_URL`` (default
``http://127.0.0.1:8089``, where ``wacloud sandbox`` listens).
"""

import os

import uvicorn

from wacloud import Client
from wacloud.bot import Application, filters

client = Client(token=os.environ.get("WACLOUD_TOKEN", "sandbox-token"),
                phone_number_id=os.environ.get("WACLOUD_PHONE_NUMBER_ID", "106540352242922"),
                base_url=os.environ.get("WACLOUD_BASE_URL", "http://127.0.0.1:8089"))
app = Application(client=client, app_secret=os.environ.get("WACLOUD_APP_SECRET", "sandbox-app-secret"),
                  verify_token=os.environ.get("WACLOUD_VERIFY_TOKEN", "my-verify-token"))


@app.on_message(filters.text)
def echo(msg):
    msg.reply_text(f"You said: {msg.text}", quote=True)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
