"""Rate limit, backoff and error handling of the field kit's client, on a real loopback server."""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rushes.field.client import Client, Refused, Unreachable
from rushes.field.home import Login
from rushes.field.pacing import Backoff, TokenBucket, parse_rate
from tests.web.test_status import free_port


class Recorder(BaseHTTPRequestHandler):
    """Reads each body whole and answers as the path says: /ok, /gone, /busy, /refuse."""

    received: list[tuple[str, dict[str, str], bytes]] = []

    def do_PATCH(self) -> None:  # noqa: N802 - the http.server naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, dict(self.headers), body))
        offset = int(self.headers["Upload-Offset"]) + len(body)
        self.send_response(204)
        self.send_header("Upload-Offset", str(offset))
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        status, body = {
            "/busy": (503, b"try later"),
            "/refuse": (422, b'{"detail": "the bytes do not match the declared sha256"}'),
            "/gone": (404, b"no such upload"),
        }.get(self.path, (200, b'{"ok": true}'))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.received = []
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_parse_rate() -> None:
    assert parse_rate("256k") == 256 * 1024
    assert parse_rate("1.5M") == 1536 * 1024
    assert parse_rate("2MiB/s") == 2 << 20
    assert parse_rate("500000") == 500_000
    for bad in ("", "fast", "-3k", "0"):
        with pytest.raises(ValueError):
            parse_rate(bad)


def test_backoff_grows_with_jitter_and_is_capped_and_never_under_a_second() -> None:
    backoff = Backoff(first=1.0, cap=60.0, rng=random.Random(7))
    delays = [backoff.next() for _ in range(12)]
    bounds = [min(60.0, 2.0**n) for n in range(12)]
    assert all(1 <= d <= b for d, b in zip(delays, bounds, strict=True))
    assert max(delays) > 8  # it does grow
    assert len({round(d, 6) for d in delays}) == len(delays)  # and is not in lockstep
    backoff.reset()
    assert backoff.next() == 1.0
    for seed in range(200):  # no retry at once, whatever the draw ("retry after 0 seconds")
        backoff = Backoff(rng=random.Random(seed))
        assert min(backoff.next() for _ in range(6)) >= 1.0


def test_token_bucket_holds_the_rate_over_a_real_connection(server: str) -> None:
    rate = 48 << 10
    data = random.Random(1).randbytes(144 << 10)
    client = Client(Login(server, "film", "rsh_t"), TokenBucket(rate))
    sent: list[int] = []
    started = time.monotonic()
    offset = 0
    for start in range(0, len(data), 48 << 10):
        chunk = data[start : start + (48 << 10)]
        offset = client.patch(f"{server}/files/x", offset, chunk, sent=sent.append)
    elapsed = time.monotonic() - started
    client.close()
    # 144 KiB at 48 KiB/s: 3 s, less the quarter-second burst the bucket starts with. Only
    # the floor is the limiter's doing; the ceiling just says it did not stall (a busy machine
    # may add seconds).
    assert 2.6 <= elapsed <= 15, elapsed
    assert offset == len(data) and sum(sent) == len(data)
    assert b"".join(body for _, _, body in Recorder.received) == data
    path, headers, body = Recorder.received[0]
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert headers["Upload-Checksum"] == f"sha256 {digest}"
    assert headers["Authorization"] == "Bearer rsh_t" and headers["Tus-Resumable"] == "1.0.0"


def test_errors_are_sorted_into_retry_or_give_up(server: str) -> None:
    client = Client(Login(server, "film", "rsh_t"))
    assert client.get_json("ok") == {"ok": True}
    with pytest.raises(Unreachable):
        client.get_json("busy")
    with pytest.raises(Refused) as refused:
        client.get_json("refuse")
    assert refused.value.status == 422
    assert refused.value.reason == "the bytes do not match the declared sha256"
    assert client.offset(f"{server}/gone") is None
    with pytest.raises(Refused):
        client.offset("http://elsewhere.example/files/1")  # never follows the base off-site
    client.close()
    nobody = Client(Login(f"http://127.0.0.1:{free_port()}", "film", "rsh_t"))
    with pytest.raises(Unreachable):
        nobody.get_json("ok")
