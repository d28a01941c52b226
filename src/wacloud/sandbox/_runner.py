"""Running the sandbox: building a config from keywords, uvicorn in a thread, and ``serve()``."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from wacloud.sandbox._app import SandboxApp


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerThread:
    """uvicorn serving an ASGI app on loopback in a daemon thread."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.config = uvicorn.Config(
            app,
            host=host,
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(self.config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait until the socket accepts connections."""
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if self.server.started:
                return
            if not self._thread.is_alive():
                break
            deadline.wait(0.01)
        raise RuntimeError(f"uvicorn did not start on {self.host}:{self.port}")

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"


def serve(host: str = "127.0.0.1", port: int = 8089, **config: Any) -> None:
    """Run the sandbox in the foreground (blocking), printing the base URL, the token and the ids."""
    from wacloud.sandbox._app import create_sandbox_app

    if config.get("seed") is None:
        # Unseeded, each run draws its own seed: the id counters restart with the process, and a fixed
        # seed would mint the previous run's wamids again, which a receiver's durable dedup store drops.
        config["seed"] = secrets.randbits(32)
    app: SandboxApp = create_sandbox_app(None, **config)
    cfg = app.state.config
    base = f"http://{host}:{port}"
    print(f"wacloud sandbox listening on {base}")
    print(f"  base URL (Graph API):  {base}/{cfg.default_version}")
    print(f"  access token:          {cfg.access_token}")
    print(f"  phone number id:       {cfg.phone_number_id}  (display number {cfg.display_phone_number})")
    print(f"  WABA id:               {cfg.waba_id}")
    print(f"  app secret:            {cfg.app_secret}")
    print(f"  webhook URL:           {cfg.webhook_url or '(none: set one with POST /_sandbox/config)'}")
    print(f"  throughput:            {cfg.mps:g} mps, seed {cfg.seed} (--seed {cfg.seed} repeats this run)")
    print(f"  control API:           {base}/_sandbox/")
    active = {k: v for k, v in cfg.faults.as_dict().items() if v and k != "timeout_s"}
    if active:
        # After the fixed lines, so scripts reading the banner keep working.
        print(f"  faults:                {json.dumps(active, sort_keys=True)}")
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
