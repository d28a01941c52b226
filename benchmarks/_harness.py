"""Shared plumbing for the benchmarks: subprocess servers on loopback, pywa pointed at the sandbox, figures.

Everything here binds 127.0.0.1 only. Servers the benchmark measures *against* (the sandbox, a receiver)
run in their own subprocess so that their CPU time is never charged to the process being measured.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
GRAPH_HOST = "graph.facebook.com"

SANDBOX_TOKEN = "bench-token"
SANDBOX_PHONE_ID = "106540352242922"
SANDBOX_WABA_ID = "102290129340398"
SANDBOX_APP_SECRET = "bench-app-secret"


# --- pywa, pointed at the sandbox ------------------------------------------------------------------------


def _rewrite(request: httpx.Request, target: httpx.URL) -> None:
    """Send a request meant for graph.facebook.com to ``target`` instead (same path and query)."""
    if request.url.host != GRAPH_HOST:
        return
    prefix = target.path.rstrip("/")
    request.url = request.url.copy_with(
        scheme=target.scheme, host=target.host, port=target.port, path=prefix + request.url.path
    )
    request.headers["Host"] = target.netloc.decode()


class GraphRewriteTransport(httpx.HTTPTransport):
    """An httpx transport that redirects ``https://graph.facebook.com/...`` to a local base URL.

    pywa hard-codes Meta's host (``session.base_url = "https://graph.facebook.com/v..."``), so this is
    the only way to point it at the sandbox without patching it: ``httpx.Client(transport=...)``.
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target = httpx.URL(base_url)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Rewrite the URL, then send as usual."""
        _rewrite(request, self._target)
        return super().handle_request(request)


class AsyncGraphRewriteTransport(httpx.AsyncHTTPTransport):
    """The asyncio twin of :class:`GraphRewriteTransport`, for ``pywa_async``."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target = httpx.URL(base_url)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Rewrite the URL, then send as usual."""
        _rewrite(request, self._target)
        return await super().handle_async_request(request)


def pywa_sync(
    base_url: str,
    *,
    token: str = SANDBOX_TOKEN,
    phone_id: str = SANDBOX_PHONE_ID,
    limits: httpx.Limits | None = None,
) -> Any:
    """A ``pywa.WhatsApp`` whose requests go to ``base_url`` (the sandbox)."""
    from pywa import WhatsApp

    session = httpx.Client(
        transport=GraphRewriteTransport(base_url, limits=limits or httpx.Limits()), timeout=30.0
    )
    return WhatsApp(phone_id=phone_id, token=token, session=session)


def pywa_async(
    base_url: str,
    *,
    token: str = SANDBOX_TOKEN,
    phone_id: str = SANDBOX_PHONE_ID,
    limits: httpx.Limits | None = None,
) -> Any:
    """A ``pywa_async.WhatsApp`` whose requests go to ``base_url`` (the sandbox)."""
    from pywa_async import WhatsApp

    session = httpx.AsyncClient(
        transport=AsyncGraphRewriteTransport(base_url, limits=limits or httpx.Limits()), timeout=30.0
    )
    return WhatsApp(phone_id=phone_id, token=token, session=session)


# --- subprocess servers ----------------------------------------------------------------------------------


def die_with_parent() -> None:
    """``preexec_fn`` for children: the kernel SIGKILLs them when this process dies (Linux).

    A benchmark or test killed by a timeout must not leave servers or workers running, where they would
    hold ports and claim the next run's jobs.
    """
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, *, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers anything at all (the server is up), or fail with the reason."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError as exc:
            last = exc
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up in {timeout}s: {last}")


@dataclass
class Server:
    """A server running in a subprocess on loopback."""

    proc: subprocess.Popen[bytes]
    base_url: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        """The server's process id."""
        return self.proc.pid

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to this server only, and reap it."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def spawn(module: str, args: Sequence[str], *, ready_path: str = "/", env: dict[str, str] | None = None,
          port: int | None = None, log: Path | None = None, timeout: float = 30.0) -> Server:
    """Run ``python -m module --port P *args`` and wait until ``http://127.0.0.1:P{ready_path}`` answers.

    A free port can be taken by someone else between our probe and the server's bind (parallel test
    runs): when the server exits before answering, it is started again on another port (3 tries).
    """
    # This tree first; the caller's own entries after it (a bench-only package such as pywa installed
    # with ``pip install --target`` stays importable by the server under test).
    path = os.pathsep.join(x for x in (str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH")) if x)
    full_env = {**os.environ, "PYTHONPATH": path, **(env or {})}
    for attempt in range(3):
        use_port = port or free_port()
        out = log.open("ab") if log else subprocess.DEVNULL
        proc = subprocess.Popen([PYTHON, "-m", module, "--port", str(use_port), *args], cwd=ROOT, env=full_env,
                                stdout=out, stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
                                preexec_fn=die_with_parent)
        base = f"http://127.0.0.1:{use_port}"
        try:
            wait_http(base + ready_path, timeout=timeout, proc=proc)
        except RuntimeError:
            proc.kill()
            proc.wait()
            if port is not None or attempt == 2 or proc.returncode not in (1, 3, -9):
                raise
            continue
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        return Server(proc, base)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running(module: str, args: Sequence[str], **kwargs: Any) -> Iterator[Server]:
    """:func:`spawn` as a context manager that always stops the server (its pid only)."""
    server = spawn(module, args, **kwargs)
    try:
        yield server
    finally:
        server.kill(signal.SIGTERM)


@contextlib.contextmanager
def sandbox(
    *,
    mps: int | None = None,
    seed: int = 1,
    webhook_url: str | None = None,
    extra_args: Sequence[str] = (),
    log: Path | None = None,
) -> Iterator[Server]:
    """The sandbox in a subprocess (see :mod:`benchmarks._sandbox_server`), with the bench credentials."""
    args = ["--seed", str(seed), *extra_args]
    if mps is not None:
        args += ["--mps", str(mps)]
    if webhook_url:
        args += ["--webhook-url", webhook_url]
    with running("benchmarks._sandbox_server", args, ready_path="/_sandbox/health", log=log) as server:
        server.extra.update(
            token=SANDBOX_TOKEN,
            phone_number_id=SANDBOX_PHONE_ID,
            waba_id=SANDBOX_WABA_ID,
            app_secret=SANDBOX_APP_SECRET,
        )
        yield server


# --- figures ---------------------------------------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system CPU time of *this* process (children, e.g. the sandbox, are not counted)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process in MiB (this one by default)."""
    import psutil

    return float(psutil.Process(pid or os.getpid()).memory_info().rss) / 2**20


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def mean(values: Sequence[float]) -> float:
    """The mean, or NaN for no values."""
    return statistics.fmean(values) if values else float("nan")


def base_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the flags every benchmark shares (``--json`` to save the figures)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    return parser


def cpu_model() -> str:
    """The processor's model name (Linux), else the platform's answer: ratios to pywa move with it (the parse
    ratio was 2.8-2.9x on one 2-core machine and 2.3-2.6x on an AMD EPYC one, the same code)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        # Other work on the machine skews every figure; the load average says how much there was.
        "loadavg_1_5_15": os.getloadavg(),
    }


def report(name: str, figures: dict[str, Any], summary: str, json_path: Path | None = None) -> None:
    """Print the figures, optionally save them, and print the one-line summary last."""
    payload = {"benchmark": name, **machine(), "figures": figures, "summary": summary}
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"machine: {payload['cpu']}, {payload['nproc']} cores, Python {payload['python']}, "
          f"load {' '.join(f'{x:.1f}' for x in payload['loadavg_1_5_15'])}", flush=True)
    print(f"SUMMARY {name}: {summary}", flush=True)


def fmt(x: float, digits: int = 2) -> str:
    """A number for the summary line."""
    if x != x:  # NaN
        return "n/a"
    return f"{x:,.{digits}f}"


# --- recipients ------------------------------------------------------------------------------------------

#: US area codes whose 555-xxxx lines libphonenumber accepts as valid mobile-or-fixed numbers.
_AREAS = ("650", "415", "212", "312", "617", "206", "303", "512", "702", "808")


def recipients(n: int, offset: int = 0) -> list[str]:
    """``n`` distinct, valid E.164 numbers (``+1<area>555xxxx``), starting at index ``offset``."""
    if offset + n > len(_AREAS) * 10_000:
        raise ValueError(f"at most {len(_AREAS) * 10_000} distinct recipients")
    out = []
    for i in range(offset, offset + n):
        area, line = divmod(i, 10_000)
        out.append(f"+1{_AREAS[area]}555{line:04d}")
    return out
