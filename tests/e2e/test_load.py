"""The base under load and abuse, killed in the middle: it keeps answering and loses nothing.

A real `rushes serve` (with the event-loop guard of tests.loop_guard) on a loopback port takes
more than 500 concurrent clients for about half a minute: anonymous page loads, made-up bearer
tokens, signed-in browsing, note writes, tus uploads and clients that send their headers or
body a byte at a time. Halfway through it is killed with SIGKILL and started again. Every
request must end with a response (429 and 503 allowed, never a hang), /healthz must stay quick,
everything answers normally within seconds of the end, and every note and upload offset the
server acknowledged must be there after the restart. Figures are printed (run with -s).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rushes.ingest import Ingest, walk
from rushes.review import accounts
from rushes.review.access import Role
from rushes.review.projects import create_project
from tests.clips import make_video
from tests.conftest import Env, _pg_database
from tests.loop_guard import MARK
from tests.upload.conftest import encode
from tests.web.conftest import CSRF, PASSWORD
from tests.web.test_status import free_port

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 32.0  # of load; the kill comes halfway
HANG_S = 30.0  # a request still unanswered after this long hangs
MIX = {"anonymous": 140, "bad_token": 140, "browsing": 120, "notes": 50, "uploads": 48}
SLOW = 4  # slow clients: half dribble their headers, half their body
READERS = ["dina", "ivan", "ada", "nour"]  # signed in once each, shared by the browsing clients
CREWS = [f"crew{i}" for i in range(8)]  # each with a field-kit token for the uploads
UPLOAD = 384 * 1024
PIECE = 128 * 1024
SLOW_LIMIT_S = 10  # the header and body timeouts the server runs with here
SERVER_ENV = {
    "RUSHES_WORKERS": "1",
    "RUSHES_HEADER_TIMEOUT": str(SLOW_LIMIT_S),
    "RUSHES_BODY_TIMEOUT": str(SLOW_LIMIT_S),
    # Every client here shares one address: let them through to the server, whose per-account
    # limit (its default) still applies.
    "RUSHES_RATE_LIMIT_ADDRESS": "0",
    "RUSHES_RATE_LIMIT": "30",
}


@contextmanager
def _database(name: str, folder: Path) -> Iterator[str]:
    if name == "sqlite":
        yield f"sqlite:///{folder / 'catalog.sqlite3'}"
    else:
        yield from _pg_database()


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


class Server:
    """`rushes serve` in its own process, guarded; `kill()` is a SIGKILL, `start()` again."""

    def __init__(self, env: Env, port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.extra = SERVER_ENV  # settings of this server beyond the base's

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.loop_guard", "serve", "--port", str(self.port)],
                env={**self.env.vars, **self.extra},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not start:\n{self.output()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Cast:
    """Who the clients are: cookies and CSRF tokens of signed-in readers, crew tokens."""

    asset: str
    sessions: list[tuple[str, str]]  # (cookie, csrf)
    tokens: list[str]


def _prepare(env: Env, tmp_path: Path) -> tuple[str, list[str]]:
    """Project "film" with its readers and crews, and one clip to write notes on."""
    base = env.open()
    try:
        with base.catalog.write() as session:
            film = create_project(session, "film", "The Rescue")
            for name in READERS:
                user = accounts.create_user(session, name, PASSWORD, site_admin=name == "ada")
                accounts.add_member(session, film, user, Role.DIRECTOR)
            tokens = []
            for name in CREWS:
                user = accounts.create_user(session, name, PASSWORD)
                accounts.add_member(session, film, user, Role.CREW)
                tokens.append(accounts.create_api_token(session, user, film, "laptop"))
        card = tmp_path / "card"
        card.mkdir()
        make_video(card / "a.mp4", seconds=1)
        Ingest(base, project="film", crew="crew0", actor="crew0").run(walk([card]))
        clip = hashlib.sha256((card / "a.mp4").read_bytes()).hexdigest()
    finally:
        base.close()
    return clip, tokens


def _sign_in(url: str, username: str) -> tuple[str, str]:
    with httpx.Client(base_url=url, timeout=30) as client:
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 303, response.text
        found = CSRF.search(client.get("/settings").text)
        assert found
        return client.cookies["rushes_session"], found.group(1)


class Load:
    def __init__(self, url: str, cast: Cast, tally: Tally, until: float) -> None:
        self.url, self.cast, self.tally, self.until = url, cast, tally, until
        limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
        self.client = httpx.AsyncClient(base_url=url, limits=limits, timeout=HANG_S + 5)

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
            self.tally.hangs.append(f"{method} {path}")
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

    async def kill_and_restart(self, server: Server) -> None:
        await asyncio.sleep(SECONDS / 2)
        server.kill()
        server.start()

    async def run(self, server: Server) -> None:
        jobs: list[Awaitable[None]] = [self.healthz(), self.kill_and_restart(server)]
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


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# Any other answer is normal at 200; a signed-in browser asking for /login is sent on.
NORMAL = {"login": 303, "note": 201, "tus options": 204}


def _answers_normally(
    url: str, cast: Cast, owners: dict[str, str], seconds: float
) -> tuple[float, dict[str, int]]:
    """Seconds until every kind of request answers as it would on an idle base, and the last
    answers (what was still off, if it never did)."""
    cookie, csrf = cast.sessions[0]
    upload, owner = next(iter(owners.items()))
    tus = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {owner}"}
    started = time.monotonic()
    with (
        httpx.Client(base_url=url, timeout=5, cookies={"rushes_session": cookie}) as browser,
        httpx.Client(base_url=url, timeout=5, headers=tus) as kit,
    ):
        while True:
            answers = {
                "healthz": browser.get("/healthz").status_code,
                "login": browser.get("/login").status_code,
                "grid": browser.get("/p/film/").status_code,
                "assets": browser.get("/api/p/film/assets").status_code,
                "note": browser.post(
                    f"/api/p/film/a/{cast.asset}/notes",
                    json={"body": "after the storm"},
                    headers={"X-CSRF-Token": csrf},
                ).status_code,
                "wanted": kit.get("/api/p/film/field/wanted").status_code,
                "tus options": kit.options("/files/").status_code,
                "tus head": kit.head(upload).status_code,
            }
            took = time.monotonic() - started
            if all(code == NORMAL.get(name, 200) for name, code in answers.items()):
                return took, answers
            if took > seconds:
                return took, answers
            time.sleep(0.1)


def test_base_holds_under_load_and_a_kill(tmp_path: Path) -> None:
    """Both databases in one test, one after the other: run at once on the suite's two workers,
    two loads on two cores would measure each other."""
    for name in ("sqlite", "postgresql"):
        folder = tmp_path / name
        folder.mkdir()
        with _database(name, folder) as url:
            print(f"\n{name}:")
            _hold(Env(folder / "data", url), folder)


def _hold(env: Env, tmp_path: Path) -> None:
    clip, tokens = _prepare(env, tmp_path)
    server = Server(env, free_port(), tmp_path / "serve.log")
    server.start()
    try:
        server.wait_ready()
        cast = Cast(clip, [_sign_in(server.url, name) for name in READERS], tokens)
        tally = Tally()
        started = time.monotonic()
        # A loop of its own, on a thread: a browser test before this one in the same worker
        # may have left Playwright's loop running on this thread.
        with ThreadPoolExecutor(1) as clients:
            load = Load(server.url, cast, tally, started + SECONDS)
            clients.submit(asyncio.run, load.run(server)).result()
        ended = time.monotonic()
        _report(tally, ended - started)
        server.wait_ready(HANG_S)
        recovered, answers = _answers_normally(server.url, cast, tally.owners, 30)
        print(f"  every endpoint normal {recovered:.1f} s after the load: {answers}")
        _check_nothing_lost(server.url, cast, tally)
    finally:
        server.stop()
    log = server.output()
    assert MARK not in log, log[log.index(MARK) - 2000 : log.index(MARK) + 3000]
    assert not tally.hangs, f"{len(tally.hangs)} requests hung, e.g. {tally.hangs[:5]}"
    errors = {
        k: n for k, c in tally.statuses.items() for s, n in c.items() if s[0] == "5" and s != "503"
    }
    assert not errors, f"server errors: {tally.statuses}"
    assert _percentile(tally.health, 0.99) <= 1.0, f"/healthz p99 over 1 s: {tally.statuses}"
    assert recovered <= 5, f"{recovered:.1f} s after the load, still not normal: {answers}"
    assert len(tally.notes) >= 20 and sum(tally.offsets.values()) >= 20 * PIECE, tally.statuses
    assert tally.slow_closed and max(tally.slow_closed) <= SLOW_LIMIT_S + 5, tally.slow_closed


def _check_nothing_lost(url: str, cast: Cast, tally: Tally) -> None:
    cookie, _ = cast.sessions[0]
    with httpx.Client(base_url=url, timeout=30, cookies={"rushes_session": cookie}) as client:
        listed = client.get(f"/api/p/film/a/{cast.asset}/notes")
        assert listed.status_code == 200
        found = {note["id"]: note["body"] for note in listed.json()["notes"]}
        lost = {i: b for i, b in tally.notes.items() if found.get(i) != b}
        assert not lost, f"{len(lost)} of {len(tally.notes)} acknowledged notes lost"
        short = []
        for location, offset in tally.offsets.items():
            tus = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {tally.owners[location]}"}
            asked = client.head(location, headers=tus)
            if asked.status_code != 200 or int(asked.headers["upload-offset"]) < offset:
                short.append((location, offset, asked.status_code, asked.headers))
        assert not short, f"{len(short)} acknowledged upload offsets lost: {short[:5]}"


def _report(tally: Tally, seconds: float) -> None:
    total = sum(sum(c.values()) for c in tally.statuses.values())
    print(f"\nload: {seconds:.1f} s, {total} requests, {sum(MIX.values()) + SLOW + 1} clients")
    for kind, counts in sorted(tally.statuses.items()):
        print(f"  {kind:10} {dict(sorted(counts.items()))}")
    if tally.health:
        p50, p99 = _percentile(tally.health, 0.5), _percentile(tally.health, 0.99)
        worst = max(tally.health)
        print(
            f"  /healthz p50 {p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms, max {worst * 1e3:.0f} ms"
        )
    acknowledged = sum(tally.offsets.values())
    print(f"  hangs {len(tally.hangs)}; notes acknowledged {len(tally.notes)}")
    print(f"  uploads {len(tally.offsets)}, {acknowledged} bytes acknowledged")
    print(f"  slow clients let go after {sorted(round(s, 1) for s in tally.slow_closed)} s")
