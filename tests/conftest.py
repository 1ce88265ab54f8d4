"""Shared fixtures: a catalog on each real database, an opened base, and the real CLI.

Every test that touches the catalog runs twice, on SQLite and on PostgreSQL (a database of its
own on the loopback server, copied from one migrated once per test process, dropped afterwards),
unless its subject is not the catalog: then it names the one it runs on and where the other is
covered. `make test` starts PostgreSQL if needed.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import hypothesis
import psycopg
import pytest
from argon2 import PasswordHasher

from rushes.base import Base, open_base
from rushes.catalog import open_catalog
from rushes.review import accounts
from rushes.settings import load
from tests import loop_guard
from tests.s3 import SeaweedFS
from tests.tsa import TSA

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "video" / "threatexchange"
PG_ADMIN = os.environ.get("RUSHES_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RUSHES = [sys.executable, "-m", "rushes"]


loop_guard.install()
# Speed is measured by bench/, not by hypothesis's 200 ms deadline on each example: a vault
# write syncs to disk, which a loaded machine (CI beside other work) makes slow for a moment.
hypothesis.settings.register_profile("rushes", deadline=None)
hypothesis.settings.load_profile("rushes")


class _OneHashPerPassword(PasswordHasher):
    """The base's own argon2id hasher, computing each password's hash once per test process:
    the suite makes a team of accounts with one password for hundreds of tests, and each hash
    costs ~0.1 s of a core by design. Sign-ins still verify against a real argon2id hash; only
    the salt is shared between accounts that share a password."""

    def __init__(self, real: PasswordHasher) -> None:
        super().__init__(
            real.time_cost, real.memory_cost, real.parallelism, real.hash_len, real.salt_len
        )
        self._made: dict[str, str] = {}

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        key = password if isinstance(password, str) else password.decode("utf-8", "replace")
        if salt is not None:
            return super().hash(password, salt=salt)
        if key not in self._made:
            self._made[key] = super().hash(password)
        return self._made[key]


accounts._hasher = _OneHashPerPassword(accounts._hasher)  # tests/web: 231 s -> 168 s on 2 cores


@pytest.fixture(autouse=True)
def no_checkout_on_the_event_loop() -> Iterator[None]:
    """Fail a test whose in-process server checked out a database connection on its event
    loop's thread, even where the request's 500 went unnoticed."""
    loop_guard.violations.clear()
    yield
    assert not loop_guard.violations, f"{loop_guard.MARK}:\n{loop_guard.violations[0]}"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    if not FIXTURES.is_dir():
        pytest.fail(f"the test footage is missing at {FIXTURES}")
    return FIXTURES


def pg_url(name: str) -> str:
    """The SQLAlchemy URL of database `name` on the test server."""
    return PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + f"/{name}"


def _pg_database(template: str = "template1") -> Iterator[str]:
    name = f"rushes_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield pg_url(name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Migrated:
    """A catalog of each kind migrated to the newest schema once per test process, which each
    test's catalog copies: migrating an empty database costs ~0.3 s, a copy ~0.05 s.
    `tests/catalog/test_migrations.py` migrates empty ones."""

    sqlite: Path
    postgresql: str  # the template database's name


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Migrated]:
    path = tmp_path_factory.mktemp("migrated") / "catalog.sqlite3"
    open_catalog(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    made = _pg_database()
    url = next(made)
    open_catalog(url).close()  # no connection left open: a template must have none
    try:
        yield Migrated(path, url.rsplit("/", 1)[1])
    finally:
        made.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A catalog database with nothing in it yet, on each real database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    else:
        yield from _pg_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, migrated: Migrated) -> Iterator[str]:
    """A catalog database at the newest schema, as a base's first opening leaves it."""
    if request.param == "sqlite":
        path = tmp_path / "catalog.sqlite3"
        shutil.copyfile(migrated.sqlite, path)
        yield f"sqlite:///{path}"
    else:
        yield from _pg_database(migrated.postgresql)


@dataclass
class Env:
    """A base's environment: where its data lives and which database it uses."""

    data_dir: Path
    database_url: str
    extra: dict[str, str] = field(default_factory=dict)  # more settings, e.g. RUSHES_TSA_URLS

    @property
    def vars(self) -> dict[str, str]:
        return {
            **os.environ,
            "RUSHES_DATA_DIR": str(self.data_dir),
            "RUSHES_DATABASE_URL": self.database_url,
            "RUSHES_ACTOR": "tester",
            # Every test client shares the loopback address: tests of the rates set their own.
            "RUSHES_RATE_LIMIT": "0",
            "RUSHES_RATE_LIMIT_ADDRESS": "0",
            "COLUMNS": "200",
            **self.extra,
        }

    @property
    def vault(self) -> Path:
        return self.data_dir / "vault"

    def open(self) -> Base:
        return open_base(load(self.vars))

    def run(self, *args: str, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess:
        """Run the real `rushes` command in a subprocess."""
        result = subprocess.run(
            [*RUSHES, *args], env=self.vars, capture_output=True, text=True, **kwargs
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"rushes {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result


def vault_on(
    server: SeaweedFS, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Env:
    """A base whose vault is on ``server``; its credentials also in this process's environment,
    for the in-process base's boto3."""
    for name, value in server.env.items():
        monkeypatch.setenv(name, value)
    url = f"s3://{server.bucket()}/vault"
    return Env(tmp_path / "data", db_url, {**server.env, "RUSHES_VAULT_URL": url})


@pytest.fixture
def env(tmp_path: Path, db_url: str) -> Env:
    return Env(tmp_path / "data", db_url)


@pytest.fixture
def base(env: Env) -> Iterator[Base]:
    opened = env.open()
    yield opened
    opened.close()


@pytest.fixture
def tsa(tmp_path: Path) -> Iterator[TSA]:
    """A time-stamping authority on loopback (`openssl ts -reply`), with its own CA."""
    folder = tmp_path / "tsa"
    folder.mkdir()
    authority = TSA(folder)
    yield authority
    authority.stop()


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[SeaweedFS]:
    """An S3 store of the test's own, which it may stop and start again (`s3_server` is
    shared by every test of the process, and must keep answering)."""
    server = SeaweedFS(tmp_path / "own-seaweedfs")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """A real S3 store (SeaweedFS) on loopback, one per test process."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()
