"""The HTTP layer: retries on 429/5xx/timeouts only, Retry-After, backoff, throttle, errors."""

from __future__ import annotations

import http.server as http_server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from research import http
from research.errors import FetchError, ParameterError
from research.http import Request, Response, RetryPolicy, Throttle, fetch

URL = "https://api.example.test/data"


class Script:
    """A fake transport answering from a script: a Response, or an exception to raise."""

    def __init__(self, *steps: Response | Exception) -> None:
        self.steps = list(steps)
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Response:
        self.requests.append(request)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def ok(body: bytes = b"{}") -> Response:
    return Response(200, {"Content-Type": "application/json"}, body)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_success_first_try_builds_the_url_in_order() -> None:
    transport = Script(ok(b'{"a": 1}'))
    sleeps = Sleeps()
    response = fetch(URL, {"b": "2", "a": ["1", "3"], "skip": None}, {"X-Key": "k"},
                     transport=transport, sleep=sleeps)
    assert response.body == b'{"a": 1}'
    # params keep their order; lists become comma lists; commas are not percent-encoded
    assert transport.requests[0].url == URL + "?b=2&a=1,3"
    assert transport.requests[0].headers == {"X-Key": "k"}
    assert sleeps == []


def test_429_run_honours_retry_after_seconds_then_succeeds() -> None:
    transport = Script(Response(429, {"retry-after": "7"}, b"slow down"),
                       Response(429, {"Retry-After": "3"}, b"slow down"), ok())
    sleeps = Sleeps()
    fetch(URL, transport=transport, sleep=sleeps)
    assert sleeps == [7.0, 3.0]  # the server's values, not the backoff (1, 2)
    assert len(transport.requests) == 3


def test_retry_after_http_date() -> None:
    # 'Wed, 21 Oct 2015 07:28:30 GMT' is 30 s after the fixed "now" of 07:28:00
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    transport = Script(Response(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}, b""),
                       ok())
    sleeps = Sleeps()
    fetch(URL, transport=transport, sleep=sleeps, now=lambda: now)
    assert sleeps == [30.0]
    assert http.retry_after_seconds("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0.0  # past
    assert http.retry_after_seconds("soon", now) is None


def test_5xx_run_exhausts_retries_with_exponential_backoff() -> None:
    transport = Script(*(Response(status, {}, b"<html><b>Bad gateway</b></html>")
                         for status in (500, 502, 503, 504)))
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, backoff_base=2.0, backoff_factor=3.0)
    with pytest.raises(FetchError) as caught:
        fetch(URL, transport=transport, policy=policy, sleep=sleeps)
    # waits 2, 2*3, 2*3^2 before attempts 2..4; no wait after the last
    assert sleeps == [2.0, 6.0, 18.0]
    error = caught.value
    assert error.status == 504 and error.attempts == 4 and error.url == URL
    assert error.server_message == "Bad gateway"
    assert "gave up" in str(error) and "after 4 attempts" in str(error)


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(backoff_base=10, backoff_factor=10, backoff_max=60)
    assert [policy.backoff(n) for n in (1, 2, 3)] == [10, 60, 60]


def test_timeouts_are_retried_then_reported() -> None:
    transport = Script(TimeoutError("read timed out"), TimeoutError("read timed out"))
    sleeps = Sleeps()
    with pytest.raises(FetchError) as caught:
        fetch(URL, transport=transport, policy=RetryPolicy(max_attempts=2), sleep=sleeps)
    assert sleeps == [1.0]
    assert caught.value.status is None and "timed out" in str(caught.value)


def test_timeout_then_success() -> None:
    transport = Script(TimeoutError("slow"), ok(b"[]"))
    assert fetch(URL, transport=transport, sleep=Sleeps()).body == b"[]"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_4xx_fail_at_once_with_the_server_message(status: int) -> None:
    body = b'{"statusCode": 401, "message": "Access denied due to invalid subscription key."}'
    transport = Script(Response(status, {}, body))
    sleeps = Sleeps()
    with pytest.raises(FetchError) as caught:
        fetch(URL, transport=transport, sleep=sleeps)
    assert sleeps == [] and len(transport.requests) == 1
    assert caught.value.status == status
    assert caught.value.server_message == "Access denied due to invalid subscription key."


def test_excessive_retry_after_ends_the_run() -> None:
    transport = Script(Response(429, {"Retry-After": "86400"}, b"quota exceeded"))
    with pytest.raises(FetchError, match="retry after 86400 s"):
        fetch(URL, transport=transport, sleep=Sleeps())


def test_throttle_spaces_calls() -> None:
    clock = [100.0]
    sleeps = Sleeps()

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock[0] += seconds

    throttle = Throttle(2.5, clock=lambda: clock[0], sleep=sleep)
    transport = Script(ok(), ok(), ok())
    fetch(URL, transport=transport, throttle=throttle, sleep=sleep)
    clock[0] += 1.0  # 1 s of work between calls
    fetch(URL, transport=transport, throttle=throttle, sleep=sleep)
    clock[0] += 5.0
    fetch(URL, transport=transport, throttle=throttle, sleep=sleep)
    assert sleeps == [1.5]  # 2.5 - 1.0 before the second call, none before the third
    with pytest.raises(ParameterError):
        Throttle(-1)


def test_server_message_shapes() -> None:
    def message(body: bytes) -> str:
        return http.server_message(Response(400, {}, body))

    assert message(b'{"errorObject": {"errorMessage": "Bad period"}}') == "Bad period"
    assert message(b'[{"message": [{"id": "120", "key": "Invalid value", '
                   b'"value": "The provided parameter value is not valid"}]}]') == (
        "Invalid value: The provided parameter value is not valid")
    assert message(b"Request URL Too Long") == "Request URL Too Long"
    assert len(message(b"x" * 5000)) == http.MESSAGE_LIMIT


@pytest.fixture
def local_server() -> Iterator[str]:
    """A loopback HTTP server: /ok answers 200, /missing 404 with a text body."""

    class Handler(http_server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path.startswith("/ok"):
                body, status = self.headers.get("X-Echo", "none").encode(), 200
            else:
                body, status = b"no such table", 404
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http_server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_urllib_transport_on_loopback(local_server: str) -> None:
    response = fetch(f"{local_server}/ok", {"q": "1"}, {"X-Echo": "hello"}, timeout=5)
    assert response.status == 200 and response.body == b"hello"
    with pytest.raises(FetchError) as caught:
        fetch(f"{local_server}/missing", timeout=5)
    assert caught.value.status == 404 and caught.value.server_message == "no such table"


def test_urllib_transport_connection_refused() -> None:
    import socket

    with socket.socket() as probe:  # a free loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError, match="cannot connect"):
        http.UrllibTransport()(Request(f"http://127.0.0.1:{port}/", timeout=2))


# ---------------------------------------------------------------- silent servers


@pytest.fixture
def silent_server() -> Iterator[tuple[str, str]]:
    """A loopback server that accepts connections and never answers: (url, host:port)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(connection)  # keep it open, say nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield f"http://{host}/data", host
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        listener.close()


def test_silent_server_read_timeout_retries_with_one_line_each_and_a_truthful_error(
        silent_server: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    url, host = silent_server
    policy = RetryPolicy(max_attempts=3, backoff_base=0.01)
    with pytest.raises(FetchError) as caught:
        fetch(url, timeout=0.2, connect_timeout=2, policy=policy)
    message = str(caught.value)
    assert f"no answer within 0.2 s from {host}" in message
    assert "server said" not in message and caught.value.status is None
    assert caught.value.server_message is None and caught.value.attempts == 3
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"retry 1/2 in 0 s: no answer within 0.2 s from {host}",
                     f"retry 2/2 in 0 s: no answer within 0.2 s from {host}"]


def test_total_deadline_cuts_the_read_timeout_and_stops_retrying(
        silent_server: tuple[str, str]) -> None:
    import time

    url, host = silent_server
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"would pass the 0.4 s deadline") as caught:
        fetch(url, timeout=30, deadline=0.4, policy=RetryPolicy(max_attempts=5),
              on_retry=None)
    # the 30 s read timeout is cut to the 0.4 s left; the 1 s backoff would pass it
    assert time.monotonic() - started < 5
    assert f"no answer within 0.4 s from {host}" in str(caught.value)
    assert caught.value.attempts == 1


def test_trickling_answer_stops_at_the_deadline() -> None:
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def trickle() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            for _ in range(40):  # one byte every 0.05 s: never a read timeout
                try:
                    connection.sendall(b"x" * (1 << 16))
                except OSError:
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        request = Request(f"http://127.0.0.1:{listener.getsockname()[1]}/", timeout=1,
                          deadline=0.3)
        with pytest.raises(http.ReadTimeout, match="still arriving after 0.3 s"):
            http.UrllibTransport()(request)
    finally:
        thread.join(3)
        listener.close()


def test_connect_timeout_is_its_own_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    seen: list[float] = []

    def no_route(address: tuple, timeout: float, *args: object) -> socket.socket:
        seen.append(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", no_route)
    with pytest.raises(http.ConnectTimeout, match=r"no connection within 0.5 s to "
                                                  r"api.example.test"):
        http.UrllibTransport()(Request("http://api.example.test/x", connect_timeout=0.5,
                                       timeout=20))
    assert seen == [0.5]  # the connect timeout, not the read timeout


def test_timeout_retry_lines_from_the_fake_transport(capsys: pytest.CaptureFixture[str]) -> None:
    transport = Script(http.ReadTimeout("no answer within 30 s from api.example.test"),
                       Response(503, {}, b"busy"), ok())
    fetch(URL, transport=transport, sleep=Sleeps())
    assert capsys.readouterr().err.splitlines() == [
        "retry 1/4 in 1 s: no answer within 30 s from api.example.test",
        "retry 2/4 in 2 s: HTTP 503 from api.example.test"]


@pytest.mark.parametrize("name", ["timeout", "connect_timeout", "deadline"])
def test_non_positive_limits_are_refused(name: str) -> None:
    with pytest.raises(ParameterError, match=name):
        fetch(URL, transport=Script(ok()), **{name: 0})
