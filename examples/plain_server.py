"""The framework-free receiver under the standard library's HTTP server (no dependencies).

    wacloud sandbox --webhook-url http://127.0.0.1:8000/
    python examples/plain_server.py          # PORT=9000 python … to listen elsewhere

Shows the two plain functions any framework can call: ``handle_get(query)`` and
``handle_post(raw_body, headers)``, both returning ``(status, body)``.
"""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

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
    msg.reply_text(f"plain echo: {msg.text}")


class Handler(BaseHTTPRequestHandler):
    """GET → handshake, POST → updates."""

    def do_GET(self) -> None:
        status, text = bot.handle_get(urlsplit(self.path).query)
        self._answer(status, text.encode(), "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > bot.receiver.max_body_bytes:
            self._answer(413, b'{"error": "body too large"}', "application/json")
            return
        status, body = bot.handle_post(self.rfile.read(length), dict(self.headers))
        self._answer(status, body, "application/json")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8000"))), Handler).serve_forever()
