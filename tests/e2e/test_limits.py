"""What one client may hold of a real `rushes serve`: header size and time, body time, request
rate, unfinished uploads and declared bytes (issue 12, item 5); and how long an idle connection
is kept for its next request."""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Env
from tests.e2e.test_load import Server, _prepare
from tests.tls import TLS
from tests.upload.conftest import encode
from tests.web.test_status import free_port

LIMITS = {
    "RUSHES_HEADER_LIMIT": "8192",
    "RUSHES_HEADER_TIMEOUT": "2",
    "RUSHES_BODY_TIMEOUT": "2",
    "RUSHES_RATE_LIMIT": "1",  # bursts of 5
    "RUSHES_OPEN_UPLOADS": "2",
    "RUSHES_UPLOAD_LIMIT": str(2**60),
}


def _held(port: int, sent: bytes, seconds: float) -> tuple[float, bytes]:
    """Send `sent` and nothing more; how long until the server answered or closed, and what."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as conn:
        started = time.monotonic()
        conn.sendall(sent)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return time.monotonic() - started, answer


def test_one_client_cannot_hold_the_base(env: Env, tmp_path: Path) -> None:
    _clip, tokens = _prepare(env, tmp_path)
    server = Server(env, free_port(), tmp_path / "serve.log")
    server.extra = LIMITS
    server.start()
    try:
        server.wait_ready()
        request = b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        # Headers that never end are cut off at the size limit, with 431.
        took, answer = _held(server.port, request + b"X-Junk: " + b"a" * 100_000, 30)
        assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
        # Headers or a body that come too slowly: closed after the timeouts, not held.
        took, answer = _held(server.port, request, 30)
        assert took < 8 and answer == b"", (took, answer)
        post = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        post += b"application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nuser"
        took, answer = _held(server.port, post, 30)
        assert took < 8 and answer.startswith((b"HTTP/1.1 4", b"")), (took, answer[:200])
        assert b"connection: close" in answer.lower() or answer == b"", answer[:300]
        with httpx.Client(base_url=server.url, timeout=30, verify=TLS) as client:
            bearer = {"Authorization": f"Bearer {tokens[0]}"}
            wanted = "/api/p/film/field/wanted"  # a field-kit call, which its token may make
            statuses = [client.get(wanted, headers=bearer) for _ in range(12)]
            refused = [r for r in statuses if r.status_code == 429]
            assert refused and int(refused[0].headers["retry-after"]) >= 1, statuses
            assert all(r.status_code in (200, 429) for r in statuses)
            assert client.get("/healthz").status_code == 200

            tus = {"Tus-Resumable": "1.0.0", **bearer}
            meta = encode(kind="original", sha256="0" * 64, filename="a.mp4")

            def create(length: int) -> httpx.Response:
                headers = {**tus, "Upload-Length": str(length), "Upload-Metadata": meta}
                return client.post("/files/", headers=headers)

            huge = create(2**50)  # a pebibyte: more than the upload folder's disk holds
            assert huge.status_code == 507 and "room for" in huge.text, huge.text
            # The same, declared later by a PATCH of an upload made with its length deferred.
            deferred = client.post(
                "/files/", headers={**tus, "Upload-Defer-Length": "1", "Upload-Metadata": meta}
            )
            assert deferred.status_code == 201, deferred.text
            late = client.patch(
                deferred.headers["location"],
                headers={
                    **tus,
                    "Upload-Offset": "0",
                    "Upload-Length": str(2**50),
                    "Content-Type": "application/offset+octet-stream",
                },
            )
            assert late.status_code == 507 and "room for" in late.text, late.text
            assert client.delete(deferred.headers["location"], headers=tus).status_code == 204
            assert [create(10).status_code for _ in range(2)] == [201, 201]
            third = create(10)
            assert third.status_code == 429 and "unfinished uploads" in third.text
            assert third.headers["retry-after"]
    finally:
        server.stop()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # connections, whatever catalog
def test_a_connection_idle_as_long_as_a_client_keeps_one_is_still_answered(
    env: Env, tmp_path: Path
) -> None:
    """httpx drops an idle connection after 5 s; a server dropping it after the same 5 s (as
    uvicorn does by default) resets the request a client sends just then, seen as a failed
    test on a loaded machine. The server keeps it longer, so the client always gives up first."""
    server = Server(env, free_port(), tmp_path / "serve.log")
    server.extra = {"RUSHES_WORKERS": "1"}  # otherwise the embedded defaults
    server.start()
    try:
        server.wait_ready()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            conn.request("GET", "/healthz")
            assert conn.getresponse().read() and conn.sock is not None
            first = conn.sock
            time.sleep(httpx.Limits().keepalive_expiry + 1)
            conn.request("GET", "/healthz")  # closed by the server: RemoteDisconnected
            assert conn.getresponse().status == 200 and conn.sock is first
        finally:
            conn.close()
    finally:
        server.stop()
