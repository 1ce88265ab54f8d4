"""A real server on a loopback port, a team of accounts with every role, and footage.

`team` makes project "film" with one user per role plus an outsider who is a director of
project "other" only. `footage` ingests real small videos into "film" (two by crew member
karim, one by someone else) and runs the whole media pipeline on them in this process.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import func, select

from rushes.base import Base
from rushes.cards import walk
from rushes.catalog.models import Asset, CustodyEvent, Membership, Project, User
from rushes.ingest import Ingest
from rushes.pipeline.runner import run_inline
from rushes.pipeline.steps import STEPS
from rushes.review import accounts
from rushes.review.access import Role
from rushes.review.projects import create_project
from tests.clips import make_video
from tests.conftest import PG_ADMIN, Env, pg_url
from tests.shared import once
from tests.tls import TLS
from tests.web.test_status import free_port

PASSWORD = "correct horse battery"
ROLES = {"ada": Role.ADMIN, "dina": Role.DIRECTOR, "ivan": Role.INVESTIGATOR, "karim": Role.CREW}
OUTSIDER = "omar"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Team:
    project: str = "film"
    other: str = "other"
    roles: dict[str, Role] = field(default_factory=lambda: dict(ROLES))
    outsider: str = OUTSIDER


@dataclass
class Footage:
    karim: list[str]  # SHA-256s of the two clips crew member karim shot
    others: list[str]  # shot by someone else, in the same project
    foreign: str  # a clip of project "other"

    @property
    def all(self) -> list[str]:
        return [*self.karim, *self.others]


@pytest.fixture
def server(base: Base) -> Iterator[str]:
    from rushes.web.app import create_app
    from rushes.web.connections import server_options

    port = free_port()
    config = uvicorn.Config(
        create_app(base),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **server_options(base.settings),
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def team(base: Base) -> Team:
    return make_team(base)


def make_team(base: Base) -> Team:
    with base.catalog.write() as session:
        film = create_project(session, "film", "The Rescue")
        other = create_project(session, "other", "Another investigation")
        for name, role in ROLES.items():
            user = accounts.create_user(session, name, PASSWORD, site_admin=name == "ada")
            accounts.add_member(session, film, user, role)
        outsider = accounts.create_user(session, OUTSIDER, PASSWORD)
        accounts.add_member(session, other, outsider, Role.DIRECTOR)
    return Team()


FOOTAGE = {"a.mp4": 2, "b.mp4": 2, "c.mp4": 2, "d.mp4": 1}  # name -> seconds


@pytest.fixture(scope="session")
def footage_clips(request: pytest.FixtureRequest) -> Path:
    """The clips of `footage`, written once for the run; each test ingests copies."""

    def make(folder: Path) -> Path:
        for name, seconds in FOOTAGE.items():
            make_video(folder / name, seconds=seconds, seed=ord(name[0]), gps=(36.2, 37.1))
        return folder

    return once(request, "footage-clips", make)


@dataclass
class Template:
    """A base holding `team` and `footage`, processed once a session for each database."""

    env: Env
    made: Footage
    team_only: tuple[int, ...]  # `_state` of the base when only `team` was in it


def _state(base: Base) -> tuple[int, ...]:
    """Rows that show whether anything but `team` was written to a base."""
    with base.catalog.read() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (User, Membership, Project, CustodyEvent)
        )


@pytest.fixture(scope="session")
def footage_templates(
    tmp_path_factory: pytest.TempPathFactory, footage_clips: Path
) -> Iterator[Callable[[str], Template]]:
    made: dict[str, Template] = {}
    databases: list[str] = []

    def template(kind: str) -> Template:
        if kind not in made:
            root = tmp_path_factory.mktemp(f"footage-{kind}")
            if kind == "sqlite":
                url = f"sqlite:///{root / 'catalog.sqlite3'}"
            else:
                name = f"rushes_template_{uuid.uuid4().hex[:12]}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                    admin.execute(f'CREATE DATABASE "{name}"')
                databases.append(name)
                url = pg_url(name)
            env = Env(root / "data", url)
            base = env.open()
            try:
                make_team(base)
                team_only = _state(base)
                footage = ingest_footage(base, root, footage_clips)
            finally:
                base.close()
            if kind == "sqlite":
                with sqlite3.connect(root / "catalog.sqlite3") as db:
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            made[kind] = Template(env, footage, team_only)
        return made[kind]

    yield template
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        for name in databases:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def ingest_footage(base: Base, folder: Path, clips: Path) -> Footage:
    """Ingest the clips as three crews' cards and run the whole pipeline on them, inline."""

    def ingest(project: str, crew: str, names: list[str]) -> list[str]:
        card = folder / f"card-{project}-{crew}"
        card.mkdir()
        for name in names:
            shutil.copyfile(clips / name, card / name)
        Ingest(base, project=project, crew=crew, actor=crew).run(walk([card]))
        with base.catalog.read() as session:
            shas = session.scalars(select(Asset.sha256).order_by(Asset.first_received_at)).all()
        return list(shas)

    karim = ingest("film", "karim", ["a.mp4", "b.mp4"])
    others = [s for s in ingest("film", "rami", ["c.mp4"]) if s not in karim]
    foreign = [s for s in ingest("other", "omar", ["d.mp4"]) if s not in karim + others]
    run_inline(base, [step.name for step in STEPS], [*karim, *others, *foreign])
    return Footage(karim, others, foreign[0])


@pytest.fixture
def footage(
    env: Env,
    base: Base,
    team: Team,
    tmp_path: Path,
    footage_clips: Path,
    footage_templates: Callable[[str], Template],
) -> Footage:
    """The team's base as `ingest_footage` leaves it: copied from the session's template of
    this database (catalog and data folder) when only `team` was written to it so far, made
    afresh otherwise."""
    kind = "sqlite" if env.database_url.startswith("sqlite") else "postgresql"
    template = footage_templates(kind)
    if _state(base) != template.team_only:
        return ingest_footage(base, tmp_path, footage_clips)
    base.catalog.engine.dispose()  # the next session connects to the copy
    if kind == "sqlite":
        path = Path(env.database_url.removeprefix("sqlite:///"))
        for suffix in ("-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        shutil.copyfile(template.env.database_url.removeprefix("sqlite:///"), path)
    else:
        name, source = env.database_url.rsplit("/", 1)[1], template.env.database_url
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source.rsplit("/", 1)[1]}"')
    shutil.copytree(template.env.data_dir, env.data_dir, dirs_exist_ok=True)
    return template.made


class Client(httpx.Client):
    """An HTTP client of the test server; `csrf` is set once signed in."""

    csrf: str = ""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"verify": TLS, **options})


def sign_in(client: Client, username: str, password: str = PASSWORD) -> Client:
    """Sign in through the real form and pick up the session's CSRF token."""
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 303, response.text
    found = CSRF.search(client.get("/settings").text)
    assert found, "no CSRF token on the settings page"
    client.csrf = found.group(1)
    return client


@pytest.fixture
def login(server: str) -> Iterator[Callable[..., Client]]:
    """`login("dina")` gives a client signed in as dina; `login(None)` an anonymous one."""
    clients: list[Client] = []

    def make(username: str | None, password: str = PASSWORD) -> Client:
        client = Client(base_url=server, follow_redirects=False, timeout=30)
        clients.append(client)
        return sign_in(client, username, password) if username else client

    yield make
    for client in clients:
        client.close()


def user_id(base: Base, username: str) -> int:
    with base.catalog.read() as session:
        found = session.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found
