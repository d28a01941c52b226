"""A webhook receiver process for the crash test: ``python durable_server.py PORT DB LOG MODE``.

MODE ``hang``: handlers block forever (the process is SIGKILLed after answering 200).
MODE ``record``: handlers append each update id to LOG (one line each).
"""

from __future__ import annotations

import sys
import threading

import uvicorn

from wacloud.bot import Application
from wacloud.delivery import open_store
from wacloud.webhooks import Update

SECRET = "test-app-secret"


def main() -> None:
    port, db, log, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    app = Application(app_secret=SECRET, store=open_store(f"sqlite:///{db}"))
    lock = threading.Lock()

    @app.on_update()
    def handle(update: Update) -> None:
        if mode == "hang":
            threading.Event().wait()
        with lock, open(log, "a", encoding="utf-8") as f:
            f.write(f"{update.update_id}\n")

    uvicorn.run(app, host="127.0.0.1", port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
