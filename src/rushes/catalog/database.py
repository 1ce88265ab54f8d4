"""Open the catalog on SQLite or PostgreSQL and bring its schema to the latest migration.

SQLite runs in WAL mode with full sync. Its transactions are started explicitly: `read()` with a
plain BEGIN, `write()` with BEGIN IMMEDIATE, which takes the write lock up front so that two
writers queue on the busy timeout instead of failing halfway. On PostgreSQL both are ordinary
transactions and the custody log serialises its appenders with a row lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from rushes.catalog import search
from rushes.errors import ConfigError

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest migration's revision. Opening a current catalog then needs no Alembic import
# (most of a CLI call's start-up); tests/catalog/test_migrations.py keeps this in step.
HEAD_REVISION = "0017"
_BUSY_TIMEOUT_MS = 30_000


class Catalog:
    def __init__(self, url: str, *, connections: int = 15, wait: float = 30.0) -> None:
        """`connections`: the most the pool opens (it keeps half of them); a checkout that
        finds none free for `wait` seconds raises sqlalchemy's TimeoutError."""
        self.url = url
        self.engine = _engine(url, connections, wait)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )
        for maker in (self._reader, self._writer):
            event.listen(maker, "after_flush", search.index_changes)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def revision(self) -> str | None:
        try:
            with self.engine.connect() as connection:
                return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None  # a new, empty database

    def migrate(self) -> None:
        """Bring the schema to the newest migration (a no-op when it is there already)."""
        if self.revision() == HEAD_REVISION:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        # Serialise concurrent first opens: IMMEDIATE on SQLite, an advisory lock on PostgreSQL;
        # the second opener then finds the schema current and does nothing.
        with self.engine.execution_options(sqlite_begin="IMMEDIATE").begin() as connection:
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(727368)"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session:
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A read that sees one consistent state across all its statements (REPEATABLE READ on
        PostgreSQL; a SQLite read transaction is one already). For checks like `verify`."""
        with self._reader() as session:
            if self.dialect == "postgresql":
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any exception."""
        with self._writer() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()


def open_catalog(
    url: str, *, create: bool = True, connections: int = 15, wait: float = 30.0
) -> Catalog:
    """Open and upgrade the catalog; with `create=False`, refuse an empty database (a command
    pointed at the wrong place must not report on a new, empty base)."""
    catalog = Catalog(url, connections=connections, wait=wait)
    if not create and catalog.revision() is None:
        catalog.close()
        raise ConfigError(f"no rushes catalog in {make_url(url).render_as_string()}")
    catalog.migrate()
    return catalog


def _engine(url: str, connections: int, wait: float) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kept = max(1, connections // 2)
    pool = {"pool_size": kept, "max_overflow": connections - kept, "pool_timeout": wait}
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True, **pool)
    memory = not parsed.database or parsed.database == ":memory:"
    if not memory:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed, connect_args={"isolation_level": None}, **({} if memory else pool)
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine
