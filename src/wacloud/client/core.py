"""The I/O-free core shared by :class:`~wacloud.Client` and :class:`~wacloud.AsyncClient`.

Every API method is written once, as a generator that *yields* :class:`Request` objects and receives
:class:`Response` objects back, then returns its typed result. The :func:`operation` descriptor turns
such a generator into a plain method on the sync client and a coroutine method on the async client:
only the runner that performs the I/O differs. Multi-step calls (get a media URL, then download it)
are just generators that yield twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import wacloud.errors as errors
from wacloud._deprecation import renamed
from wacloud.limits import DEFAULT_API_VERSION, MIN_API_VERSION

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_BASE_URL = "https://graph.facebook.com"


@dataclass(slots=True)
class Request:
    """One HTTP request, described without doing it.

    ``path`` is relative to ``{base_url}/{version}`` unless ``absolute`` is set (media download URLs).
    ``stream_to`` asks the runner to write the body to that file instead of keeping it in memory.
    ``content`` is a raw request body; ``headers`` are extra headers (the Authorization header always wins).
    """

    method: str
    path: str
    params: Mapping[str, str | int] | None = None
    json: Any = None
    data: Mapping[str, str] | None = None
    files: Mapping[str, tuple[str, bytes | IO[bytes], str]] | None = None
    absolute: bool = False
    stream_to: Path | IO[bytes] | None = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None


@dataclass(slots=True)
class Response:
    """What a runner got back. ``sha256`` is set when the body was streamed to a file."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes = b""
    sha256: str | None = None
    streamed_bytes: int = 0
    _json: Any = field(default=None, repr=False)

    def json(self) -> Any:
        """The body parsed as JSON (None when it is empty or not JSON)."""
        if self._json is None and self.content:
            try:
                self._json = json.loads(self.content)
            except ValueError:
                self._json = None
        return self._json


#: An operation body: yields requests, receives responses, returns the result.
Operation = Generator[Request, Response, T]


def check(response: Response) -> Response:
    """Raise the matching :class:`~wacloud.errors.WhatsAppError` for a non-2xx response."""
    if response.status_code >= 400:
        raise errors.from_response(response.json(), response.status_code)
    return response


def call(request: Request) -> Generator[Request, Response, Any]:
    """Yield ``request``, raise on an error answer, return the JSON body."""
    response = yield request
    return check(response).json()


def normalize_version(version: str) -> str:
    """Return ``vNN.N`` for any accepted spelling; versions before v21.0 are refused."""
    text = version.strip().lower().removeprefix("v")
    try:
        major_s, _, minor_s = text.partition(".")
        major, minor = int(major_s), int(minor_s or "0")
    except ValueError:
        raise errors.ValidationError("version", f"not a Graph API version: {version!r}") from None
    if (major, minor) < MIN_API_VERSION:
        raise errors.ValidationError(
            "version", f"v{major}.{minor} is no longer served; use v{MIN_API_VERSION[0]}.0 or later"
        )
    return f"v{major}.{minor}"


class ApiConfig:
    """Credentials and ids every operation needs. The token is kept out of ``repr``."""

    def __init__(
        self,
        *,
        token: str,
        phone_number_id: str | None = None,
        waba_id: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        version: str = DEFAULT_API_VERSION,
        app_id: str | None = None,
        default_region: str | None = None,
    ) -> None:
        if not token:
            raise errors.ValidationError("token", "an access token is required")
        self._token = token
        self.phone_number_id = phone_number_id
        self.waba_id = waba_id
        self.app_id = app_id
        self.base_url = base_url.rstrip("/")
        self.version = normalize_version(version)
        #: ISO region used for recipient numbers typed without ``+`` and country code ("DO", "US"…).
        self.default_region = default_region

    @property
    def api_root(self) -> str:
        """``{base_url}/{version}``, the prefix of every relative path."""
        return f"{self.base_url}/{self.version}"

    def auth_headers(self) -> dict[str, str]:
        """The Authorization header (the one place the token is read)."""
        return {"Authorization": f"Bearer {self._token}"}

    def require_phone(self, phone_number_id: str | None = None) -> str:
        """The phone-number id for a call, or a clear error when none was configured."""
        pid = phone_number_id or self.phone_number_id
        if not pid:
            raise errors.ValidationError("phone_number_id", "no phone number id given or configured")
        return pid

    def require_waba(self, waba_id: str | None = None) -> str:
        """The WABA id for a call, or a clear error when none was configured."""
        wid = waba_id or self.waba_id
        if not wid:
            raise errors.ValidationError("waba_id", "no WhatsApp Business Account id given or configured")
        return wid

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r}, "
            f"base_url={self.base_url!r}, version={self.version!r}, token='***')"
        )


class SyncRunner(ApiConfig):
    """Marker base of clients whose operations return their result directly."""

    def _run(self, flow: Operation[T]) -> T:  # pragma: no cover - overridden
        raise NotImplementedError


class AsyncRunner(ApiConfig):
    """Marker base of clients whose operations return coroutines."""

    async def _run(self, flow: Operation[T]) -> T:  # pragma: no cover - overridden
        raise NotImplementedError


class operation(Generic[P, T]):  # lower-case: used as a decorator, like ``property``
    """Decorator: one generator method becomes a sync method or an async method, by client type."""

    def __init__(self, fn: Callable[Concatenate[Any, P], Operation[T]]) -> None:
        self._fn = fn
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> operation[P, T]: ...

    @overload
    def __get__(self, obj: SyncRunner, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(self, obj: AsyncRunner, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        fn = self._fn

        def bound(*args: Any, **kwargs: Any) -> Any:
            return obj._run(fn(obj, *args, **kwargs))

        bound.__name__ = fn.__name__
        bound.__doc__ = fn.__doc__
        return bound

    def flow(self, obj: ApiConfig, *args: P.args, **kwargs: P.kwargs) -> Operation[T]:
        """The bare generator, for composing operations or driving it with a custom runner."""
        return self._fn(obj, *args, **kwargs)


#: Old names kept for one release (``Flow`` read like WhatsApp Flows).
_RENAMED = {"Flow": "Operation"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals().__getitem__)
