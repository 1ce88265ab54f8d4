"""A card goes from a crew laptop to a real base: manifests, then proxies, then originals (the
one a director asked for first, then smallest first), byte-exact, and notes come back."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console
from sqlalchemy import select

from rushes.base import Base
from rushes.catalog.models import Arrival, Asset, CustodyEvent, Derivative, Note, User
from rushes.field.client import Client
from rushes.field.home import Home
from rushes.field.sync import Meter, Sync
from rushes.review import accounts
from tests.clips import make_video
from tests.conftest import RUSHES
from tests.web.conftest import Client as WebClient
from tests.web.conftest import Team
from tests.web.test_status import free_port


def token_for(base: Base, username: str, project: str) -> str:
    with base.catalog.write() as session:
        user = session.scalar(select(User).where(User.username == username))
        found = session.scalar(select(accounts.Project).where(accounts.Project.slug == project))
        assert user is not None and found is not None
        return accounts.create_api_token(session, user, found, "laptop")


PASSPHRASE = "قلعة حلب 1946"


class Kit:
    """The `rushes field` command on a laptop whose kit folder is `home`. Every kit made is
    locked after its test (`lock_kits`), so no unlocked memory folder or timer outlives it."""

    made: list[Kit] = []

    def __init__(self, home: Path) -> None:
        self.home = Home(home)
        self.env = {**os.environ, "RUSHES_FIELD_DIR": str(home), "COLUMNS": "200"}
        Kit.made.append(self)

    def run(self, *args: str, code: int = 0, stdin: str = "") -> str:
        done = subprocess.run(
            [*RUSHES, "field", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == code, f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def login(self, server: str, token: str, project: str = "film") -> str:
        """Log in; the first login also chooses the kit's passphrase (the line after the token)."""
        return self.run(
            "login", server, "--project", project, "--token-stdin", stdin=f"{token}\n{PASSPHRASE}\n"
        )

    @contextmanager
    def sync(self, url: str | None = None) -> Iterator[Sync]:
        """The sync engine in this process (to stop it after manifests, or aim it at a relay)."""
        login = self.home.login()
        if url:
            login = type(login)(url, login.project, login.token)
        conn, client = self.home.db(), Client(login)
        try:
            yield Sync(
                conn,
                client,
                login,
                Meter(Console(file=io.StringIO())),
                open_proxy=self.home.open_proxy,
                sleep=lambda _: None,
            )
        finally:
            client.close()
            conn.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def card(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "card"
    (root / "DCIM").mkdir(parents=True)
    clips = {
        "big": make_video(root / "DCIM" / "C0001.MP4", seconds=3, seed=1, size=(320, 240)),
        "small": make_video(root / "DCIM" / "C0002.MP4", seconds=1, seed=2),
        "mid": make_video(root / "DCIM" / "C0003.MP4", seconds=2, seed=3),
    }
    # A name with a newline in it (cards carry what cameras and people wrote) arrives too.
    (root / "shot\nlist.txt").write_text("roof, then the market\n")
    clips["text"] = root / "shot\nlist.txt"
    return clips


def test_card_reaches_the_base_in_order_and_notes_come_back(
    base: Base,
    team: Team,
    server: str,
    login: Callable[..., WebClient],
    card: dict[str, Path],
    tmp_path: Path,
) -> None:
    kit = Kit(tmp_path / "kit")
    token = token_for(base, "karim", "film")
    assert "logged in" in kit.login(server, token)
    kit.run("login", server, "--project", "other", "--token-stdin", stdin=token, code=1)
    kit.run("import", str(card["big"].parent.parent), "--source", "card 3")
    shas = {name: sha(path) for name, path in card.items()}

    with kit.sync() as sync:
        sync.send_manifests()  # the link held long enough for the manifest only
    dina = login("dina")
    asked = dina.post(
        f"/p/film/a/{shas['big']}/send-original",
        headers={"X-CSRF-Token": dina.csrf, "Accept": "application/json"},
    )
    assert asked.status_code == 204, asked.text

    out = kit.run("sync", "--once", "--max-rate", "8M")
    assert "everything is on the base" in out
    with base.catalog.read() as session:
        events = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)).all()
        manifested = [e for e in events if e.verb == "manifested"]
        received = [e for e in events if e.verb == "received"]
        proxies = session.scalars(select(Derivative).where(Derivative.kind == "proxy")).all()
        arrivals = session.scalars(select(Arrival).where(Arrival.via == "upload")).all()
        assets = {a.sha256: a for a in session.scalars(select(Asset))}
    assert {e.asset_sha256 for e in manifested} == set(shas.values())
    assert [e.asset_sha256 for e in received] == [
        shas["big"],  # asked for by the director
        shas["text"],  # then smallest first
        shas["small"],
        shas["mid"],
    ]
    assert max(e.seq for e in manifested) < min(e.seq for e in received)
    field_proxies = [p for p in proxies if (p.details or {}).get("source") == "field"]
    assert {p.asset_sha256 for p in field_proxies} == {shas["big"], shas["small"], shas["mid"]}
    first_original = min(datetime.fromisoformat(e.at.replace("Z", "+00:00")) for e in received)
    assert all(
        p.created_at.replace(tzinfo=first_original.tzinfo) <= first_original for p in field_proxies
    )
    assert sorted(a.asset_sha256 for a in arrivals) == sorted(shas.values())  # each once
    assert {a.crew for a in arrivals} == {"karim"}
    for name, digest in shas.items():
        assert assets[digest].in_vault, name
        with base.vault.open(digest) as stored:
            assert hashlib.sha256(stored.read()).hexdigest() == digest
    for proxy in field_proxies:
        with kit.sync() as sync:
            sealed = sync.conn.execute(
                "SELECT proxy_path FROM blobs WHERE sha256 = ?", (proxy.asset_sha256,)
            ).fetchone()[0]
        with kit.home.open_proxy(Path(sealed)) as local:
            stored_proxy = base.derivatives.path(proxy.asset_sha256, proxy.name)
            assert stored_proxy.read_bytes() == local.read()

    status = kit.run("status")
    assert "left: 0 manifest entries, 0 proxies, 0 originals" in status
    assert kit.run("sync", "--once").count("everything is on the base") == 1

    with base.catalog.write() as session:
        film = session.scalar(select(accounts.Project).where(accounts.Project.slug == "film"))
        users = {u.username: u for u in session.scalars(select(User))}
        session.add(
            Note(
                project_id=film.id,
                asset_sha256=shas["mid"],
                author_id=users["dina"].id,
                addressed_to_id=users["karim"].id,
                category="story",
                body="Go back to the market tomorrow, wider shot please",
            )
        )
    notes = kit.run("notes")
    assert "Go back to the market tomorrow" in notes and "dina" in notes
    assert f"clip C0003.MP4 ({shas['mid'][:12]})" in notes  # the name on the card, and hash
    assert f"{server}/p/film/a/{shas['mid']}" in notes.replace("\n", "")  # a link that opens
    assert "nothing new" in kit.run("notes")
    # Offline: the copy kept on the laptop is still there.
    saved = kit.home.login()
    kit.home.save_login(type(saved)(f"http://127.0.0.1:{free_port()}", "film", token))
    offline = kit.run("notes", "--all")
    assert "offline" in offline and "Go back to the market tomorrow" in offline
    kit.home.save_login(saved)


class Cutter:
    """A TCP relay that cuts each of the first `cuts` connections after `after` bytes upstream."""

    def __init__(self, target: str, after: int, cuts: int) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.after, self.cuts = after, cuts
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            limit = self.after if self.cuts > 0 else None
            self.cuts -= 1
            pair = (client, upstream)
            threading.Thread(
                target=self._pipe, args=(client, upstream, limit, pair), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, None, pair), daemon=True
            ).start()

    @staticmethod
    def _pipe(
        src: socket.socket, dst: socket.socket, limit: int | None, pair: tuple[socket.socket, ...]
    ) -> None:
        moved = 0
        try:
            while data := src.recv(16384):
                if limit is not None and moved + len(data) > limit:
                    dst.sendall(data[: limit - moved])
                    break
                dst.sendall(data)
                moved += len(data)
        except OSError:
            pass
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self.closed = True
        self.listener.close()


@pytest.fixture
def cutter(server: str) -> Iterator[Callable[[int, int], Cutter]]:
    made: list[Cutter] = []

    def make(after: int, cuts: int) -> Cutter:
        made.append(Cutter(server, after, cuts))
        return made[-1]

    yield make
    for relay in made:
        relay.close()


def test_cuts_mid_patch_resume_without_loss_or_duplicates(
    base: Base,
    team: Team,
    server: str,
    card: dict[str, Path],
    tmp_path: Path,
    cutter: Callable[[int, int], Cutter],
) -> None:
    kit = Kit(tmp_path / "kit")
    token = token_for(base, "karim", "film")
    kit.login(server, token)
    kit.run("import", str(card["big"].parent.parent), "--source", "card 3")
    relay = cutter(50_000, 12)  # every connection dies 50 kB in, a dozen times
    with kit.sync(relay.url) as sync:
        sync.chunks.size = 64 << 10  # bigger than what a connection carries before its cut
        left = sync.run()
    assert left.total == 0, left
    assert relay.cuts < 0  # every planned cut happened
    with base.catalog.read() as session:
        arrivals = session.scalars(select(Arrival).where(Arrival.via == "upload")).all()
    assert sorted(a.asset_sha256 for a in arrivals) == sorted(sha(p) for p in card.values())
    for path in card.values():
        with base.vault.open(sha(path)) as stored:
            assert stored.read() == path.read_bytes()
