"""The clients of the load test (tests/e2e/test_load.py), in a process of their own.

Run by the test as `python -m tests.e2e.load_clients URL CAST.json`; prints
what the clients saw as JSON. Their own process, so that whatever else the test's worker holds
(threads and loops of earlier tests) cannot slow the clients down and pass for a slow server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.tls import TLS
from tests.upload.conftest import encode

SECONDS = 24.0  # of load; the test kills the server halfway
HANG_S = 30.0  # a request still unanswered after this long hangs
MIX = {"anonymous": 140, "bad_token": 140, "browsing": 120, "notes": 50, "uploads": 48}
SLOW = 4  # slow clients: half dribble their headers, half their body
UPLOAD = 384 * 1024
PIECE = 128 * 1024


@dataclass
class Tally:
    """What the clients saw."""

    statuses: dict[str, Counter[str]] = field(default_factory=dict)
    health: list[float] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    notes: dict[int, str] = field(default_factory=dict)  # acknowledged note id -> body
    offsets: dict[str, int] = field(default_factory=dict)  # upload URL -> acknowledged offset
    owners: dict[str, str] = field(default_factory=dict)  # upload URL -> its crew's token
    slow_closed: list[float] = field(default_factory=list)  # seconds until the server let go

    def count(self, kind: str, outcome: str) -> None:
        self.statuses.setdefault(kind, Counter())[outcome] += 1

    @classmethod
    def from_json(cls, text: str) -> Tally:
        read = json.loads(text)
        read["statuses"] = {k: Counter(v) for k, v in read["statuses"].items()}
        read["notes"] = {int(k): v for k, v in read["notes"].items()}
        return cls(**read)


@dataclass
class Cast:
    """Who the clients are: cookies and CSRF tokens of signed-in readers, crew tokens."""

    asset: str
    sessions: list[tuple[str, str]]  # (cookie, csrf)
    tokens: list[str]


class Load:
    def __init__(self, url: str, cast: Cast, tally: Tally, until: float) -> None:
        self.url, self.cast, self.tally, self.until = url, cast, tally, until
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        self.client = httpx.AsyncClient(base_url=url, limits=limits, timeout=HANG_S + 5, verify=TLS)

    async def call(
        self, kind: str, method: str, path: str, **kwargs: object
    ) -> httpx.Response | None:
        """One request, tallied; None when the connection failed (the server was down)."""
        started = time.monotonic()
        try:
            response = await asyncio.wait_for(
                self.client.request(method, path, **kwargs),  # type: ignore[arg-type]
                HANG_S,
            )
        except TimeoutError:
            began = started - (self.until - SECONDS)
            self.tally.hangs.append(f"{method} {path} sent at {began:.1f} s")
            self.tally.count(kind, "hang")
            return None
        except httpx.TransportError as exc:
            self.tally.count(kind, type(exc).__name__)
            await asyncio.sleep(0.2)
            return None
        if kind == "healthz" and response.status_code == 200:
            self.tally.health.append(time.monotonic() - started)
        self.tally.count(kind, str(response.status_code))
        return response

    def running(self) -> bool:
        return time.monotonic() < self.until

    async def pause(self) -> None:
        await asyncio.sleep(random.uniform(0.3, 1.2))

    async def anonymous(self) -> None:
        while self.running():
            await self.call("anonymous", "GET", random.choice(["/login", "/", "/p/film/"]))
            await self.pause()

    async def bad_token(self) -> None:
        while self.running():
            bearer = {"Authorization": f"Bearer rsh_{secrets.token_urlsafe(32)}"}
            await self.call("bad_token", "GET", "/api/p/film/assets", headers=bearer)
            await self.pause()

    async def browsing(self) -> None:
        cookie, _ = random.choice(self.cast.sessions)
        pages = ["/p/film/", "/api/p/film/assets", f"/p/film/a/{self.cast.asset}", "/me"]
        while self.running():
            headers = {"Cookie": f"rushes_session={cookie}"}
            await self.call("browsing", "GET", random.choice(pages), headers=headers)
            await self.pause()

    async def notes(self) -> None:
        cookie, csrf = random.choice(self.cast.sessions)
        headers = {"Cookie": f"rushes_session={cookie}", "X-CSRF-Token": csrf}
        while self.running():
            body = f"note {secrets.token_hex(8)}"
            response = await self.call(
                "notes",
                "POST",
                f"/api/p/film/a/{self.cast.asset}/notes",
                json={"body": body, "start": "12"},
                headers=headers,
            )
            if response is not None and response.status_code == 201:
                self.tally.notes[response.json()["id"]] = body
            await self.pause()

    async def uploads(self) -> None:
        token = random.choice(self.cast.tokens)
        tus = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
        while self.running():
            data = secrets.token_bytes(UPLOAD)
            meta = encode(
                kind="original",
                sha256=hashlib.sha256(data).hexdigest(),
                filename=f"DCIM/{secrets.token_hex(4)}.MP4",
            )
            made = await self.call(
                "uploads",
                "POST",
                "/files/",
                headers={**tus, "Upload-Length": str(UPLOAD), "Upload-Metadata": meta},
            )
            if made is None or made.status_code != 201:
                await self.pause()
                continue
            location = made.headers["location"]
            self.tally.offsets[location] = 0
            self.tally.owners[location] = token
            offset = 0
            while offset < UPLOAD and self.running():
                sent = await self.call(
                    "uploads",
                    "PATCH",
                    location,
                    content=data[offset : offset + PIECE],
                    headers={
                        **tus,
                        "Upload-Offset": str(offset),
                        "Content-Type": "application/offset+octet-stream",
                    },
                )
                if sent is not None and sent.status_code == 204:
                    offset = int(sent.headers["upload-offset"])
                    self.tally.offsets[location] = offset
                    continue
                await self.pause()
                asked = await self.call("uploads", "HEAD", location, headers=tus)
                if asked is not None and asked.status_code == 200:
                    offset = int(asked.headers["upload-offset"])
            await self.pause()

    async def healthz(self) -> None:
        """Probe /healthz from a process of its own: timed in the clients' busy event loop, a
        probe would measure the clients as much as the server."""
        probe = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _PROBE,
            f"{self.url}/healthz",
            str(self.until - time.monotonic()),
            str(HANG_S),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await probe.communicate()
        for line in out.decode().split():
            outcome, took = line.split("=")
            self.tally.count("healthz", outcome)
            if outcome == "200":
                self.tally.health.append(float(took))

    async def slow(self, headers_only: bool) -> None:
        """Send a request a byte every second; time how long the server holds on to it."""
        request = (
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n"
        )
        port = int(self.url.rsplit(":", 1)[1])
        while self.running():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            started = time.monotonic()
            trickle = request if headers_only else b"x" * 4000
            if not headers_only:
                writer.write(request + b"\r\n")
            let_go = False
            try:
                for byte in trickle:
                    if not self.running():
                        break
                    writer.write(bytes([byte]))
                    await writer.drain()
                    try:
                        await asyncio.wait_for(reader.read(1024), 1.0)
                    except TimeoutError:
                        continue
                    let_go = True  # closed, or answered (408): either way it let go
                    break
            except OSError:
                let_go = True
            finally:
                writer.close()
            if let_go:
                self.tally.slow_closed.append(time.monotonic() - started)

    async def run(self) -> None:
        jobs: list[Awaitable[None]] = [self.healthz()]
        for kind, clients in MIX.items():
            job: Callable[[], Awaitable[None]] = getattr(self, kind)
            jobs += [job() for _ in range(clients)]
        jobs += [self.slow(headers_only=i % 2 == 0) for i in range(SLOW)]
        try:
            await asyncio.gather(*jobs)
        finally:
            await self.client.aclose()


# GET the URL every 50 ms for the given seconds; print "status=seconds" for each answer.
_PROBE = """
import sys, time, httpx
url, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
with httpx.Client(timeout=float(sys.argv[3])) as client:
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            outcome = str(client.get(url).status_code)
        except httpx.TimeoutException:
            outcome = "hang"
        except httpx.TransportError as exc:
            outcome = type(exc).__name__
        print(f"{outcome}={time.monotonic() - started:.4f}", flush=True)
        time.sleep(0.05)
"""


async def _run(url: str, cast: Cast) -> Tally:
    tally = Tally()
    await Load(url, cast, tally, time.monotonic() + SECONDS).run()
    return tally


if __name__ == "__main__":
    given = json.loads(Path(sys.argv[2]).read_text())
    cast = Cast(given["asset"], [tuple(s) for s in given["sessions"]], given["tokens"])
    tally = asyncio.run(_run(sys.argv[1], cast))
    counts = {kind: dict(outcomes) for kind, outcomes in tally.statuses.items()}
    print(json.dumps({**vars(tally), "statuses": counts}))
