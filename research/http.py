"""A small HTTP layer: a pluggable transport, retries with backoff, and a throttle.

A :class:`Transport` is any callable taking a :class:`Request` and returning a
:class:`Response` (status, headers, body bytes). :class:`UrllibTransport` is the
default, on the standard library. Tests pass a fake transport.

Three limits keep a silent server from hanging a pull: a connect timeout (no TCP or
TLS connection within it), a read timeout (no byte within it once connected) and a
total deadline over every attempt and wait of one :func:`fetch`. Each retry prints
one line to stderr (``retry 1/4 in 1 s: no answer within 30 s from host``), and the
final :class:`~research.errors.FetchError` says what happened: "no answer within
30 s" when no server answered, the server's message only when one did.

:func:`fetch` retries only what can succeed on a second try: HTTP 429 (honouring
``Retry-After`` in seconds or as an HTTP date), the transient server errors
500, 502, 503 and 504, and timeouts. Waits grow exponentially up to a cap, and
after ``max_attempts`` the last failure becomes a :class:`~research.errors.FetchError`.
Any other 4xx (or 3xx left unfollowed) fails at once with a ``FetchError`` carrying
the URL, the status and the server's message. ``sleep`` and the clocks are
injectable so that tests never wait.
"""

from __future__ import annotations

import email.utils
import functools
import http.client
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from research.errors import FetchError, ParameterError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "research-toolkit (export controls on dual-use goods)"
MESSAGE_LIMIT = 500  # characters of a server message kept in an error
CONNECT_TIMEOUT = 10.0  # seconds to open a connection (TCP and TLS)
READ_TIMEOUT = 30.0  # seconds without a byte from a connected server
TOTAL_DEADLINE = 600.0  # seconds for all attempts and waits of one fetch
CHUNK = 1 << 16  # bytes read at a time, so the deadline is checked while a body trickles


@dataclass(frozen=True)
class Request:
    """One HTTP request."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "GET"
    timeout: float = READ_TIMEOUT  # read timeout: seconds without a byte from the server
    connect_timeout: float = CONNECT_TIMEOUT
    deadline: float | None = None  # seconds this attempt may take in all (None: no limit)

    @property
    def host(self) -> str:
        """The host (and port) the request goes to, for messages."""
        return urllib.parse.urlsplit(self.url).netloc or self.url


@dataclass(frozen=True)
class Response:
    """One HTTP response: status, headers (looked up case-insensitively) and body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str = ""

    def header(self, name: str, default: str | None = None) -> str | None:
        """The value of header ``name``, whatever its case, or ``default``."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.body.decode("utf-8", errors="replace")


class Transport(Protocol):
    """Sends a request, returns the response whatever its status; raises TimeoutError on timeout."""

    def __call__(self, request: Request) -> Response: ...  # pragma: no cover - a protocol


class ConnectTimeout(TimeoutError):
    """No connection to the server within the connect timeout."""


class ReadTimeout(TimeoutError):
    """Connected, but the server sent nothing within the read timeout (or the attempt's
    deadline passed while its answer trickled in)."""


def _timed(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
    """``base`` whose ``connect`` uses the connect timeout, then sets the read timeout."""

    class Timed(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, read_timeout: float, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self.read_timeout = read_timeout

        def connect(self) -> None:
            try:
                super().connect()
            except TimeoutError as error:
                raise ConnectTimeout(f"no connection within {self.timeout:g} s to "
                                     f"{self.host}") from error
            self.sock.settimeout(self.read_timeout)

    return Timed


_TimedHTTP = _timed(http.client.HTTPConnection)
_TimedHTTPS = _timed(http.client.HTTPSConnection)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_TimedHTTP, read_timeout=self.read_timeout), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float) -> None:
        super().__init__()
        self.read_timeout = read_timeout

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(functools.partial(_TimedHTTPS, read_timeout=self.read_timeout),
                            req, context=self._context)


def _read_body(handle: object, request: Request, read_timeout: float, started: float) -> bytes:
    """The whole body, read in chunks so that the attempt's deadline holds."""
    chunks: list[bytes] = []
    while True:
        try:
            chunk = handle.read(CHUNK)  # type: ignore[attr-defined]
        except TimeoutError as error:
            raise ReadTimeout(f"no answer within {read_timeout:g} s from "
                              f"{request.host}") from error
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        if request.deadline is not None and time.monotonic() - started > request.deadline:
            raise ReadTimeout(f"the answer from {request.host} was still arriving after "
                              f"{request.deadline:g} s")


class UrllibTransport:
    """The default transport on ``urllib.request`` (proxies and redirects as usual).

    HTTP error statuses come back as responses (not exceptions) so that
    :func:`fetch` decides what to retry. The connect and read timeouts of the request
    apply separately (each cut to the attempt's ``deadline``); they raise
    :class:`ConnectTimeout` and :class:`ReadTimeout` (both ``TimeoutError``). A
    connection that cannot be made raises :class:`~research.errors.FetchError`.
    """

    def __call__(self, request: Request) -> Response:
        started = time.monotonic()
        connect_timeout, read_timeout = request.connect_timeout, request.timeout
        if request.deadline is not None:
            connect_timeout = min(connect_timeout, request.deadline)
            read_timeout = min(read_timeout, request.deadline)
        opener = urllib.request.build_opener(_HTTPHandler(read_timeout),
                                             _HTTPSHandler(read_timeout))
        headers = {"User-Agent": USER_AGENT, **dict(request.headers)}
        prepared = urllib.request.Request(request.url, headers=headers, method=request.method)
        try:
            with opener.open(prepared, timeout=connect_timeout) as handle:
                body = _read_body(handle, request, read_timeout, started)
                return Response(handle.status, dict(handle.headers.items()), body,
                                handle.geturl())
        except urllib.error.HTTPError as error:
            try:
                body = _read_body(error, request, read_timeout, started) if error.fp else b""
            except ReadTimeout:
                body = b""
            return Response(error.code, dict(error.headers.items()) if error.headers else {},
                            body, request.url)
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, ConnectTimeout | ReadTimeout):
                raise reason from error
            if isinstance(reason, TimeoutError):
                raise ReadTimeout(f"no answer within {read_timeout:g} s from "
                                  f"{request.host}") from error
            raise FetchError(request.url, f"cannot connect: {reason}") from error
        except (ConnectTimeout, ReadTimeout):
            raise
        except TimeoutError as error:  # a timeout while reading the status line or headers
            raise ReadTimeout(f"no answer within {read_timeout:g} s from "
                              f"{request.host}") from error


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    The wait before retry ``n`` (1-based) is ``min(backoff_max, backoff_base *
    backoff_factor ** (n - 1))`` unless the server sent ``Retry-After``, which wins.
    A ``Retry-After`` longer than ``max_retry_after`` seconds ends the run at once.
    """

    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_factor: float = 2.0
    backoff_max: float = 60.0
    max_retry_after: float = 900.0

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 for the first retry)."""
        return min(self.backoff_max, self.backoff_base * self.backoff_factor ** (retry - 1))


DEFAULT_POLICY = RetryPolicy()


class Throttle:
    """At least ``min_interval`` seconds between the starts of two calls.

    Parameters
    ----------
    min_interval : seconds between calls.
    clock : monotonic clock in seconds (default ``time.monotonic``).
    sleep : waits a number of seconds (default ``time.sleep``).
    """

    def __init__(self, min_interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if min_interval < 0:
            raise ParameterError(f"min_interval must be >= 0, got {min_interval}")
        self.min_interval = min_interval
        self.clock, self.sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> float:
        """Sleep until the interval has passed since the previous call; return the wait."""
        now = self.clock()
        waited = 0.0
        if self._last is not None:
            waited = max(0.0, self._last + self.min_interval - now)
            if waited > 0:
                self.sleep(waited)
        self._last = now + waited
        return waited


_SHARED_THROTTLES: dict[tuple[str, float], Throttle] = {}


def shared_throttle(name: str, min_interval: float) -> Throttle:
    """One throttle per API name and interval for the whole process, so that separate
    calls of a loader are spaced too."""
    key = (name, float(min_interval))
    if key not in _SHARED_THROTTLES:
        _SHARED_THROTTLES[key] = Throttle(min_interval)
    return _SHARED_THROTTLES[key]


def build_url(url: str, params: Mapping[str, object] | None = None, safe: str = ",;:") -> str:
    """``url`` with ``params`` appended as a query string, in the given order.

    ``None`` values are left out; lists and tuples are joined with commas.
    Characters in ``safe`` are not percent-encoded.
    """
    if not params:
        return url
    pairs = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        pairs.append((key, str(value)))
    if not pairs:
        return url
    query = urllib.parse.urlencode(pairs, safe=safe)
    return f"{url}{'&' if '?' in url else '?'}{query}"


def server_message(response: Response) -> str:
    """The server's own error message from a response body, shortened.

    JSON bodies: the first of ``message``, ``error``, ``errorMessage``,
    ``errorObject.errorMessage``, ``detail`` or ``title``; a list of messages is
    joined. Other bodies: the text with HTML tags removed.
    """
    text = response.text.strip()
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    found = _json_message(payload) if payload is not None else None
    if found:
        return found[:MESSAGE_LIMIT]
    plain = re.sub(r"<[^>]+>", " ", text)
    return " ".join(plain.split())[:MESSAGE_LIMIT]


def _json_message(payload: object) -> str | None:
    if isinstance(payload, list):
        parts = [m for m in (_json_message(item) for item in payload) if m]
        return "; ".join(parts) or None
    if not isinstance(payload, dict):
        return str(payload) if isinstance(payload, str) and payload else None
    if isinstance(payload.get("key"), str) and isinstance(payload.get("value"), str):
        return f"{payload['key']}: {payload['value']}"  # World Bank style {id, key, value}
    for key in ("message", "error", "errorMessage", "detail", "title", "value"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, list | dict):
            found = _json_message(value)
            if found:
                return found
    nested = payload.get("errorObject")
    if isinstance(nested, dict):
        return _json_message(nested)
    return None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (delta-seconds or HTTP date), or ``None``.

    A date in the past gives 0. An unreadable value gives ``None`` (use the backoff).
    """
    if value is None:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class FetchOptions:
    """How a loader fetches: transport, retry policy, throttle, timeout and sleep.

    ``transport=None`` means :func:`default_transport` at call time, so tests can
    monkeypatch ``research.http.default_transport``.
    """

    transport: Transport | None = None
    policy: RetryPolicy = DEFAULT_POLICY
    throttle: Throttle | None = None
    timeout: float = READ_TIMEOUT
    sleep: Callable[[float], None] = time.sleep
    connect_timeout: float = CONNECT_TIMEOUT
    deadline: float = TOTAL_DEADLINE
    clock: Callable[[], float] = time.monotonic
    on_retry: Callable[[int, int, float, str], None] | None = None

    def get(self, url: str, params: Mapping[str, object] | None = None,
            headers: Mapping[str, str] | None = None) -> Response:
        """:func:`fetch` with these options."""
        return fetch(url, params, headers, transport=self.transport, policy=self.policy,
                     throttle=self.throttle, timeout=self.timeout, sleep=self.sleep,
                     connect_timeout=self.connect_timeout, deadline=self.deadline,
                     clock=self.clock, on_retry=self.on_retry or print_retry)


def default_transport() -> Transport:
    """The transport used when none is passed: a fresh :class:`UrllibTransport`."""
    return UrllibTransport()


def print_retry(retry: int, retries: int, wait: float, reason: str) -> None:
    """The default ``on_retry``: one line on stderr, e.g. ``retry 2/4 in 2 s: HTTP 503 ...``."""
    print(f"retry {retry}/{retries} in {wait:.0f} s: {reason}", file=sys.stderr, flush=True)


def fetch(url: str, params: Mapping[str, object] | None = None,
          headers: Mapping[str, str] | None = None, *, transport: Transport | None = None,
          policy: RetryPolicy = DEFAULT_POLICY, throttle: Throttle | None = None,
          timeout: float = READ_TIMEOUT, sleep: Callable[[float], None] = time.sleep,
          now: Callable[[], datetime] = lambda: datetime.now(UTC),
          on_retry: Callable[[int, int, float, str], None] | None = print_retry,
          connect_timeout: float = CONNECT_TIMEOUT, deadline: float = TOTAL_DEADLINE,
          clock: Callable[[], float] = time.monotonic) -> Response:
    """GET ``url`` (with ``params``), retrying 429, 500/502/503/504 and timeouts.

    Parameters
    ----------
    url, params : the address; ``params`` are appended in order (see :func:`build_url`).
    headers : request headers (for example an API key); never put in errors.
    transport : sends the request (default :class:`UrllibTransport`).
    policy : attempts and backoff.
    throttle : waited on before every attempt, retries included.
    timeout : read timeout: seconds without a byte from a connected server.
    sleep, now : injectable wait and wall clock (for ``Retry-After`` dates).
    on_retry : called with (retry number, retries allowed, seconds to wait, reason)
        before each wait; the default prints one line to stderr, ``None`` is silent.
    connect_timeout : seconds to open a connection.
    deadline : seconds for all attempts and waits together; an attempt gets what is
        left, and a retry whose wait would pass it is not made.
    clock : monotonic clock for the deadline (injectable for tests).

    Returns
    -------
    The first response with a 2xx status.

    Raises
    ------
    FetchError
        A non-retryable status (message from the server), the attempts ran out, or
        the deadline passed; a timeout says "no answer within N s", never "server said".
    """
    if policy.max_attempts < 1:
        raise ParameterError(f"max_attempts must be >= 1, got {policy.max_attempts}")
    for name, seconds in (("timeout", timeout), ("connect_timeout", connect_timeout),
                          ("deadline", deadline)):
        if not seconds > 0:
            raise ParameterError(f"{name} must be > 0 seconds, got {seconds}")
    full_url = build_url(url, params)
    transport = transport or default_transport()
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        if throttle is not None:
            throttle.wait()
        left = deadline - (clock() - started)
        if left <= 0:
            raise FetchError(full_url, f"no answer within the {deadline:g} s deadline",
                             attempts=attempt - 1)
        request = Request(full_url, dict(headers or {}), timeout=timeout,
                          connect_timeout=connect_timeout, deadline=left)
        try:
            response = transport(request)
        except TimeoutError as error:
            reason = str(error) or f"no answer within {timeout:g} s from {request.host}"
            status, message, asked = None, None, None
        else:
            if 200 <= response.status < 300:
                return response
            status, message = response.status, server_message(response)
            if status not in RETRY_STATUSES:
                raise FetchError(full_url, "request refused", status=status,
                                 server_message=message, attempts=attempt)
            reason = f"HTTP {status} from {request.host}"
            asked = retry_after_seconds(response.header("Retry-After"), now())
        if attempt >= policy.max_attempts:
            raise FetchError(full_url, f"gave up ({reason})", status=status,
                             server_message=message, attempts=attempt)
        if asked is not None and asked > policy.max_retry_after:
            raise FetchError(full_url, f"server asks to retry after {asked:.0f} s, more than "
                             f"the {policy.max_retry_after:.0f} s allowed", status=status,
                             server_message=message, attempts=attempt)
        wait = asked if asked is not None else policy.backoff(attempt)
        if clock() - started + wait >= deadline:
            raise FetchError(full_url, f"gave up ({reason}); waiting {wait:.0f} s more would "
                             f"pass the {deadline:g} s deadline", status=status,
                             server_message=message, attempts=attempt)
        if on_retry is not None:
            on_retry(attempt, policy.max_attempts - 1, wait, reason)
        if wait > 0:
            sleep(wait)
